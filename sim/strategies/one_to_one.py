"""One-to-one: per consumer, whether to contact and with which offer, channel and time.

Every ``every_days`` a pluggable scorer (:mod:`sim.strategies.scorers`) plans each
consumer's best offer from a grid (channels x categories x discounts, at personalisation
depth ``depth`` using ``data_kinds``) and a value.  Profit-based scorers contact those
with positive expected incremental profit; the propensity scorer contacts the most
likely buyers.  Either way at most ``max_share`` of consumers per wave, best value
first.  A budget is spent by value across the campaign: each wave may spend the budget
left divided by the waves left (what a wave leaves unspent carries over), on its best
values first, decided when the wave is planned.  Messages go out at each consumer's send
hour.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS, DATA_KINDS, channel_code
from sim.economics import EconomicsConfig, variant_key
from sim.market import Market
from sim.response import kinds_mask
from sim.schema import ConfigError, spec
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, register
from sim.strategies.scorers import (
    SCORER_NAMES,
    SCORERS,
    LearningScorer,
    OfferGrid,
    Plan,
    Scorer,
)
from sim.uplift.config import EstimatorConfig


@dataclass
class OneToOneConfig(StrategyConfig, CommonControls):
    """One-to-one targeting.  ``scorer`` ranks consumers (:data:`SCORER_NAMES`);
    ``estimator`` is the CausalML scorer's uplift estimator (an ``estimator`` option,
    ``+estimator@strategy.estimator=<name>``; null: the ``x_lightgbm`` defaults)."""

    name: str = "one_to_one"
    scorer: str = spec("oracle", choices=SCORER_NAMES)
    channels: list[str] = spec(
        factory=lambda: ["email", "sms", "push"], choices=CHANNELS, each=True
    )
    discounts: list[float] = spec(
        factory=lambda: [0.0, 0.1, 0.2], lo=0.0, hi=1.0, hi_open=True, each=True
    )
    depth: float = spec(1.0, lo=0.0, hi=1.0)
    data_kinds: list[str] = spec(
        factory=lambda: ["implicit", "explicit"], choices=DATA_KINDS, each=True
    )
    every_days: float = spec(7.0, lo=0.0, lo_open=True)
    max_share: float = spec(0.2, lo=0.0, hi=1.0, lo_open=True)
    estimator: EstimatorConfig | None = None

    def __post_init__(self) -> None:
        self.check_common()
        if self.estimator is not None and self.scorer != "causalml":
            raise ConfigError(
                f"estimator: only the causalml scorer uses an estimator; scorer is "
                f"{self.scorer!r} (use scorer: causalml, or leave estimator null)."
            )
        if not self.channels:
            raise ConfigError("channels: at least one channel is needed.")
        if not self.discounts:
            raise ConfigError("discounts: at least one discount level is needed (0 for none).")


@register("one_to_one", OneToOneConfig)
class OneToOne(Campaign):
    """``scorer``: a ready scorer (e.g. one fitted on a pilot elsewhere) instead of the
    one the config names."""

    def __init__(
        self,
        cfg: OneToOneConfig,
        seed: int,
        econ: EconomicsConfig,
        key: int = 1,
        scorer: Scorer | None = None,
    ) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg
        self.data_kinds = tuple(cfg.data_kinds)
        self.scorer = scorer or SCORERS[cfg.scorer](self.data_kinds, seed, cfg)
        self.plans: list[Plan] = []
        self.selected: list[np.ndarray] = []  # per plan: the indices chosen to contact

    def start(self, market: Market) -> None:
        market.env.process(self._waves(market))

    def grid(self, market: Market) -> OfferGrid:
        cfg = self.cfg
        return OfferGrid(
            np.array([channel_code(c) for c in cfg.channels]),
            market.pop.n_categories,
            np.asarray(cfg.discounts, float),
            cfg.depth,
            kinds_mask(self.data_kinds),
        )

    def select(
        self, plan: Plan, market: Market, allowance: float = math.inf, waves: int = 1
    ) -> np.ndarray:
        """Indices into the plan to contact in this wave, best value first.

        1. Finite values (profit-based plans: positive ones), at most ``max_share`` of
           consumers, in decreasing order of value.
        2. Profit-based plans: a creative (:func:`sim.economics.variant_key`, the key the
           cost model charges content by) not yet produced is used only if it pays over
           the ``waves`` it can still serve (this one included): the value of the
           consumers it would reach in this wave, times ``waves`` (demand assumed to
           recur), must cover its content cost.  Creatives already produced
           (:attr:`Pool.creatives`) are free to reuse.
        3. The wave's ``allowance`` of the budget: the longest run of the ranking whose
           variable cost fits.  Holdout rows and contacts that would not be delivered
           (not addressable, frequency cap reached) cost nothing and earn nothing.

        Steps 2 and 3 repeat until no creative falls below its cost (cutting the ranking
        can leave one short; dropping one frees budget for the next values).
        """
        n = market.pop.n
        order = np.argsort(-plan.value, kind="stable")
        order = order[np.isfinite(plan.value[order])]
        if plan.profit_based:
            order = order[plan.value[order] > 0]
        order = order[: int(np.floor(self.cfg.max_share * n))]
        if not order.size:
            return order
        who = plan.consumer[order]
        channel = plan.channel[order]
        depth = np.full(order.size, self.cfg.depth) if plan.depth is None else plan.depth[order]
        pool = self.pool
        capped = (
            pool.sent[who] >= self.controls.frequency_cap
            if pool.sent is not None
            else np.zeros(order.size, bool)
        )
        paid = self.addressable(market, who, channel) & ~self.holdout_mask(market)[who] & ~capped
        cost = np.where(paid, self.econ.unit_costs(channel, depth), 0.0)
        earned = np.where(paid, plan.value[order], 0.0)
        keys = variant_key(channel, plan.category[order], plan.discount[order], depth)
        allowed = np.ones(order.size, bool)
        while True:
            idx = np.flatnonzero(allowed)
            if math.isfinite(allowance):
                idx = idx[np.cumsum(cost[idx]) <= allowance + 1e-9]
            if not plan.profit_based or not idx.size:
                break
            variants, inverse = np.unique(keys[idx], return_inverse=True)
            value = np.bincount(inverse, earned[idx], minlength=variants.size)
            new = ~np.isin(variants, np.fromiter(pool.creatives, np.int64, len(pool.creatives)))
            short = new & (value * waves < self.econ.content_cost_per_variant)
            if not short.any():
                break
            allowed &= ~np.isin(keys, variants[short])
        return order[idx]

    def waves_left(self, market: Market, day: float) -> int:
        """Waves from ``day`` on (``day`` included) inside the window and the horizon."""
        end = min(self.cfg.end_day, market.cfg.horizon_days)
        return max(math.ceil((end - day) / self.cfg.every_days - 1e-9), 1)

    def _waves(self, market: Market) -> Generator[simpy.Event, Any, None]:
        cfg = self.cfg
        grid = self.grid(market)
        day = cfg.start_day
        if isinstance(self.scorer, LearningScorer) and self.scorer.needs_pilot:
            if day > market.now:
                yield market.env.timeout(day + cfg.send_hour / 24.0 - market.now)
            yield from self.scorer.run_pilot(self, market)
            day = market.now
        while day < cfg.end_day:
            if day > market.now:
                yield market.env.timeout(day - market.now)
            n = market.pop.n
            plan = self.scorer.plan(market, np.arange(n), grid, self.econ, day, cfg.send_hour)
            waves = self.waves_left(market, day)
            chosen = self.select(plan, market, self.remaining_budget() / waves, waves)
            self.plans.append(plan)
            self.selected.append(chosen)
            times = plan.send_time[chosen]
            for t in np.unique(times):
                sel = chosen[times == t]
                market.env.process(self._send_at(market, float(t), plan, sel))
            day += cfg.every_days

    def _send_at(
        self, market: Market, t: float, plan: Plan, sel: np.ndarray
    ) -> Generator[simpy.Event, Any, None]:
        if t > market.now:
            yield market.env.timeout(t - market.now)
        depth = self.cfg.depth if plan.depth is None else plan.depth[sel]
        self.send(
            market,
            plan.consumer[sel],
            channel=plan.channel[sel].astype(np.int8),
            category=plan.category[sel].astype(np.int16),
            discount=plan.discount[sel],
            depth=depth,
            data_kinds=kinds_mask(self.data_kinds),
        )
