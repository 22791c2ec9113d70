"""One run of the framework as a plain function: ``run_experiment(cfg) -> metrics``.

The Hydra entry points in ``experiments/`` only compose and validate the config and
call this; tests call it directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.config import CHANNELS, MarketConfig
from sim.economics import EconomicsConfig, campaign_costs
from sim.ledger import ContactStatus
from sim.market import Market
from sim.measure import channel_counts, diff_in_means, groups, response_flags
from sim.population import Population, synthesize
from sim.schema import ConfigError, build, choice
from sim.strategies import StrategyConfig, build_strategy_config, make_strategy
from sim.streams import Streams
from sim.truth import Outcomes, outcomes, twin_worlds


@dataclass
class RunConfig:
    """Everything one run needs.  ``truth``: also run the twin worlds for true effects."""

    seed: int = 0
    market: MarketConfig = field(default_factory=MarketConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    economics: EconomicsConfig = field(default_factory=EconomicsConfig)
    truth: bool = True
    save_ledger: bool = False

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigError(f"seed = {self.seed} is out of range; it must be >= 0.")
        self.economics.platform(self.strategy.name)
        check_categories(self.strategy, self.market.categories)


def check_categories(strategy: Any, categories: list[str], where: str = "strategy") -> None:
    """A strategy's named category must be one of the market's (searched recursively)."""
    import dataclasses

    for f in dataclasses.fields(strategy):
        value = getattr(strategy, f.name)
        if f.name == "category" and isinstance(value, str) and value:
            choice(f"{where}.category", value, categories)
        elif dataclasses.is_dataclass(value):
            check_categories(value, categories, f"{where}.{f.name}")


def build_run_config(data: dict[str, Any]) -> RunConfig:
    """Validate a plain mapping (e.g. a composed Hydra config) into a :class:`RunConfig`."""
    data = dict(data)
    strategy = build_strategy_config(data.pop("strategy", {"name": "none"}))
    valid = {"seed", "market", "economics", "truth", "save_ledger"}
    cfg = build(RunConfig, {k: v for k, v in data.items() if k in valid or k not in {"hydra"}})
    cfg.strategy = strategy
    cfg.__post_init__()
    return cfg


def _net(o: Outcomes, margin: float) -> np.ndarray:
    return margin * o.revenue - o.discount_cost


def _safe_div(a: float, b: float) -> float | None:
    return a / b if b and math.isfinite(a) and math.isfinite(b) else None


def run_experiment(
    cfg: RunConfig,
    ledger_dir: str | None = None,
    strategy_factory: Callable[[], Any] | None = None,
    population: Population | None = None,
    keep: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the configured strategy on the configured market and measure it.

    ``strategy_factory`` replaces the configured strategy (e.g. one holding a pre-fitted
    scorer); ``population`` reuses a synthesised population; ``keep`` receives the
    observed world's strategy instance under ``"strategy"``.
    """
    t_start = time.perf_counter()
    m, econ = cfg.market, cfg.economics
    pop = population if population is not None else synthesize(m, Streams(cfg.seed))
    made: list[Any] = []

    def make() -> Any:
        s = strategy_factory() if strategy_factory else make_strategy(cfg.strategy, cfg.seed, econ)
        made.append(s)
        return s

    if cfg.truth:
        gt = twin_worlds(m, cfg.seed, make, population=pop)
        observed = gt.observed
    else:
        observed = Market(m, cfg.seed, population=pop)
        make().start(observed)
        observed.run()
    n = pop.n
    ledger = observed.ledger
    g = groups(ledger, n)
    y1 = outcomes(ledger, n)
    strategy = made[0]
    if keep is not None:
        keep["strategy"] = strategy
    kinds = tuple(getattr(strategy, "data_kinds", ()))
    months = (
        max(
            getattr(cfg.strategy, "end_day", m.horizon_days)
            - getattr(cfg.strategy, "start_day", 0.0),
            0.0,
        )
        / 30.0
    )
    costs = campaign_costs(econ, ledger, cfg.strategy.name, pop.consent, kinds, months)
    non_offer = costs["total"] - costs["offer"]
    delivered = int((ledger.contacts.column("status") == ContactStatus.DELIVERED).sum())
    responses = response_flags(ledger, m.response.window_days)
    margin = econ.margin_rate

    conv_hat, conv_se = diff_in_means(y1.conversions, g)
    rev_hat, rev_se = diff_in_means(y1.revenue, g)
    net_hat, net_se = diff_in_means(_net(y1, margin), g)
    profit_hat = net_hat - non_offer
    metrics: dict[str, Any] = {
        "strategy": cfg.strategy.name,
        "market": m.name,
        "seed": cfg.seed,
        "n_consumers": n,
        "horizon_days": m.horizon_days,
        "contacts": delivered,
        "contacts_by_channel": channel_counts(ledger, CHANNELS),
        "treated_consumers": g.n_treated,
        "holdout_consumers": g.n_holdout,
        "response_rate": float(responses.mean()) if responses.size else 0.0,
        "incremental_conversions": {"measured": conv_hat, "measured_se": conv_se, "true": None},
        "incremental_revenue": {"measured": rev_hat, "measured_se": rev_se, "true": None},
        "incremental_profit": {"measured": profit_hat, "measured_se": net_se, "true": None},
        "roi": {"measured": _safe_div(profit_hat, costs["total"]), "true": None},
        "cost_per_incremental_conversion": {
            "measured": _safe_div(costs["total"], conv_hat),
            "true": None,
        },
        "cost": costs,
        "opt_outs": len(ledger.optouts),
        "backlash_events": int(ledger.contacts.column("backlash").sum()),
        "purchases": int(y1.conversions.sum()),
        "revenue": float(y1.revenue.sum()),
    }
    if cfg.truth:
        direct, total = gt.direct, gt.total
        t = g.treated
        conv_true = float(direct.conversions[t].sum())
        profit_true = float(_net(direct, margin)[t].sum()) - non_offer
        metrics["incremental_conversions"].update(
            true=conv_true,
            true_total=float(total.conversions.sum()),
            spillover=float(gt.spillover.conversions.sum()),
        )
        metrics["incremental_revenue"].update(
            true=float(direct.revenue[t].sum()), true_total=float(total.revenue.sum())
        )
        metrics["incremental_profit"].update(
            true=profit_true, true_total=float(_net(total, margin).sum()) - non_offer
        )
        metrics["roi"]["true"] = _safe_div(profit_true, costs["total"])
        metrics["cost_per_incremental_conversion"]["true"] = _safe_div(costs["total"], conv_true)
        metrics["awareness_lift"] = float(
            gt.observed.state.awareness.mean() - gt.baseline.state.awareness.mean()
        )
        metrics["baseline_purchases"] = int(outcomes(gt.baseline.ledger, n).conversions.sum())
    if ledger_dir is not None:
        ledger.to_parquet(ledger_dir)
    metrics["run_seconds"] = time.perf_counter() - t_start
    return metrics
