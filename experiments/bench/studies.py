"""Study throughput: ``python -m experiments.bench.studies [n=20000] [days=90] [repeat=1]``.

A study cell runs several strategies on one market and seed.  Before sharing, every
contender ran its own twin worlds (observed, no-campaign, direct and holdout worlds: four
markets per contender); a study that compares true total profits needs only the observed
world of each contender and *one* no-campaign world for the cell (:class:`sim.experiment.
Cell`, ``truth="total"``), whose numbers are identical (``tests/test_studies.py``).  This
benchmark times one cell both ways in the same process and prints cells per hour and
consumer-days per second counting every world simulated, and the same per contender.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from sim import presets
from sim.experiment import Cell, RunConfig, run_experiment

CONTENDERS = (
    "mass",
    "segmented",
    "triggered",
    "contextual",
    "one_to_one_propensity",
    "one_to_one",
    "hybrid",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = dict(a.split("=", 1) for a in (sys.argv[1:] if argv is None else argv))
    n, days = int(float(args.get("n", 20000))), float(args.get("days", 90))
    repeat = int(args.get("repeat", 1))
    market = presets.market("default", n_consumers=n, horizon_days=days)
    econ = presets.economics("default")
    plans = {c: presets.strategy(c, end_day=min(60.0, days)) for c in CONTENDERS}
    before, after = float("inf"), float("inf")
    for _ in range(repeat):
        tic = time.perf_counter()
        for plan in plans.values():
            run_experiment(RunConfig(seed=0, market=market, strategy=plan, economics=econ))
        before = min(before, time.perf_counter() - tic)
        tic = time.perf_counter()
        cell = Cell(market, econ, 0)
        for plan in plans.values():
            cell.run(plan, truth="total")
        after = min(after, time.perf_counter() - tic)
    k = len(plans)
    worlds_before, worlds_after = 4 * k, k + 1
    out = {
        "consumers": n,
        "days": days,
        "contenders": k,
        "seconds_before": before,
        "seconds_after": after,
        "cells_per_hour_before": 3600 / before,
        "cells_per_hour_after": 3600 / after,
        "contender_runs_per_hour_before": 3600 * k / before,
        "contender_runs_per_hour_after": 3600 * k / after,
        "consumer_days_per_s_before": worlds_before * n * days / before,
        "consumer_days_per_s_after": worlds_after * n * days / after,
        "speedup": before / after,
    }
    print(f"one cell: {k} strategies on the default market, {n:,} consumers x {days:g} days")
    print(f"  own twin worlds per strategy ({worlds_before} worlds): {before:6.1f} s")
    print(f"  one shared no-campaign world ({worlds_after} worlds):  {after:6.1f} s")
    runs = (out["contender_runs_per_hour_before"], out["contender_runs_per_hour_after"])
    print(
        f"  speed-up {before / after:.2f}x; contender runs per hour "
        f"{runs[0]:,.0f} -> {runs[1]:,.0f}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
