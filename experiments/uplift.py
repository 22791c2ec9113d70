"""The uplift lab: ``python -m experiments.uplift dataset=<sim|hillstrom|csv> estimator=<name>``.

Real data (``hillstrom``, ``csv``): a seeded train/test split, the difference in means per
arm over the whole file, and Qini/AUUC with bootstrap intervals on the test part.
Simulated data (``sim``): a randomised pilot in ``market`` with true uplift, the same
metrics plus true Qini, PEHE and the profit curve, and the closed loop (pilot -> CausalML
scorer -> fresh one-to-one campaign; predicted vs realised profit, regret vs the oracle).
Writes ``metrics.json`` and a one-row ``result.parquet`` (through the results store, so a
sweep over estimators, pilot sizes and seeds resumes and collects like any other) and the
Qini (and profit) figures into the run folder.  ``primary.<arm>.*`` holds the selected
estimator's truth metrics under the same keys whatever the estimator.

A bad config or data file (a missing path, unset columns, arms too small to fit) exits
with status 2 before any work, naming the key and the override that fixes it; a job
that fails exits 1 after one line saying what failed and where its traceback is.
Undefined figures are ``null`` in ``metrics.json`` with their reason under
``undefined``; the printed report lists them and the warnings (small samples,
constant predictions, id-like features).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from omegaconf import DictConfig

from experiments._common import (
    echo,
    failure_line,
    finish,
    is_multirun,
    on_conflict,
    output_dir,
    plain,
    refuse,
)
from experiments.store import ResultConflict, run_job
from experiments.uplift_job import (  # noqa: F401  (the job's API, re-exported)
    UpliftJob,
    estimator_configs,
    load_data,
    parse_job,
    validate_uplift,
)
from sim.datasets import ExperimentData
from sim.population import synthesize
from sim.schema import ConfigError
from sim.streams import Streams
from sim.uplift.evaluation import plot_profit
from sim.uplift.real import evaluate_experiment, load_dataset, results_table


def primary_summary(result: dict[str, Any], estimator: str) -> dict[str, Any]:
    """The first estimator's truth metrics per arm under fixed keys (``primary.<arm>.*``).

    A sweep over estimators then has the same columns in every job: true Qini, PEHE and
    its ratio to the constant prediction, and the true profit of targeting by the score
    against the oracle ranking and random targeting, both at each ranking's own best
    depth (``profit_*``, ``profit_regret``) and at a fixed budget of the top 20 %
    (``profit_top20_*``, ``regret_top20``).
    """
    out: dict[str, Any] = {"estimator": estimator}
    for arm, m in result["estimators"][estimator]["arms"].items():
        best = m["profit_at_best_depth"]
        out[arm] = {
            "qini": m["qini"],
            "qini_true": m["qini_true"],
            "pehe": m["pehe"],
            "pehe_ratio": m["pehe"] / m["pehe_constant"] if m["pehe_constant"] else None,
            "uplift_top10_true": m["uplift_top10_true"],
            "profit_model": best["model"],
            "profit_oracle": best["oracle"],
            "profit_random": best["random"],
            "profit_regret": best["oracle"] - best["model"],
            "profit_top20_model": m["profit_at_depth"]["model"],
            "profit_top20_oracle": m["profit_at_depth"]["oracle"],
            "profit_top20_random": m["profit_at_depth"]["random"],
            "regret_top20": m["profit_at_depth"]["oracle"] - m["profit_at_depth"]["model"],
        }
    return out


def _as_override(text: str) -> str:
    """A data-set warning's fix spelled as the override to type."""
    return re.sub(r"\(drop_cols: \[(.*?)\]\)", r"(dataset.drop_cols=[\1])", text)


def _stage(text: str, show: bool) -> None:
    if show:
        print(f"[uplift] {text}", file=sys.stderr, flush=True)


def run_uplift(
    job: UpliftJob, out: Path, data: ExperimentData | None = None, progress: bool = False
) -> dict[str, Any]:
    """Run a validated job (``data``: its loaded real data set, if any, else loaded here);
    figures go to ``out``; returns the metrics (JSON types).  ``progress``: a progress
    bar over the fits and bootstrap resamples (real data) or a line per stage (pilot)."""
    if job.dataset is not None:
        data = data if data is not None else load_dataset(job.dataset)
        result = evaluate_experiment(
            data,
            job.estimators,
            job.seed,
            job.dataset.test_size,
            n_boot=job.n_boot,
            figure_dir=out,
            progress=progress,
            source="Hillstrom"
            if job.dataset.name == "hillstrom"
            else Path(str(job.dataset.path)).name,
        )
        result["dataset"] = job.dataset.name
        result["warnings"] = [_as_override(w) for w in result.get("warnings", [])]
        return result

    from sim.lab import closed_loop, evaluate_pilot
    from sim.uplift.pilot import run_pilot

    assert job.run is not None and job.pilot is not None
    run_cfg = job.run
    tic = time.perf_counter()
    _stage(f"pilot: {run_cfg.market.n_consumers:,} consumers in {run_cfg.market.name}", progress)
    pop = synthesize(run_cfg.market, Streams(run_cfg.seed))
    pilot = run_pilot(run_cfg.market, run_cfg.seed, job.pilot, population=pop)
    pilot_s = time.perf_counter() - tic
    _stage(
        f"pilot done in {pilot_s:.1f} s; fitting and scoring {len(job.estimators)} "
        f"estimator(s), {job.n_boot} bootstrap resamples",
        progress,
    )
    result = evaluate_pilot(
        pilot,
        job.estimators,
        run_cfg.economics,
        run_cfg.seed,
        job.test_size,
        n_boot=job.n_boot,
        figure_dir=str(out),
    )
    result["dataset"] = "sim"
    result["market"] = run_cfg.market.name
    result["pilot_seconds"] = pilot_s
    result["primary"] = primary_summary(result, job.estimators[0].name)
    curves = result.pop("profit_curves")
    fig, axes = plt.subplots(
        1,
        len(pilot.arms),
        figsize=(7.5 * len(pilot.arms), 4.4),
        constrained_layout=True,
        squeeze=False,
    )
    for ax, arm in zip(axes[0], pilot.arms, strict=True):
        plot_profit(
            pd.DataFrame(curves[f"{job.estimators[0].name}|{arm}"]),
            ax,
            title=f"{arm}: {job.estimators[0].name} vs oracle and random\n"
            f"({run_cfg.market.name} market, pilot of {pilot.table.shape[0]:,} consumers, "
            f"seed {run_cfg.seed})",
        )
    fig.savefig(out / "profit_curves.png", dpi=120)
    plt.close(fig)
    result["figures"] = {**result.get("figures", {}), "profit": str(out / "profit_curves.png")}
    if job.closed_loop:
        _stage("closed loop: a fresh one-to-one campaign with the fitted scorer", progress)
        result["closed_loop"] = closed_loop(
            run_cfg, pilot, job.estimators[0], pop, campaign_seed=run_cfg.seed + 1000
        )
    return result


def report(result: dict[str, Any]) -> str:
    """The run's table, the ATEs, the closed loop, the warnings and the undefined figures
    (each with its reason), as text."""
    table = results_table(result)
    lines = []
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        lines.append(table.to_string(index=False, na_rep="-"))
    for arm, a in result["arms"].items():
        lo, hi = a["ate_ci"]
        lines.append(f"ATE {arm}: {a['ate']:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    for name, est in result["estimators"].items():
        for arm, m in est["arms"].items():
            ci = m.get("qini_raw_ci")
            shown = f" [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else ""
            if m.get("qini_raw") is not None:
                lines.append(
                    f"unnormalised Qini {name}, {arm}: {m['qini_raw']:.4g}{shown} "
                    f"(mean incremental {result.get('outcome', 'outcome')} over random)"
                )
    if "closed_loop" in result:
        cl = result["closed_loop"]
        lines.append(
            f"closed loop: predicted {cl['predicted_profit_before_fixed_costs']:,.0f}, realised "
            f"{cl['realised_profit_before_fixed_costs']:,.0f} (before fixed costs); "
            f"true profit {cl['realised_profit']:,.0f} vs oracle {cl['oracle_profit']:,.0f}; "
            f"regret {cl['regret']:,.0f}"
        )
    warnings = list(result.get("warnings") or [])
    lines += [f"warning: {w}" for w in warnings]
    undefined = result.get("undefined") or {}
    if undefined:
        lines.append(f"undefined ('-' above; null in metrics.json): {len(undefined)} figure(s)")
        for why in dict.fromkeys(undefined.values()):
            keys = [k for k, v in undefined.items() if v == why]
            shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
            seen = any(w.endswith(why) for w in warnings)
            lines.append(f"  {shown}: {'see the warning above' if seen else why}")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path="../conf", config_name="uplift")
def main(cfg: DictConfig) -> None:
    data = plain(cfg)
    try:
        job = parse_job(data)
        experiment = load_data(job)
    except (ConfigError, TypeError) as exc:
        refuse(f"Invalid configuration: {exc}")
        return
    out = output_dir()
    console = not is_multirun()  # a sweep prints one progress line per job instead
    try:
        metrics = run_job(
            out,
            data,
            job.seed,
            lambda: run_uplift(job, out, experiment, progress=console),
            on_conflict=on_conflict(),
        )
    except ResultConflict as exc:
        refuse(f"Refused: {exc}")
        return
    if metrics.get("status") == "failed":
        finish([failure_line("uplift run", metrics, out)])
        return
    echo(report(metrics), console=console)
    echo(f"metrics: {out / 'metrics.json'}", console=console)


def cli(argv: list[str] | None = None) -> None:
    """``python -m experiments.uplift`` / ``one2one uplift`` (see :mod:`experiments.launch`)."""
    from experiments.launch import launch

    launch(main, "uplift", argv)


if __name__ == "__main__":
    cli()
