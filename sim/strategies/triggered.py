"""Event-triggered: rules on observed events fire a message after a delay.

Rules (``conf/strategy/triggered.yaml``): ``cart_abandoned`` and ``browsed_no_buy``
(implicit data; the message is about the event's category), ``lapsed`` (no purchase for
``lapsed_days``; transactional data) and ``near_store`` (a location ping; ambient data).
Each rule fires on its channel ``delay_days`` after the event, unless the consumer has
bought since, and at most once per ``cooldown_days`` per consumer.  Triggered messages
reach consumers at a moment of high intent, so many are *sure things*: their response
rate is high while their uplift is much lower (stylised fact 2).
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
    """Schedules delayed messages for observed events, bucketed to the hour."""

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
        if len(feed) == 0:
            return
        who, first = np.unique(feed.consumer, return_index=True)
        t_event = feed.time[first]
        cat = feed.category[first]
        last = self._last_fired.setdefault(rule_id, np.full(market.pop.n, -np.inf))
        fresh = market.now - last[who] >= cooldown
        who, t_event, cat = who[fresh], t_event[fresh], cat[fresh]
        send_at = np.maximum(np.ceil((t_event + delay) * 24.0) / 24.0, market.now)
        for t in np.unique(send_at):
            sel = send_at == t
            market.env.process(
                self._fire(
                    market,
                    float(t),
                    who[sel],
                    t_event[sel],
                    cat[sel],
                    rule_id,
                    message,
                    suppress_if_bought,
                )
            )

    def _fire(
        self,
        market: Market,
        t: float,
        who: np.ndarray,
        t_event: np.ndarray,
        cat: np.ndarray,
        rule_id: int,
        message: dict[str, Any],
        suppress: bool,
    ) -> Generator[simpy.Event, Any, None]:
        if t > market.now:
            yield market.env.timeout(t - market.now)
        if suppress:
            keep = market.obs.last_purchase[who] < t_event
            who, cat = who[keep], cat[keep]
        msg = dict(message)
        if msg.pop("use_event_category", False):
            msg["category"] = cat
        res = self.send(market, who, **msg)
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
        obs = market.obs
        while True:
            yield market.day_closed
            if not self.in_window(market):
                continue
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
                else:  # lapsed: crossed lapsed_days since the last purchase during the last day
                    since = market.now - obs.last_purchase
                    dt = market.cfg.step_days
                    who = np.flatnonzero((since >= r.lapsed_days) & (since < r.lapsed_days + dt))
                    feed = EventFeed(
                        who.astype(np.int32),
                        np.full(who.size, market.now),
                        np.full(who.size, -1, np.int16),
                    )
                    msg["category"], msg["data_kinds"] = -1, 0
                self.schedule(
                    market,
                    feed,
                    r.delay_days,
                    i,
                    r.cooldown_days,
                    msg,
                    suppress_if_bought=r.event != "lapsed",
                )
