"""One run of the framework as a plain function: ``run_experiment(cfg) -> RunResult``.

The Hydra entry points in ``experiments/`` only compose and validate the config and
call this; tests and notebooks call it directly.  :meth:`RunResult.to_dict` is the
run's ``metrics.json``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.config import CHANNELS, MarketConfig
from sim.economics import EconomicsConfig, campaign_costs, optout_prices, window_months
from sim.ledger import ContactStatus
from sim.market import Market
from sim.measure import channel_counts, diff_in_means, groups, response_flags, tribe_groups
from sim.population import Population, synthesize
from sim.schema import ConfigError, build, choice
from sim.strategies import Strategy, StrategyConfig, build_strategy_config, make_strategy
from sim.strategies.base import CommonControls
from sim.streams import Streams
from sim.truth import Outcomes, PullForward, no_campaign, outcomes, twin_worlds


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
        check_window(self.strategy, self.market.horizon_days)


def check_window(strategy: Any, horizon_days: float) -> None:
    """A campaign must start inside the simulated horizon.  One that ends after it is cut
    at the horizon: it runs, and its data are charged, for the days simulated
    (:func:`sim.economics.window_months`)."""
    if isinstance(strategy, CommonControls) and strategy.start_day >= horizon_days:
        raise ConfigError(
            f"strategy.start_day = {strategy.start_day:g} is at or after "
            f"market.horizon_days = {horizon_days:g}: the campaign would never run; "
            f"start it before day {horizon_days:g} or lengthen the horizon."
        )


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
    """Validate a plain mapping of run keys (e.g. a composed config as plain values) into a
    :class:`RunConfig`, reporting every problem of the strategy and of the rest at once;
    any other key is an error naming the valid ones."""
    data = dict(data)
    errors: list[str] = []
    strategy: StrategyConfig | None = None
    cfg: RunConfig | None = None
    try:
        strategy = build_strategy_config(data.pop("strategy", {"name": "none"}))
    except ConfigError as exc:
        errors += exc.errors
    try:
        cfg = build(RunConfig, data)
    except ConfigError as exc:
        errors += exc.errors
    if errors or cfg is None or strategy is None:
        raise ConfigError(errors)
    cfg.strategy = strategy
    cfg.__post_init__()
    return cfg


@dataclass(frozen=True)
class Effect:
    """An incremental effect of the campaign (summed over consumers).

    ``measured``: the holdout comparison a marketer can make, with its standard error.
    The truth, when the twin worlds ran (else None; see :mod:`sim.truth`):

    * ``true``: the **total effect**, campaign versus no campaign for everyone, spillover
      through word of mouth included (the headline);
    * ``direct``: the effect of the consumers' own contacts, everyone else's world as
      without the campaign;
    * ``holdout_estimand``: what the holdout comparison estimates (its expectation over
      the holdout draw): the own contacts' effect on the treated under realised word of
      mouth (consumer holdout), or the total effect on the campaign's tribes (tribe
      holdout);
    * ``spillover``: ``true - direct``;
    * ``bias`` = ``measured - true``, the marketer's error against the total, with its
      standard error ``bias_se`` (= ``measured_se``: the truth has no sampling error).
    """

    measured: float
    measured_se: float
    true: float | None = None
    direct: float | None = None
    holdout_estimand: float | None = None
    spillover: float | None = None

    @property
    def bias(self) -> float | None:
        return None if self.true is None else self.measured - self.true

    def to_dict(self) -> dict[str, float | None]:
        out = {"measured": self.measured, "measured_se": self.measured_se, "true": self.true}
        if self.true is not None:
            out |= {
                "direct": self.direct,
                "holdout_estimand": self.holdout_estimand,
                "spillover": self.spillover,
                "bias": self.bias,
                "bias_se": self.measured_se,
            }
        return out


@dataclass(frozen=True)
class Ratio:
    """A ratio of profit and cost, measured and true; None where undefined (zero or
    non-finite denominator) or, for ``true``, when the twin worlds did not run."""

    measured: float | None
    true: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"measured": self.measured, "true": self.true}


@dataclass(frozen=True)
class RunResult:
    """What one run measured (and, with ``truth``, what really happened).

    :meth:`to_dict` gives the JSON-ready metrics written to ``metrics.json``;
    ``campaign``, the observed world's strategy instance (its plans, its scorer), is
    kept for the caller and never serialised.
    """

    strategy: str
    market: str
    seed: int
    n_consumers: int
    horizon_days: float
    contacts: int  # delivered
    contacts_by_channel: dict[str, int]
    treated_consumers: int
    holdout_consumers: int
    response_rate: float
    incremental_conversions: Effect
    incremental_revenue: Effect
    incremental_profit: Effect  # after the campaign's non-offer costs
    roi: Ratio
    cost_per_incremental_conversion: Ratio
    cost: dict[str, float]  # by type, and ``total``
    optout_price: dict[str, float]  # value lost per opt-out, by channel
    opt_outs: int
    backlash_events: int
    purchases: int
    revenue: float
    awareness_lift: float | None = None  # truth only
    baseline_purchases: int | None = None  # truth only
    pull_forward: PullForward | None = None  # truth only
    holdout_unit: str = "consumer"  # what the holdout randomised (not in to_dict: a config key)
    run_seconds: float = 0.0
    campaign: Strategy | None = field(default=None, repr=False, compare=False)

    def table(self) -> pd.DataFrame:
        """The run's incremental figures, one per row: measured (holdout, with its
        standard error) beside true (the total effect), the direct effect, the holdout's
        own estimand and the bias (measured - true)."""
        rows = {
            "incremental conversions": self.incremental_conversions,
            "incremental revenue": self.incremental_revenue,
            "incremental profit": self.incremental_profit,
        }
        data = {
            name: [e.measured, e.measured_se, e.true, e.direct, e.holdout_estimand, e.bias]
            for name, e in rows.items()
        }
        for name, r in (
            ("ROI", self.roi),
            ("cost per incremental conversion", self.cost_per_incremental_conversion),
        ):
            bias = None if r.true is None or r.measured is None else r.measured - r.true
            data[name] = [r.measured, None, r.true, None, None, bias]
        return pd.DataFrame.from_dict(
            data,
            orient="index",
            columns=["measured", "measured_se", "true", "direct", "holdout_estimand", "bias"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The metrics as plain JSON-ready values (the keys and order of ``metrics.json``)."""
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "market": self.market,
            "seed": self.seed,
            "n_consumers": self.n_consumers,
            "horizon_days": self.horizon_days,
            "contacts": self.contacts,
            "contacts_by_channel": dict(self.contacts_by_channel),
            "treated_consumers": self.treated_consumers,
            "holdout_consumers": self.holdout_consumers,
            "response_rate": self.response_rate,
            "incremental_conversions": self.incremental_conversions.to_dict(),
            "incremental_revenue": self.incremental_revenue.to_dict(),
            "incremental_profit": self.incremental_profit.to_dict(),
            "roi": self.roi.to_dict(),
            "cost_per_incremental_conversion": self.cost_per_incremental_conversion.to_dict(),
            "cost": dict(self.cost),
            "optout_price": dict(self.optout_price),
            "opt_outs": self.opt_outs,
            "backlash_events": self.backlash_events,
            "purchases": self.purchases,
            "revenue": self.revenue,
        }
        if self.awareness_lift is not None:
            out["awareness_lift"] = self.awareness_lift
        if self.baseline_purchases is not None:
            out["baseline_purchases"] = self.baseline_purchases
        if self.pull_forward is not None:
            out["pull_forward"] = self.pull_forward.to_dict()
        out["run_seconds"] = self.run_seconds
        return out


def _net(o: Outcomes, margin: float) -> np.ndarray:
    return margin * o.revenue - o.discount_cost


def _safe_div(a: float, b: float) -> float | None:
    return a / b if b and math.isfinite(a) and math.isfinite(b) else None


def opening_optout_prices(
    cfg: MarketConfig, seed: int, population: Population, econ: EconomicsConfig, day: float
) -> np.ndarray:
    """:func:`sim.economics.optout_prices` in the market as it stands at ``day`` without
    any campaign (the state the campaign meets at its start, the oracle's first wave)."""
    market = Market(cfg, seed, population=population)
    prices: list[np.ndarray] = []

    def at_start() -> Any:
        yield market.env.timeout(day)
        prices.append(optout_prices(econ, market, day))

    market.env.run(until=market.env.process(at_start()))
    return prices[0]


def run_experiment(
    cfg: RunConfig,
    ledger_dir: str | None = None,
    strategy_factory: Callable[[], Any] | None = None,
    population: Population | None = None,
    baseline: Market | None = None,
    worlds: str = "full",
    prices: np.ndarray | None = None,
) -> RunResult:
    """Run the configured strategy on the configured market and measure it.

    ``strategy_factory`` replaces the configured strategy (e.g. one holding a pre-fitted
    scorer); ``population`` reuses a synthesised population; ``ledger_dir`` receives the
    observed world's ledger.  The result's ``campaign`` is the observed world's strategy.
    ``baseline`` (the no-campaign world of this market and population, already run),
    ``worlds="total"`` (only the worlds the total effect needs: no direct and holdout
    worlds, whose fields stay None) and ``prices`` (the opt-out prices at the campaign's
    start) let several campaigns on one market share work (:class:`Cell`).
    """
    t_start = time.perf_counter()
    m, econ = cfg.market, cfg.economics
    pop = population if population is not None else synthesize(m, Streams(cfg.seed))
    made: list[Strategy] = []
    controls = cfg.strategy if isinstance(cfg.strategy, CommonControls) else None
    unit = controls.holdout_unit if controls is not None else "consumer"

    def make() -> Strategy:
        s = strategy_factory() if strategy_factory else make_strategy(cfg.strategy, cfg.seed, econ)
        made.append(s)
        return s

    if cfg.truth:
        gt = twin_worlds(
            m,
            cfg.seed,
            make,
            population=pop,
            holdout_world=unit == "consumer",
            baseline=baseline,
            worlds=worlds,
        )
        observed = gt.observed
    else:
        observed = Market(m, cfg.seed, population=pop)
        make().start(observed)
        observed.run()
    n = pop.n
    ledger = observed.ledger
    strategy = made[0]
    g, clusters = groups(ledger, n), None
    if unit == "tribe" and len(ledger.contacts):
        g, clusters = tribe_groups(strategy.holdout_mask(observed)), pop.tribe  # type: ignore[attr-defined]
    y1 = outcomes(ledger, n)
    kinds = tuple(getattr(strategy, "data_kinds", ()))
    start = controls.start_day if controls is not None else 0.0
    months = window_months(start, controls.end_day if controls else 0.0, m.horizon_days)
    if prices is None:
        prices = opening_optout_prices(m, cfg.seed, pop, econ, start)
    costs = campaign_costs(econ, ledger, cfg.strategy.name, pop.consent, kinds, months, prices)
    non_offer = costs["total"] - costs["offer"]
    delivered = int((ledger.contacts.column("status") == ContactStatus.DELIVERED).sum())
    responses = response_flags(ledger, m.response.window_days)
    margin = econ.margin_rate

    conv_hat, conv_se = diff_in_means(y1.conversions, g, clusters)
    rev_hat, rev_se = diff_in_means(y1.revenue, g, clusters)
    net_hat, net_se = diff_in_means(_net(y1, margin), g, clusters)
    profit_hat = net_hat - non_offer
    conversions = Effect(conv_hat, conv_se)
    revenue = Effect(rev_hat, rev_se)
    profit = Effect(profit_hat, net_se)
    roi = Ratio(_safe_div(profit_hat, costs["total"]))
    per_conversion = Ratio(_safe_div(costs["total"], conv_hat))
    awareness_lift: float | None = None
    baseline_purchases: int | None = None
    pulled: PullForward | None = None
    if cfg.truth:
        total = gt.total
        full = gt.direct_world is not None
        direct = gt.direct if full else None
        # What the holdout comparison estimates: own contacts removed, word of mouth as
        # realised (consumer holdout), or the campaign's tribes against no campaign.
        gap = (gt.holdout_gap if unit == "consumer" else total) if full else None
        t = g.treated

        def effect(
            hat: float, se: float, of: Callable[[Outcomes], np.ndarray], cost: float
        ) -> Effect:
            true = float(of(total).sum()) - cost
            if direct is None or gap is None:
                return Effect(hat, se, true=true)
            own = float(of(direct).sum()) - cost
            return Effect(
                hat,
                se,
                true=true,
                direct=own,
                holdout_estimand=float(of(gap)[t].sum()) - cost,
                spillover=true - own,
            )

        conversions = effect(conv_hat, conv_se, lambda o: o.conversions, 0.0)
        revenue = effect(rev_hat, rev_se, lambda o: o.revenue, 0.0)
        profit = effect(profit_hat, net_se, lambda o: _net(o, margin), non_offer)
        assert profit.true is not None and conversions.true is not None
        roi = Ratio(roi.measured, _safe_div(profit.true, costs["total"]))
        per_conversion = Ratio(per_conversion.measured, _safe_div(costs["total"], conversions.true))
        awareness_lift = float(
            gt.observed.state.awareness.mean() - gt.baseline.state.awareness.mean()
        )
        baseline_purchases = int(outcomes(gt.baseline.ledger, n).conversions.sum())
        pulled = gt.pull_forward()
    if ledger_dir is not None:
        ledger.to_parquet(ledger_dir)
    return RunResult(
        strategy=cfg.strategy.name,
        market=m.name,
        seed=cfg.seed,
        n_consumers=n,
        horizon_days=m.horizon_days,
        contacts=delivered,
        contacts_by_channel=channel_counts(ledger, CHANNELS),
        treated_consumers=g.n_treated,
        holdout_consumers=g.n_holdout,
        response_rate=float(responses.mean()) if responses.size else 0.0,
        incremental_conversions=conversions,
        incremental_revenue=revenue,
        incremental_profit=profit,
        roi=roi,
        cost_per_incremental_conversion=per_conversion,
        cost=costs,
        optout_price={ch: float(v) for ch, v in zip(CHANNELS, prices, strict=True)},
        opt_outs=len(ledger.optouts),
        backlash_events=int(ledger.contacts.column("backlash").sum()),
        purchases=int(y1.conversions.sum()),
        revenue=float(y1.revenue.sum()),
        awareness_lift=awareness_lift,
        baseline_purchases=baseline_purchases,
        pull_forward=pulled,
        holdout_unit=unit,
        run_seconds=time.perf_counter() - t_start,
        campaign=strategy,
    )


class Cell:
    """One market and seed on which several strategies run, sharing what does not depend on
    the strategy: the population (common random numbers), the no-campaign world and the
    opt-out prices at a campaign's start, each computed once.

    ``truth``: ``"none"`` (only the observed world: what a marketer measures), ``"total"``
    (observed and the shared baseline world: the total effect, the headline truth) or
    ``"full"`` (also the direct and holdout worlds of :mod:`sim.truth`).
    """

    def __init__(self, market: MarketConfig, economics: EconomicsConfig, seed: int) -> None:
        self.market = market
        self.economics = economics
        self.seed = seed
        self.population = synthesize(market, Streams(seed))
        self._baseline: Market | None = None
        self._prices: dict[float, np.ndarray] = {}

    @property
    def baseline(self) -> Market:
        """The no-campaign world, run on first use."""
        if self._baseline is None:
            self._baseline = no_campaign(self.market, self.seed, self.population)
        return self._baseline

    def prices(self, start_day: float) -> np.ndarray:
        """Opt-out prices at a campaign start day (:func:`opening_optout_prices`), cached."""
        if start_day not in self._prices:
            self._prices[start_day] = opening_optout_prices(
                self.market, self.seed, self.population, self.economics, start_day
            )
        return self._prices[start_day]

    def run(self, strategy: StrategyConfig, truth: str = "total") -> RunResult:
        choice("truth", truth, ("none", "total", "full"))
        cfg = RunConfig(
            seed=self.seed,
            market=self.market,
            strategy=strategy,
            economics=self.economics,
            truth=truth != "none",
        )
        start = strategy.start_day if isinstance(strategy, CommonControls) else 0.0
        return run_experiment(
            cfg,
            population=self.population,
            baseline=self.baseline if truth != "none" else None,
            worlds="total" if truth == "total" else "full",
            prices=self.prices(start),
        )


def run_cell(configs: dict[str, RunConfig], truth: str = "total") -> dict[str, RunResult]:
    """Run several configs that share market, economics and seed on one :class:`Cell`."""
    first = next(iter(configs.values()))
    for name, c in configs.items():
        if (c.market, c.economics, c.seed) != (first.market, first.economics, first.seed):
            raise ValueError(
                f"run_cell: {name!r} differs from the others in market, economics or seed"
            )
    cell = Cell(first.market, first.economics, first.seed)
    return {name: cell.run(c.strategy, truth) for name, c in configs.items()}
