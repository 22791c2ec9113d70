"""Ground truth by twin-world replay under common random numbers.

For a campaign we run three worlds of the *same* market (same population, same seed):

1. **observed world** (``y1``): the campaign runs as it would, holdout included;
2. **baseline world** (``y0``): no campaign at all;
3. **direct world** (``yd``): the observed world's contact log is replayed batch by
   batch, while word of mouth is *frozen* at the baseline world's tribe signals.

Every random number a consumer uses is a pure function of (seed, purpose, step, consumer
id) (:mod:`sim.streams`): purchase, browse, store-visit, ping and lapse draws are
whole-population arrays, the details of a purchase, session or open cart use
consumer-keyed hashed uniforms, and responses are keyed by (step, k) and indexed by
consumer; so the worlds differ only through the campaign.  Per consumer:

* ``total = y1 - y0``: the campaign's whole effect on that consumer;
* ``direct = yd - y0``: the effect of the consumer's own contacts, with everything
  else (tribe-mates' word of mouth) as in the no-campaign world.  It is exactly zero for
  anyone never contacted, holdout included;
* ``spillover = y1 - yd``: what word of mouth carried, so ``total = direct + spillover``.

A randomised holdout's difference in means estimates the mean direct effect on the
treated (ITT), because the spillover reaches treated and holdout alike; spillover is
reported apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.config import MarketConfig
from sim.ledger import Ledger
from sim.market import Market, Strategy
from sim.population import Population, synthesize
from sim.replay import Replay
from sim.streams import Streams


@dataclass(frozen=True)
class Outcomes:
    """Per-consumer outcomes over a window: purchases, revenue and discounts redeemed."""

    conversions: np.ndarray
    revenue: np.ndarray
    discount_cost: np.ndarray
    converted: np.ndarray

    def __sub__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.conversions - other.conversions,
            self.revenue - other.revenue,
            self.discount_cost - other.discount_cost,
            self.converted.astype(np.int8) - other.converted.astype(np.int8),
        )


def outcomes(ledger: Ledger, n: int, t0: float = 0.0, t1: float = np.inf) -> Outcomes:
    """Sum each consumer's purchases with time in [t0, t1)."""
    p = ledger.purchases
    t = p.column("time")
    sel = (t >= t0) & (t < t1)
    who = p.column("consumer")[sel]
    value = p.column("value")[sel].astype(np.float64)
    disc = p.column("discount")[sel].astype(np.float64)
    conv = np.bincount(who, minlength=n).astype(np.float64)
    return Outcomes(
        conv,
        np.bincount(who, value, minlength=n),
        np.bincount(who, value * disc, minlength=n),
        conv > 0,
    )


def run_world(
    cfg: MarketConfig,
    seed: int,
    strategy: Strategy | None,
    population: Population,
    wom_override: list | None = None,
) -> Market:
    market = Market(cfg, seed, population=population, wom_override=wom_override)
    if strategy is not None:
        strategy.start(market)
    return market.run()


@dataclass
class GroundTruth:
    observed: Market
    baseline: Market
    direct_world: Market
    window: tuple[float, float]

    def outcome(self, world: str) -> Outcomes:
        m = {"observed": self.observed, "baseline": self.baseline, "direct": self.direct_world}[
            world
        ]
        return outcomes(m.ledger, m.pop.n, *self.window)

    @property
    def total(self) -> Outcomes:
        return self.outcome("observed") - self.outcome("baseline")

    @property
    def direct(self) -> Outcomes:
        return self.outcome("direct") - self.outcome("baseline")

    @property
    def spillover(self) -> Outcomes:
        return self.outcome("observed") - self.outcome("direct")


def twin_worlds(
    cfg: MarketConfig,
    seed: int,
    make_strategy: Callable[[], Strategy],
    window: tuple[float, float] | None = None,
    population: Population | None = None,
) -> GroundTruth:
    """Run the observed, baseline and direct worlds of one campaign (see module doc)."""
    pop = population if population is not None else synthesize(cfg, Streams(seed))
    observed = run_world(cfg, seed, make_strategy(), pop)
    baseline = run_world(cfg, seed, None, pop)
    direct = run_world(
        cfg, seed, Replay(observed.ledger.contacts.frame()), pop, wom_override=baseline.wom_log
    )
    return GroundTruth(observed, baseline, direct, window or (0.0, cfg.horizon_days))
