"""Study figures from a collected sweep table: ``python -m experiments.figures <table>``.

``<table>`` is a ``results.parquet`` written by :mod:`experiments.collect` (or a sweep
folder, collected on the fly, or a CSV of the same columns).  Whichever studies the
table holds are drawn, in one style, into ``--out``.  By default that is the sweep's own
folder (``<sweep dir>/figures/``) for a sweep folder or its ``results.parquet``, and a
fresh ``outputs/figures/<table>_<time>/`` for any other table: an ad-hoc run never
writes into the committed ``results/``, which changes only when asked for explicitly
(``--out results/sweeps/figures``, or :mod:`experiments.publish`).

``granularity.png``
    incremental profit and ROI (incremental profit / campaign cost, a ratio, on a
    symmetric-log axis) against the number of segments k (log axis), one column per
    market preset, the mean over seeds with the range over seeds shaded.
``phase.png``
    the strategy with the highest mean incremental profit on the grid of taste
    tribalism (``market.tribes.variance_share``) x tolerance of personalisation
    (``market.creepiness.threshold_median``), one panel per data-cost level; "no
    campaign" where no strategy makes money.
``roi_curves.png``
    incremental profit and ROI against the variable marketing budget (log axis), one
    line per strategy with the range over seeds shaded.
``estimators.png``
    uplift estimators on simulated pilots against the pilot size (log axis): true Qini,
    PEHE relative to the constant average-effect prediction, and, at a budget of the top
    20 %, the share of the oracle ranking's extra profit over random targeting that the
    model's ranking captures; one row per pilot arm, one line per estimator with the
    range over seeds shaded.

The numbers behind each figure are written beside it as CSV.  The studies themselves
(compute and plot functions) live in :mod:`experiments.studies`, one module each; this
module only dispatches.  ``--metric measured`` uses the holdout estimates a marketer would
see instead of the true (counterfactual) effects.  Strategies are labelled and coloured
by the variant their config columns describe (:func:`sim.report.strategy_key`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from experiments.studies import STUDIES as STUDY_PLANS
from experiments.studies.style import STYLE
from experiments.studies.sweep_table import (
    COL_BUDGET,
    COL_DATA_COST,
    COL_K,
    COL_MARKET,
    COL_N,
    COL_PILOT,
    COL_STRATEGY,
    COL_THRESHOLD,
    COL_VARIANCE,
    STRATEGY_PREFIX,
    load_table,
)

# --------------------------------------------------------------------------- export

#: Columns kept by :func:`slim_table` (those present): what the studies need (the
#: strategy settings that tell variants apart among them), small enough to commit.
SLIM_COLUMNS: Final = (
    "job_dir",
    "job_id",
    "status",
    "seed",
    COL_MARKET,
    COL_N,
    "horizon_days",
    COL_STRATEGY,
    *(f"{STRATEGY_PREFIX}{f}" for f in ("scorer", "basis", "follow_up", "one_to_one.scorer")),
    COL_K,
    COL_BUDGET,
    COL_VARIANCE,
    COL_THRESHOLD,
    f"{COL_DATA_COST}.implicit",
    f"{COL_DATA_COST}.explicit",
    f"{COL_DATA_COST}.ambient",
    "incremental_profit.measured",
    "incremental_profit.measured_se",
    "incremental_profit.true",
    "roi.measured",
    "roi.true",
    "incremental_conversions.measured",
    "incremental_conversions.true",
    "cost.total",
    "cost.contact",
    "cost.content",
    "cost.data",
    "cost.platform",
    "contacts",
    "treated_consumers",
    "opt_outs",
    "backlash_events",
    "git_rev",
    "ver.one2one-sim",
    "cfg.estimator.name",
    "cfg.pilot.sample_share",
    COL_PILOT,
)
#: Column prefixes also kept by :func:`slim_table` (the estimators study's truth metrics).
SLIM_PREFIXES: Final = ("primary.",)


def slim_table(df: pd.DataFrame) -> pd.DataFrame:
    """The collected table cut to :data:`SLIM_COLUMNS` (no timings: reproducible)."""
    keep = [c for c in SLIM_COLUMNS if c in df.columns]
    keep += [c for c in df.columns if c.startswith(SLIM_PREFIXES) and c not in keep]
    return df[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- CLI


STUDIES: Final = tuple(STUDY_PLANS)
#: The committed results of the repository: never a default output folder.
RESULTS_DIR: Final = Path(__file__).resolve().parent.parent / "results"
#: Where figures of a table outside a sweep folder go by default (relative to the
#: working directory, like Hydra's ``outputs/``).
OUTPUTS_DIR: Final = Path("outputs") / "figures"


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def default_out(table: Path, now: datetime | None = None) -> Path:
    """The output folder of ``figures <table>`` without ``--out``: ``<sweep>/figures`` for
    a sweep folder or its ``results.parquet``; otherwise, and whenever that would lie in
    the committed ``results/``, ``outputs/figures/<table name>_<time>``."""
    table = Path(table)
    own = None
    if table.is_dir():
        own = table / "figures"
    elif table.name == "results.parquet":
        own = table.parent / "figures"
    if own is not None and not _under(own, RESULTS_DIR):
        return own
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S_%f")
    return OUTPUTS_DIR / f"{table.stem or 'table'}_{stamp}"


def draw(
    df: pd.DataFrame, out: Path, studies: Sequence[str] = STUDIES, which: str = "true"
) -> dict[str, Path]:
    """Draw every requested study the table holds; return {study: png path}."""
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for study in studies:
        plan = STUDY_PLANS[study]
        if not plan.present(df):
            continue
        table = plan.table(df, which)
        with plt.rc_context(STYLE):  # type: ignore[arg-type]
            fig = plan.figure(table, which)
            path = out / f"{study}.png"
            fig.savefig(path)
            plt.close(fig)
        table.to_csv(out / f"{study}.csv", index=False, float_format="%.6g")
        made[study] = path
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.figures", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "table",
        type=Path,
        help="results.parquet from experiments.collect (or a sweep folder, or CSV)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: <sweep dir>/figures, or outputs/figures/<table>_<time>; "
        "the committed results/ only when named here)",
    )
    parser.add_argument(
        "--study",
        choices=STUDIES,
        action="append",
        help="draw only this study (repeatable; default: all the table holds)",
    )
    parser.add_argument(
        "--metric",
        choices=("true", "measured"),
        default="true",
        help="true (counterfactual) effects or holdout estimates (default true)",
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        help="also write the table cut to the study columns (.csv or .parquet)",
    )
    args = parser.parse_args(argv)
    try:
        df = load_table(args.table)
    except Exception as exc:
        print(f"error: cannot read {args.table}: {exc}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else default_out(args.table)
    made = draw(df, out, args.study or STUDIES, args.metric)
    if not made:
        print(
            f"error: {args.table} holds none of the studies {', '.join(STUDIES)}", file=sys.stderr
        )
        return 2
    for study, path in made.items():
        print(f"{study}: {path} (numbers: {path.with_suffix('.csv')})")
    if args.export is not None:
        slim = slim_table(df)
        args.export.parent.mkdir(parents=True, exist_ok=True)
        if args.export.suffix == ".csv":
            slim.to_csv(args.export, index=False, float_format="%.10g")
        else:
            slim.to_parquet(args.export, index=False)
        print(f"table: {args.export} ({len(slim)} rows x {len(slim.columns)} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
