"""Event-triggered: rules on observed events fire a message after a delay.

Rules (``conf/strategy/triggered.yaml``): ``cart_abandoned`` and ``browsed_no_buy``
(implicit data; the message is about the event's category), ``lapsed`` (no purchase for
``lapsed_days``; transactional data) and ``near_store`` (a location ping; ambient data).
Each rule fires on its channel ``delay_days`` after the event (rounded up to the next
whole hour: sends go out in hourly batches), unless the consumer has bought since the
event (for an abandoned cart: since the cart was filled, a purchase empties it; for a
lapse: since the interval it falls in began), and at most once per ``cooldown_days`` per
consumer.  The market publishes each interval's events, with their own times, when the
interval opens (:attr:`sim.market.Market.interval_opened`); the strategy schedules every
send then, and checks the cooldown and the purchase (:meth:`sim.market.Market.bought_since`)
when the send is due.  Triggered messages reach consumers at a moment of high intent, so
many are *sure things*: their response rate is high while their uplift is much lower
(stylised fact 2).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS, channel_code
from sim.economics import EconomicsConfig
from sim.market import Market
from sim.observe import EventFeed
from sim.schema import ConfigError, check_fields, spec
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, register

EVENTS = ("cart_abandoned", "browsed_no_buy", "lapsed", "near_store")
EVENT_KINDS = {
    "cart_abandoned": ("implicit",),
    "browsed_no_buy": ("implicit",),
    "lapsed": (),
    "near_store": ("ambient",),
}


@dataclass
class TriggerRule:
    """One rule: on ``event``, send on ``channel`` after ``delay_days``."""

    event: str = spec("cart_abandoned", choices=EVENTS)
    channel: str = spec("email", choices=CHANNELS)
    delay_days: float = spec(0.125, lo=0.0)
    discount: float = spec(0.0, lo=0.0, hi=1.0, hi_open=True)
    depth: float = spec(0.5, lo=0.0, hi=1.0)
    lapsed_days: float = spec(90.0, lo=0.0, lo_open=True)
    cooldown_days: float = spec(7.0, lo=0.0)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class TriggeredConfig(StrategyConfig, CommonControls):
    name: str = "triggered"
    rules: list[TriggerRule] = field(default_factory=lambda: [TriggerRule()])

    def __post_init__(self) -> None:
        self.check_common()
        if not self.rules:
            raise ConfigError(
                "rules: a triggered strategy needs at least one rule; valid events: "
                + ", ".join(EVENTS)
                + "."
            )


class EventDriven(Campaign):
    """Schedules a message for each observed event at event time plus delay, bucketed to
    the next whole hour."""

    def __init__(
        self, controls: CommonControls, seed: int, econ: EconomicsConfig, key: int = 0
    ) -> None:
        super().__init__(controls, seed, econ, key=key)
        self._last_fired: dict[int, np.ndarray] = {}  # per rule: last send time per consumer

    def schedule(
        self,
        market: Market,
        feed: EventFeed,
        delay: float,
        rule_id: int,
        cooldown: float,
        message: dict[str, Any],
        suppress_if_bought: bool = True,
    ) -> None:
        """Plan the sends of ``feed``'s events (one process per send hour)."""
        if len(feed) == 0:
            return
        self._last_fired.setdefault(rule_id, np.full(market.pop.n, -np.inf))
        send_at = np.ceil((feed.time + delay) * 24.0 - 1e-6) / 24.0
        send_at = np.maximum(send_at, market.now)
        keep = send_at < self.controls.end_day
        for t in np.unique(send_at[keep]):
            sel = np.flatnonzero(keep & (send_at == t))
            market.env.process(
                self._fire(
                    market,
                    float(t),
                    feed.consumer[sel],
                    feed.category[sel],
                    feed.since[sel],
                    rule_id,
                    cooldown,
                    message,
                    suppress_if_bought,
                )
            )

    def _fire(
        self,
        market: Market,
        t: float,
        who: np.ndarray,
        cat: np.ndarray,
        since: np.ndarray,
        rule_id: int,
        cooldown: float,
        message: dict[str, Any],
        suppress: bool,
    ) -> Generator[simpy.Event, Any, None]:
        if t > market.now:
            yield market.env.timeout(t - market.now)
        who, first = np.unique(who, return_index=True)  # one message per consumer and hour
        cat, since = cat[first], since[first]
        keep = market.now - self._last_fired[rule_id][who] >= cooldown
        if suppress and keep.any():
            keep[keep] = ~market.bought_since(who[keep], since[keep])
        who, cat = who[keep], cat[keep]
        msg = dict(message)
        if msg.pop("use_event_category", False):
            msg["category"] = cat
        res = self.send(market, who, ranked=False, **msg)
        if res is not None:
            self._last_fired[rule_id][res.consumer] = market.now


@register("triggered", TriggeredConfig)
class Triggered(EventDriven):
    def __init__(
        self, cfg: TriggeredConfig, seed: int, econ: EconomicsConfig, key: int = 1
    ) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg
        kinds: set[str] = set()
        for r in cfg.rules:
            kinds.update(EVENT_KINDS[r.event])
        self.data_kinds = tuple(sorted(kinds))

    def start(self, market: Market) -> None:
        market.env.process(self._watch(market))

    def _watch(self, market: Market) -> Generator[simpy.Event, Any, None]:
        while True:  # the interval open now, then each one as it opens
            if market.now < self.cfg.end_day:
                self._plan_interval(market)
            yield market.interval_opened

    def _plan_interval(self, market: Market) -> None:
        obs = market.obs
        t0 = market.now
        t1 = t0 + market.cfg.step_days
        for i, r in enumerate(self.cfg.rules):
            msg: dict[str, Any] = {
                "channel": channel_code(r.channel),
                "discount": r.discount,
                "depth": r.depth,
                "arm": i + 1,
            }
            if r.event == "cart_abandoned":
                feed, msg["use_event_category"] = obs.abandoned, True
                msg["data_kinds"] = 1
            elif r.event == "browsed_no_buy":
                feed, msg["use_event_category"] = obs.browsed, True
                msg["data_kinds"] = 1
            elif r.event == "near_store":
                feed, msg["category"], msg["data_kinds"] = obs.pinged, -1, 4
            else:  # lapsed: crosses lapsed_days since the last purchase within the interval
                crossing = obs.last_purchase + r.lapsed_days
                who = np.flatnonzero((crossing >= t0) & (crossing < t1))
                feed = EventFeed(
                    who.astype(np.int32),
                    crossing[who],
                    np.full(who.size, -1, np.int16),
                    np.full(who.size, t0),  # a purchase from t0 on: not lapsed after all
                )
                msg["category"], msg["data_kinds"] = -1, 0
            self.schedule(market, feed, r.delay_days, i, r.cooldown_days, msg)
