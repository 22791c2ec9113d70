"""Does mass raise the return of a one-to-one follow-up?  Stylised fact 5, by mechanism:
``python -m experiments.studies.interaction [seeds=1,2,3] [n_consumers=20000] [jobs=2]``.

The fact compares the follow-up's true return with mass (the hybrid's true incremental
profit minus that of the mass part run alone) with its return without mass (the hybrid
with ``strategy.mass_enabled=false``), in the default market.  Their difference is the
interaction of the two parts,

    I = hybrid - mass alone - follow-up alone,

positive when mass makes the follow-up pay more (complements), negative when the two
compete for the same purchases (substitutes).  The study measures I on the preset and with
each mechanism that could make it either switched off (market overrides, one at a time):
the attribution study's four (:data:`experiments.reproduce.MECHANISMS`) and the contacts'
fatigue (no fatigue penalty on persuasion, no frequency term in intrusiveness).  Each
strategy runs at its preset settings (the fact's own runs, not tuned).  It prints one row
per mechanism and seed and the mean with its standard error; nothing is written to
``results/``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from experiments._common import run_config
from experiments.reproduce import MECHANISMS
from sim.experiment import run_experiment

ABLATIONS: dict[str, dict[str, Any]] = {
    "none (preset)": {},
    **{f"no {name}": ov for name, ov in MECHANISMS.items()},
    "no fatigue": {"response.fatigue_penalty": 0.0, "creepiness.frequency_weight": 0.0},
}
"""Market overrides of each row of the study."""

ARMS: dict[str, tuple[str, dict[str, Any]]] = {
    "hybrid": ("hybrid", {}),
    "mass alone": ("mass", {"strategy.channel": "display"}),
    "follow-up alone": ("hybrid", {"strategy.mass_enabled": False}),
}
"""The fact's three runs: strategy and strategy overrides."""

DEFAULTS = {"seeds": "1,2,3", "n_consumers": "20000", "jobs": "2"}


def true_profit(strategy: str, seed: int, overrides: dict[str, Any]) -> float:
    """True (total) incremental profit of one run of the default market."""
    ov = ["market=default", f"strategy={strategy}", f"seed={seed}"]
    ov += [f"{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in overrides.items()]
    result = run_experiment(run_config(ov))
    return float(result.to_dict()["incremental_profit"]["true"])


def study(seeds: Sequence[int], n_consumers: int, jobs: int) -> pd.DataFrame:
    """One row per ablation and seed: the three runs' true profits and the interaction."""
    cells = [(name, seed, arm) for name in ABLATIONS for seed in seeds for arm in ARMS]

    def one(name: str, seed: int, arm: str) -> float:
        strategy, strategy_ov = ARMS[arm]
        market_ov = {f"market.{k}": v for k, v in ABLATIONS[name].items()}
        return true_profit(
            strategy, seed, {"market.n_consumers": n_consumers, **market_ov, **strategy_ov}
        )

    values = Parallel(n_jobs=jobs)(delayed(one)(*cell) for cell in cells)
    long = pd.DataFrame(cells, columns=["ablation", "seed", "arm"]).assign(true_profit=values)
    wide = long.pivot_table(
        index=["ablation", "seed"], columns="arm", values="true_profit", sort=False
    ).reset_index()
    wide["interaction"] = wide["hybrid"] - wide["mass alone"] - wide["follow-up alone"]
    return wide


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean interaction per ablation with its standard error over seeds."""
    g = rows.groupby("ablation", sort=False)["interaction"]
    n = g.count()
    return pd.DataFrame(
        {"interaction": g.mean(), "se": g.std(ddof=1) / np.sqrt(n), "seeds": n}
    ).reset_index()


def main(argv: Sequence[str] | None = None) -> int:
    args = dict(DEFAULTS)
    for arg in sys.argv[1:] if argv is None else argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in DEFAULTS:
            print(
                f"unknown argument {arg!r}; valid keys: {', '.join(DEFAULTS)} (key=value)",
                file=sys.stderr,
            )
            return 2
        args[key] = value
    seeds = [int(s) for s in args["seeds"].split(",") if s.strip()]
    rows = study(seeds, int(args["n_consumers"]), int(args["jobs"]))
    with pd.option_context("display.width", 160, "display.float_format", "{:,.0f}".format):
        print(rows.to_string(index=False))
        print()
        print(summary(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
