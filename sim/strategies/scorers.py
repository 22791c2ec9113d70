"""Scorers for one-to-one targeting: per consumer, the best offer and its value.

A scorer plans a wave: for each candidate consumer it returns the offer (channel,
category, discount), the send time and a *value* used to rank and select consumers
(expected incremental profit for the oracle and CausalML scorers; purchase propensity
for the propensity scorer).  Positive value means worth contacting for profit-based
scorers.

* ``oracle``: the simulator's closed-form expected uplift (:meth:`Market.expected_uplift`)
  with the consumer's latent basket value and active hour: the upper bound;
* ``propensity``: the common mistake, ranking by observed likelihood to buy (recent,
  frequent, browsing customers) and sending them the best-liked category with the
  grid's largest discount: it mostly reaches sure things.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from itertools import product
from typing import Any, Protocol, runtime_checkable

import numpy as np
import simpy

from sim.economics import EconomicsConfig, optout_prices
from sim.market import Market
from sim.observe import interest
from sim.strategies.base import Campaign


@dataclass(frozen=True)
class OfferGrid:
    """The offers a one-to-one strategy may choose from."""

    channels: np.ndarray  # channel codes
    n_categories: int
    discounts: np.ndarray
    depth: float
    kinds: int  # data-kind bit mask used by the messages


@dataclass
class Plan:
    consumer: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    discount: np.ndarray
    send_time: np.ndarray
    value: np.ndarray
    profit_based: bool
    depth: np.ndarray | None = None  # per consumer; None: the strategy's depth


class Scorer(Protocol):
    """Plans a wave: per consumer the best offer, its send time and its value."""

    name: str

    def plan(
        self,
        market: Market,
        consumers: np.ndarray,
        grid: OfferGrid,
        econ: EconomicsConfig,
        day: float,
        default_hour: float,
    ) -> Plan: ...


@runtime_checkable
class LearningScorer(Scorer, Protocol):
    """A scorer that learns from a pilot the strategy runs in the market before its
    first wave (while :attr:`needs_pilot` is true)."""

    @property
    def needs_pilot(self) -> bool: ...

    def run_pilot(
        self, campaign: Campaign, market: Market
    ) -> Generator[simpy.Event, Any, None]: ...


def observed_send_time(
    market: Market, consumers: np.ndarray, day: float, default_hour: float
) -> np.ndarray:
    """Send at the consumer's observed session hour (implicit data), else the default."""
    hour = market.obs.session_hour[consumers].astype(np.float64)
    usable = market.obs.consent[consumers, 0] & np.isfinite(hour)
    hour = np.where(usable, np.floor(hour), default_hour)
    return day + hour / 24.0


class OracleScorer:
    """Expected incremental profit from the simulator's own response model.

    An opt-out is valued at the channel's forward value per consumer
    (:func:`sim.economics.optout_prices`), computed at the first wave (the campaign's
    start), the price the cost model charges."""

    name = "oracle"

    def __init__(self) -> None:
        self.optout_price: np.ndarray | None = None

    def plan(
        self,
        market: Market,
        consumers: np.ndarray,
        grid: OfferGrid,
        econ: EconomicsConfig,
        day: float,
        default_hour: float,
    ) -> Plan:
        """The most profitable offer per consumer, sent at its active hour.

        Every offer of the grid is valued from :meth:`Market.offer_uplift`, which shares
        the terms that do not depend on the offer; ties keep the earliest offer.
        """
        pop = market.pop
        basket = pop.basket_mean[consumers].astype(np.float64)
        send = day + np.floor(pop.active_hour[consumers]) / 24.0
        n = consumers.shape[0]
        costs = econ.contact_costs()
        if self.optout_price is None:
            self.optout_price = optout_prices(econ, market, day)
        optout_v = self.optout_price
        optout_p = market.cfg.creepiness.optout_prob
        margin = econ.margin_rate * basket
        discount_costs = [disc * basket for disc in grid.discounts]
        offers = market.offer_uplift(consumers, grid.depth, grid.kinds, at=send)
        variants = list(product(grid.channels, range(grid.n_categories), grid.discounts))
        # The best variant so far per consumer, as an index into ``variants``; the index
        # len(variants) means none (channel 0, category 0, no discount, value -inf).
        best = np.full(n, -np.inf)
        choice = np.full(n, len(variants), np.int64)
        v = 0
        for ch in grid.channels:
            ok = market.deliverable(consumers, ch)
            unit = costs[ch] + econ.personalisation_cost_per_contact * grid.depth
            optout_cost = offers.backlash(int(ch)) * optout_p * optout_v[ch]
            for cat in range(grid.n_categories):
                for disc, discount_cost in zip(grid.discounts, discount_costs, strict=True):
                    eu = offers.offer(int(ch), cat, float(disc))
                    value = (
                        margin * eu["uplift"] - discount_cost * eu["p_treated"] - unit - optout_cost
                    )
                    better = value > best
                    better &= ok
                    np.copyto(best, value, where=better)
                    choice[better] = v
                    v += 1
        rows = [*variants, (0, 0, 0.0)]  # the last row: none
        b_ch, b_cat, b_disc = (np.array(col)[choice] for col in zip(*rows, strict=True))
        return Plan(consumers, b_ch, b_cat, b_disc, send, best, profit_based=True)


class PropensityScorer:
    """Rank by observed propensity to buy; offer the best-liked category."""

    name = "propensity"

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds

    def plan(
        self,
        market: Market,
        consumers: np.ndarray,
        grid: OfferGrid,
        econ: EconomicsConfig,
        day: float,
        default_hour: float,
    ) -> Plan:
        obs, now = market.obs, market.now
        freq = obs.n_purchases[consumers].astype(np.float64)
        tenure = np.maximum(now - obs.first_purchase[consumers], 30.0)
        recency = np.minimum(now - obs.last_purchase[consumers], 3650.0)
        browse = np.minimum(now - obs.last_browse[consumers], 3650.0)
        use_implicit = "implicit" in self.kinds
        rate = (freq + 0.5) / tenure * np.exp(-recency / 120.0)
        if use_implicit:
            abandon = np.minimum(now - obs.last_abandon[consumers], 3650.0)
            signal = 0.02 * np.exp(-browse / 14.0) + 0.05 * np.exp(-abandon / 10.0)
            rate = rate + np.where(obs.consent[consumers, 0], signal, 0.0)
        value = 1.0 - np.exp(-rate * market.cfg.response.window_days)
        prof = interest(obs, self.kinds)[consumers]
        category = np.where(prof.sum(axis=1) > 0, prof.argmax(axis=1), -1)
        channel = np.full(consumers.shape[0], grid.channels[0], np.int64)
        for ch in grid.channels[::-1]:
            ok = market.deliverable(consumers, ch)
            channel = np.where(ok, ch, channel)
        send = observed_send_time(market, consumers, day, default_hour)
        disc = np.full(consumers.shape[0], float(grid.discounts.max()))
        return Plan(consumers, channel, category, disc, send, value, profit_based=False)


SCORER_NAMES: tuple[str, ...] = ("oracle", "propensity", "causalml")
"""Every scorer a one-to-one strategy may name (``strategy.scorer``)."""

ScorerFactory = Callable[[tuple[str, ...], int, Any], Scorer]
"""Builds a scorer from the strategy's data kinds, its seed and its config (a
:class:`~sim.strategies.one_to_one.OneToOneConfig`)."""

SCORERS: dict[str, ScorerFactory] = {
    "oracle": lambda kinds, seed, cfg: OracleScorer(),
    "propensity": lambda kinds, seed, cfg: PropensityScorer(kinds),
}
"""Scorer factories by name; :mod:`sim.strategies.causalml` adds ``causalml``."""
