"""Benchmark: seconds per interaction of the workshop page, without the browser.

    python -m experiments.workshop.bench [--workers 2]

Replays what the page computes after a change (:func:`experiments.workshop.curves.interact`
on the shared :class:`~experiments.workshop.engine.Runner`) and prints, per interaction,
the seconds until the plan's figures are known, the seconds until the curves are done,
the number of runs it needed (cached runs are free) and the sum of their
``RunResult.run_seconds`` (wall time inside the workers, so it grows with the machine's
load; about 0.45 s a run on an idle core).  ``python -m experiments.workshop.browser``
measures the same end to end in a real browser.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from experiments.workshop.curves import interact
from experiments.workshop.engine import Figures, Runner
from experiments.workshop.plans import Plan, World


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.workshop.bench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    runner = Runner(args.workers)
    world = World.for_preset("default")
    mass = Plan.default("mass")
    steps = [
        ("first answer (workers starting)", world, mass),
        ("world: taste tribalism 50 -> 55 %", replace(world, tribalism=55.0), mass),
        (
            "world: privacy sensitivity 1 -> 1.25x",
            replace(world, tribalism=55.0, privacy=1.25),
            mass,
        ),
        (
            "world: margin 35 -> 36 %",
            replace(world, tribalism=55.0, privacy=1.25, margin=36.0),
            mass,
        ),
        ("plan: every 7 -> 8 days", None, replace(mass, every_days=8.0)),
        ("plan: discount 0 -> 5 %", None, replace(mass, every_days=8.0, discount=5.0)),
        ("plan: switch to one-to-one", None, Plan.default("one_to_one")),
        (
            "plan: one-to-one share 20 -> 21 %",
            None,
            replace(Plan.default("one_to_one"), share=21.0),
        ),
        ("plan: switch to segments", None, Plan.default("segmented")),
        ("back to the first world and plan (cached)", world, mass),
    ]
    current = world
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.workers} workers; 10,000 customers, 60 days"
    )
    print(f"{'interaction':45s} {'plan s':>7s} {'all s':>7s} {'runs':>5s} {'run s':>6s}")
    for label, w, plan in steps:
        current = w or current
        seen: dict[str, float] = {}
        start = time.perf_counter()

        def on_plan(_fig: object, seen: dict[str, float] = seen, start: float = start) -> None:
            seen["plan"] = time.perf_counter() - start

        before = set(runner._cache)
        result = interact(current, plan, args.seed, runner, "bench", on_plan=on_plan)
        total = time.perf_counter() - start
        new = [runner._cache[k] for k in set(runner._cache) - before]
        cpu = sum(f.seconds for f in new if isinstance(f, Figures))
        assert isinstance(result.plan, Figures), result.plan
        print(f"{label:45s} {seen['plan']:7.2f} {total:7.2f} {len(new):5d} {cpu:6.2f}")
    runner.shutdown()
    print(f"load average {os.getloadavg()[0]:.2f}; total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
