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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.config import DATA_KINDS
from sim.economics import EconomicsConfig
from sim.market import Market
from sim.response import kinds_mask
from sim.schema import ConfigError, check_range, choice
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, channel_code, register
from sim.strategies.scorers import SCORERS, OfferGrid, Plan


@dataclass
class OneToOneConfig(StrategyConfig, CommonControls):
    name: str = "one_to_one"
    scorer: str = "oracle"
    channels: list[str] = field(default_factory=lambda: ["email", "sms", "push"])
    discounts: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.2])
    depth: float = 1.0
    data_kinds: list[str] = field(default_factory=lambda: ["implicit", "explicit"])
    every_days: float = 7.0
    max_share: float = 0.2
    #: The CausalML scorer's uplift estimator: the fields of an ``estimator`` option
    #: (``+estimator@strategy.estimator=<name>``); empty = ``x_lightgbm`` defaults.
    estimator: dict[str, Any] = field(default_factory=dict)

    def estimator_config(self) -> Any:
        """The scorer's :class:`~sim.uplift.config.EstimatorConfig`, or ``None`` for defaults."""
        if not self.estimator:
            return None
        from sim.uplift.config import EstimatorConfig

        data = {"name": "strategy.estimator", **self.estimator}
        try:
            return EstimatorConfig.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"strategy.{exc}") from None

    def __post_init__(self) -> None:
        self.check_common()
        if self.estimator and self.scorer != "causalml":
            raise ConfigError(
                f"estimator: only the causalml scorer uses an estimator; scorer is "
                f"{self.scorer!r} (use scorer: causalml, or leave estimator empty)."
            )
        self.estimator_config()  # validates the estimator's keys and values
        if self.scorer not in SCORERS:
            import sim.uplift.scorer  # noqa: F401  (registers the CausalML scorer)
        choice("scorer", self.scorer, sorted(SCORERS))
        if not self.channels:
            raise ConfigError("channels: at least one channel is needed.")
        for i, ch in enumerate(self.channels):
            channel_code(ch, f"channels[{i}]")
        if not self.discounts:
            raise ConfigError("discounts: at least one discount level is needed (0 for none).")
        for i, d in enumerate(self.discounts):
            check_range(f"discounts[{i}]", d, 0.0, 1.0, hi_open=True)
        for i, k in enumerate(self.data_kinds):
            choice(f"data_kinds[{i}]", k, DATA_KINDS)
        check_range("depth", self.depth, 0.0, 1.0)
        check_range("every_days", self.every_days, 0.0, lo_open=True)
        check_range("max_share", self.max_share, 0.0, 1.0, lo_open=True)


@register("one_to_one", OneToOneConfig)
class OneToOne(Campaign):
    def __init__(self, cfg: OneToOneConfig, seed: int, econ: EconomicsConfig, key: int = 1) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg
        self.data_kinds = tuple(cfg.data_kinds)
        self.scorer = SCORERS[cfg.scorer](self.data_kinds, seed)
        estimator = cfg.estimator_config()
        if estimator is not None:
            from sim.uplift.scorer import CausalMLScorer

            assert isinstance(self.scorer, CausalMLScorer)  # checked in the config
            self.scorer.estimator_cfg = estimator
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
        if getattr(self.scorer, "model", True) is None:  # a learning scorer without a model
            if day > market.now:
                yield market.env.timeout(day + cfg.send_hour / 24.0 - market.now)
            yield from self.scorer.run_pilot(self, market)  # type: ignore[attr-defined]
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
