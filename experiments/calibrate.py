"""Calibrate the simulated e-mail channel against Hillstrom: ``python -m experiments.calibrate``.

Fits ``channels.email.lift``, ``channels.email.click_rate``, ``purchase.base_rate``,
``behaviour.browse_rate`` and the women's e-mail's engagement so that a simulated
no-e-mail / women's / men's split of the customer file of
``conf/market/hillstrom_like.yaml`` reproduces Hillstrom's visit and conversion rates
(method: :mod:`sim.calibration`), verifies the fit at a seed not used in the search,
then checks the held-out moments (:mod:`sim.heldout`: uplift by ``newbie`` and by history
tercile, never used by the fit) at a third seed.  Prints the tables and the fitted values
and writes ``<out>/calibration.json``, ``<out>/calibration.csv`` (the six rates per run)
and ``<out>/calibration.heldout.csv`` (the 20 moments) atomically (default
``outputs/calibrate/<time>/``; the committed ``results/`` only with ``--out results``).

``--no-fit`` skips the search and checks the values stored in the preset (and
``FITTED_ENGAGEMENT``) at the verification and held-out seeds; it takes about half a
minute.  The fitted values are not written into the preset automatically: copy them from
the printout into ``conf/market/hillstrom_like.yaml`` (and ``FITTED_ENGAGEMENT``).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from experiments._common import market_config
from experiments.store import atomic_write_bytes, atomic_write_json, provenance
from sim import calibration as cal
from sim import heldout as ho


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be comma-separated integers, got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError("seeds must be non-negative integers")
    return seeds


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m experiments.calibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--seeds",
        type=_seeds,
        default=cal.SEARCH_SEEDS,
        help="search seeds, comma separated (default %(default)s)",
    )
    ap.add_argument(
        "--verify-seed",
        type=int,
        default=cal.VERIFY_SEED,
        help="seed of the verification run, not a search seed (default %(default)s)",
    )
    ap.add_argument(
        "--verify-n",
        type=_positive,
        default=cal.VERIFY_N,
        help="consumers in the verification run (default %(default)s)",
    )
    ap.add_argument(
        "--heldout-seed",
        type=int,
        default=ho.HELDOUT_SEED,
        help="seed of the held-out moments' run, neither a search nor the verification "
        "seed (default %(default)s)",
    )
    ap.add_argument(
        "--heldout-n",
        type=_positive,
        default=ho.HELDOUT_N,
        help="consumers in the held-out moments' run (default %(default)s)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="a short search (smoke test; not a calibration)"
    )
    ap.add_argument(
        "--no-fit",
        action="store_true",
        help="check the values stored in the preset instead of fitting",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for calibration.json and calibration.csv (default "
        "outputs/calibrate/<time>; --out results rewrites the committed calibration)",
    )
    ap.add_argument("--verbose", action="store_true", help="print every evaluation")
    args = ap.parse_args(argv)
    if args.verify_seed < 0:
        ap.error("--verify-seed must be non-negative")
    if args.verify_seed in args.seeds:
        ap.error("--verify-seed must differ from the search seeds")
    if args.heldout_seed < 0:
        ap.error("--heldout-seed must be non-negative")
    if args.heldout_seed in args.seeds or args.heldout_seed == args.verify_seed:
        ap.error("--heldout-seed must differ from the search seeds and --verify-seed")
    stages = cal.DEFAULT_STAGES
    if args.quick:
        stages = (cal.Stage(100_000, 1, 0.1, 3), cal.Stage(100_000, 2, 0.05, 1))
    if max(s.n_seeds for s in stages) > len(args.seeds):
        ap.error(
            f"the search stages need {max(s.n_seeds for s in stages)} seeds; "
            f"--seeds gives {len(args.seeds)}"
        )
    args.stages = stages
    if args.out is None:
        args.out = Path("outputs") / "calibrate" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    return args


def format_table(table: pd.DataFrame) -> str:
    """The comparison table in percent, one row per (arm, metric)."""
    rows = []
    records: list[dict[Any, Any]] = table.to_dict(orient="records")
    for r in records:
        rows.append(
            {
                "arm": r["arm"],
                "metric": r["metric"],
                "hillstrom %": f"{100 * r['target']:.2f}",
                "95% CI": f"[{100 * r['target_ci_low']:.2f}, {100 * r['target_ci_high']:.2f}]",
                "simulated %": f"{100 * r['sim_rate']:.2f}",
                "sim 95% CI": f"[{100 * r['sim_ci_low']:.2f}, {100 * r['sim_ci_high']:.2f}]",
                "z": f"{r['z']:+.2f}",
                "in CI": "yes" if r["within_ci"] else "NO",
                "in combined": "yes" if r["within_combined"] else "NO",
            }
        )
    return pd.DataFrame(rows).to_string(index=False)


def format_heldout(table: pd.DataFrame) -> str:
    """The held-out moments in percentage points, one row per (group, arm, metric)."""
    rows = []
    records: list[dict[Any, Any]] = table.to_dict(orient="records")
    for r in records:
        rows.append(
            {
                "group": r["group"],
                "arm": r["arm"],
                "metric": r["metric"],
                "hillstrom uplift pp": f"{100 * r['data']:+.2f}",
                "95% CI": f"[{100 * r['data_ci_low']:+.2f}, {100 * r['data_ci_high']:+.2f}]",
                "simulated pp": f"{100 * r['sim']:+.2f}",
                "sim se": f"{100 * r['sim_se']:.2f}",
                "z": f"{r['z']:+.2f}",
                "holds": "yes" if r["holds"] else "NO",
                "in data CI": "yes" if r["within_ci"] else "NO",
            }
        )
    return pd.DataFrame(rows).to_string(index=False)


def format_params(p: cal.CalibrationParams) -> str:
    return "\n".join(
        [
            "  conf/market/hillstrom_like.yaml:",
            f"    channels.email.lift           = {p.lift:.6g}",
            f"    channels.email.click_rate     = {p.click_rate:.6g}",
            f"    purchase.base_rate            = {p.base_rate:.6g}",
            f"    behaviour.browse_rate         = {p.browse_rate:.6g}",
            "  sim/calibration.py FITTED_ENGAGEMENT:",
            f"    womens = {p.womens_engagement:.6g}   (mens = 1 by normalisation)",
        ]
    )


def _csv_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    frame = pd.concat([t.assign(run=name) for name, t in tables.items()], ignore_index=True)
    frame = frame[["run", *[c for c in frame.columns if c != "run"]]]
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def _heldout_check(
    base: Any, params: cal.CalibrationParams, targets: pd.DataFrame, seed: int, n: int
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Six rates and the 20 held-out moments at ``seed``: (rates, moments, file size)."""
    trial = cal.simulate_trial(base, params, seed, n)
    rates = cal.compare(cal.rates(trial), targets)
    moments = ho.compare_heldout(ho.simulated_heldout(trial), ho.heldout_targets())
    return rates, moments, trial.n


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    base = market_config(cal.PRESET)
    targets = cal.hillstrom_targets()
    out: dict[str, Any] = {
        "preset": cal.PRESET,
        "definitions": {
            "visit": "a browse session or a purchase in the 14 days after the e-mail",
            "conversion": "a purchase in the 14 days after the e-mail",
            "ci": "Wald 95 % interval p ± 1.96·sqrt(p(1-p)/n)",
            "combined": "|sim - hillstrom| <= 1.96·sqrt(se_h² + se_sim²)",
            "objective": "sum over the six rates of ((sim - hillstrom) / se_hillstrom)²",
            "customer_file": "consumers with a recorded purchase in the 365 days before day 0",
            "heldout": "uplift (e-mail arm - no e-mail) of visit and conversion by newbie and "
            "by history tercile; holds when |sim - data| <= 1.96·sqrt(se_data² + se_sim²)",
        },
        "targets": targets.to_dict(orient="records"),
        "provenance": provenance(),
    }
    if args.no_fit:
        params = cal.params_from_preset(base)
        print(
            f"Checking the stored calibration of {cal.PRESET} "
            f"(seed {args.verify_seed}, {args.verify_n:,} consumers) ...",
            flush=True,
        )
        verify_trial = cal.simulate_trial(base, params, args.verify_seed, args.verify_n)
        verify = cal.compare(cal.rates(verify_trial), targets)
        tables = {"verify": verify}
        out.update(
            mode="check",
            params=params.as_dict(),
            verify_seed=args.verify_seed,
            verify_n=args.verify_n,
            verify_file=verify_trial.n,
            verify_table=verify.to_dict(orient="records"),
            verified_within_ci=bool(verify["within_ci"].all()),
            verified_within_combined=bool(verify["within_combined"].all()),
            verify_objective=float((verify["z"] ** 2).sum()),
        )
        ok = bool(verify["within_ci"].all())
    else:
        print(
            f"Fitting the e-mail channel on {cal.PRESET} (search seeds {list(args.seeds)}; "
            f"stages {[(s.n, s.n_seeds, s.max_iter) for s in args.stages]}) ...",
            flush=True,
        )
        result = cal.fit(
            base,
            seeds=args.seeds,
            verify_seed=args.verify_seed,
            verify_n=args.verify_n,
            stages=args.stages,
            targets=targets,
            verbose=args.verbose,
        )
        params = result.params
        print(
            f"\nFit: objective {result.objective:.3f} (sum of six squared z-scores) after "
            f"{result.n_evals} simulations, {result.seconds:.1f} s; {result.message}"
        )
        print(
            f"Fit table (pooled search seeds {list(result.seeds)}, "
            f"{result.search_n:,} consumers each):"
        )
        print(format_table(result.table))
        tables = {"fit": result.table, "verify": result.verify_table}
        out.update(
            mode="fit",
            stages=[vars(s) for s in args.stages],
            **result.summary(),
            history=result.history,
        )
        verify = result.verify_table
        ok = result.all_within_ci and result.verified
    print(f"\nVerification (seed {args.verify_seed}, {args.verify_n:,} consumers):")
    print(format_table(verify))
    print(
        f"\nHeld-out check (seed {args.heldout_seed}, {args.heldout_n:,} consumers) ...",
        flush=True,
    )
    held_rates, moments, held_file = _heldout_check(
        base, params, targets, args.heldout_seed, args.heldout_n
    )
    tables["heldout"] = held_rates
    print(f"Six rates (customer file of {held_file:,}):")
    print(format_table(held_rates))
    print("Held-out moments (uplift, percentage points; combined 95 % interval):")
    print(format_heldout(moments))
    n_hold = int(moments["holds"].sum())
    print(f"{n_hold} of {len(moments)} held-out moments hold.")
    out["heldout"] = {
        "seed": args.heldout_seed,
        "n": args.heldout_n,
        "file": held_file,
        "rates_table": held_rates.to_dict(orient="records"),
        "rates_within_ci": bool(held_rates["within_ci"].all()),
        "moments": moments.to_dict(orient="records"),
        "moments_hold": n_hold,
        "moments_within_data_ci": int(moments["within_ci"].sum()),
    }
    print("\nParameters:")
    print(format_params(params))
    out["seconds_total"] = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "calibration.json", out)
    atomic_write_bytes(args.out / "calibration.csv", _csv_bytes(tables))
    atomic_write_bytes(
        args.out / "calibration.heldout.csv", moments.to_csv(index=False).encode("utf-8")
    )
    print(
        f"\nWrote calibration.json, calibration.csv and calibration.heldout.csv to "
        f"{args.out} ({out['seconds_total']:.1f} s in all)."
    )
    if not ok:
        print(
            "WARNING: some simulated rates lie outside Hillstrom's 95 % intervals.", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
