"""One-to-one: per consumer, whether to contact and with which offer, channel and time.

Every ``every_days`` a pluggable scorer (:mod:`sim.strategies.scorers`) plans each
consumer's best offer from a grid (channels x categories x discounts, at personalisation
depth ``depth`` using ``data_kinds``) and a value.  Profit-based scorers contact those
with positive expected incremental profit; the propensity scorer contacts the most
likely buyers.  Either way at most ``max_share`` of consumers per wave, best value
first, and within the budget.  Messages go out at each consumer's send hour.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS, DATA_KINDS, channel_code
from sim.economics import EconomicsConfig
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
        self.paid_variants: set[int] = set()

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

    def select(self, plan: Plan, n: int) -> np.ndarray:
        """Indices into the plan to contact, best value first.

        For profit-based plans a message variant (channel x category x discount x depth)
        not yet produced is used only if the value of the consumers it would reach covers
        its content cost (variants already paid for are free to reuse).
        """
        order = np.argsort(-plan.value, kind="stable")
        order = order[np.isfinite(plan.value[order])]
        if plan.profit_based:
            order = order[plan.value[order] > 0]
        order = order[: int(np.floor(self.cfg.max_share * n))]
        if plan.profit_based and order.size:
            depth = np.full(order.size, self.cfg.depth) if plan.depth is None else plan.depth[order]
            key = (
                plan.channel[order].astype(np.int64) * 1_000_000
                + (plan.category[order].astype(np.int64) + 1) * 1_000
                + np.round(plan.discount[order] * 100).astype(np.int64) * 2
                + (depth > 0)
            )
            variants, inverse = np.unique(key, return_inverse=True)
            value = np.bincount(inverse, plan.value[order])
            paid = np.isin(variants, np.fromiter(self.paid_variants, np.int64))
            keep = paid | (value >= self.econ.content_cost_per_variant)
            self.paid_variants.update(int(v) for v in variants[keep])
            order = order[keep[inverse]]
        return order

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
            self.plans.append(plan)
            chosen = self.select(plan, n)
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
