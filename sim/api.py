"""The framework from a notebook or a script, without Hydra.

    from sim import api

    market = api.market("specialty_retail", n_consumers=20_000)
    result = api.run(market, api.strategy("one_to_one", max_share=0.3), seed=1)
    print(result.table())            # measured (holdout, ± SE) beside the truth
    api.plot(result)                 # a matplotlib Axes
    versus = api.compare(market, ["mass", "segmented", "one_to_one"], seed=1)
    versus.plot()                    # profit by strategy, measured beside true

Presets come from ``conf/`` (:mod:`sim.presets`), overrides are keyword arguments with
dotted keys relative to the group (``**{"tribes.variance_share": 0.3}``), every config is
validated before any work starts, and results are the typed :class:`RunResult` of
:func:`sim.experiment.run_experiment`, the same function the command-line entry points
call.  Compute functions return tables; plot functions draw on ``ax`` (a new figure when
``None``) and return it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from sim import presets
from sim.config import MarketConfig
from sim.economics import EconomicsConfig
from sim.experiment import RunConfig, RunResult, run_experiment
from sim.population import synthesize
from sim.report import (
    comparison_table,
    plot_profit_by_strategy,
    plot_roi_by_strategy,
    strategy_key,
)
from sim.strategies import StrategyConfig
from sim.streams import Streams

__all__ = [
    "Comparison",
    "compare",
    "economics",
    "market",
    "plot",
    "run",
    "strategy",
]

market = presets.market
strategy = presets.strategy


def economics(preset: str | None = None, **overrides: Any) -> EconomicsConfig:
    """The economics preset (``conf/economics/<preset>.yaml``) with ``overrides``."""
    return presets.economics(preset or "default", **overrides)


def _economics_for(market_cfg: MarketConfig, econ: EconomicsConfig | None) -> EconomicsConfig:
    """The given economics, else the preset named like the market (as ``conf/config.yaml``
    pairs them), else the default."""
    if econ is not None:
        return econ
    name = market_cfg.name if market_cfg.name in presets.options("economics") else "default"
    return presets.economics(name)


def run(
    market_cfg: MarketConfig,
    strategy_cfg: StrategyConfig | str,
    *,
    economics: EconomicsConfig | None = None,
    seed: int = 0,
    truth: bool = True,
) -> RunResult:
    """Run one strategy on one market and measure it (``truth``: also the twin worlds)."""
    plan = presets.strategy(strategy_cfg) if isinstance(strategy_cfg, str) else strategy_cfg
    cfg = RunConfig(
        seed=seed,
        market=market_cfg,
        strategy=plan,
        economics=_economics_for(market_cfg, economics),
        truth=truth,
    )
    return run_experiment(cfg)


@dataclass(frozen=True)
class Comparison:
    """Several strategies on one market and seed (common random numbers)."""

    results: dict[str, RunResult]
    strategies: dict[str, StrategyConfig]

    def table(self) -> pd.DataFrame:
        """One row per strategy: measured (± SE) beside true incremental figures."""
        return comparison_table({k: r.to_dict() for k, r in self.results.items()}, self.strategies)

    def plot(self, ax: Axes | None = None, *, what: str = "profit") -> Axes:
        """Incremental profit (``what="profit"``) or ROI (``"roi"``) by strategy."""
        ax = _axes(ax)
        draw = plot_profit_by_strategy if what == "profit" else plot_roi_by_strategy
        return draw(self.table(), ax)


def compare(
    market_cfg: MarketConfig,
    strategies: Sequence[str | StrategyConfig] | Mapping[str, StrategyConfig],
    *,
    economics: EconomicsConfig | None = None,
    seed: int = 0,
) -> Comparison:
    """Run every strategy on the same market and seed (one population, shared streams)."""
    if isinstance(strategies, Mapping):
        plans = dict(strategies)
    else:
        plans = {}
        for s in strategies:
            plan = presets.strategy(s) if isinstance(s, str) else s
            plans[s if isinstance(s, str) else strategy_key(plan)] = plan
    econ = _economics_for(market_cfg, economics)
    population = synthesize(market_cfg, Streams(seed))
    results = {
        name: run_experiment(
            RunConfig(seed=seed, market=market_cfg, strategy=plan, economics=econ),
            population=population,
        )
        for name, plan in plans.items()
    }
    return Comparison(results, plans)


def plot(result: RunResult, ax: Axes | None = None) -> Axes:
    """One run's incremental conversions and profit: measured (95 % interval) beside true."""
    ax = _axes(ax)
    table = result.table()
    rows = table.loc[["incremental conversions", "incremental profit"]]
    x = range(len(rows))
    ax.bar(
        [i - 0.2 for i in x],
        rows["measured"],
        0.4,
        yerr=1.96 * rows["measured_se"],
        capsize=3,
        label="measured (holdout, 95 % CI)",
        color="#4C72B0",
    )
    ax.bar([i + 0.2 for i in x], rows["true"].astype(float), 0.4, label="true", color="#DD8452")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(list(x), list(rows.index))
    ax.set_title(
        f"{result.strategy} on {result.market} ({result.n_consumers:,} consumers, seed "
        f"{result.seed})"
    )
    ax.legend(frameon=False)
    return ax


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(7, 4), constrained_layout=True).add_subplot()
