"""Results do not depend on the step: halving ``step_days`` (1 -> 0.5 days) changes no
strategy's true incremental profit by more than its seed-to-seed standard error (slow).

Default market, 20,000 consumers, 90 days, seeds 0-9, every strategy with its preset.
The two step sizes share every organic random number (the draws are kept by day,
:mod:`sim.behaviour`), so the paired differences isolate what the step itself changes.
The table (means, standard errors, differences) is printed; ``docs/MODEL.md`` holds it.

With the former e-mail fit (a lasting awareness gain of 0.998) the weekly mass e-mail moved
1.02 seed-SE (a contact's awareness gain reaches sessions from the next interval on, a lag
that halves with the step); with the click-through fit (awareness gain 0.05) every strategy
stays within (results/step_size.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import presets
from sim.experiment import RunConfig, run_experiment

STRATEGIES = ("mass", "segmented", "triggered", "contextual", "one_to_one", "hybrid")
SEEDS = tuple(range(10))
N_CONSUMERS = 20_000


def true_profit(strategy: str, seed: int, step_days: float) -> float:
    market = presets.market("default", n_consumers=N_CONSUMERS, step_days=step_days)
    cfg = RunConfig(
        seed=seed,
        market=market,
        strategy=presets.strategy(strategy),
        economics=presets.economics("default"),
    )
    true = run_experiment(cfg).incremental_profit.true
    assert true is not None
    return true


def step_table() -> pd.DataFrame:
    """One row per strategy: mean true incremental profit at each step, the seed-to-seed
    standard error of the mean at 1 day, the difference and its paired standard error."""
    rows = []
    for strategy in STRATEGIES:
        one = np.array([true_profit(strategy, s, 1.0) for s in SEEDS])
        half = np.array([true_profit(strategy, s, 0.5) for s in SEEDS])
        n = len(SEEDS)
        rows.append(
            {
                "strategy": strategy,
                "mean 1 d": one.mean(),
                "mean 0.5 d": half.mean(),
                "difference": half.mean() - one.mean(),
                "se (seeds)": one.std(ddof=1) / np.sqrt(n),
                "se (paired)": (half - one).std(ddof=1) / np.sqrt(n),
            }
        )
    return pd.DataFrame(rows).set_index("strategy")


@pytest.mark.slow
def test_halving_the_step_changes_no_true_profit_beyond_its_standard_error() -> None:
    table = step_table()
    with pd.option_context("display.width", 120, "display.float_format", "{:,.0f}".format):
        print(table)
    assert (table["difference"].abs() <= table["se (seeds)"]).all(), table
