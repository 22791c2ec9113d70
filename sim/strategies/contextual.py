"""Contextual: relevance from the current session only, no stored profile.

While a consumer browses, the site shows a message about the category being browsed
(on the ``display`` channel by default), in the session's hour (sends go out in hourly
batches, at most once per ``cooldown_days`` per consumer).  Nothing about the consumer
is stored or used beyond the session, so no data cost is paid and intrusiveness stays
at the generic level: relevance without a profile (the sceptics' search-ad argument).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from sim.config import CHANNELS, channel_code
from sim.economics import EconomicsConfig
from sim.market import Market
from sim.schema import spec
from sim.strategies.base import CommonControls, StrategyConfig, register
from sim.strategies.triggered import EventDriven


@dataclass
class ContextualConfig(StrategyConfig, CommonControls):
    name: str = "contextual"
    channel: str = spec("display", choices=CHANNELS)
    discount: float = spec(0.0, lo=0.0, hi=1.0, hi_open=True)
    depth: float = spec(0.0, lo=0.0, hi=1.0)
    cooldown_days: float = spec(3.0, lo=0.0)

    def __post_init__(self) -> None:
        self.check_common()


@register("contextual", ContextualConfig)
class Contextual(EventDriven):
    data_kinds = ()

    def __init__(
        self, cfg: ContextualConfig, seed: int, econ: EconomicsConfig, key: int = 1
    ) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg

    def start(self, market: Market) -> None:
        market.env.process(self._watch(market))

    def _watch(self, market: Market) -> Generator[simpy.Event, Any, None]:
        msg = {
            "channel": channel_code(self.cfg.channel),
            "discount": self.cfg.discount,
            "depth": self.cfg.depth,
            "data_kinds": 0,
            "use_event_category": True,
        }
        while True:  # the interval open now, then each one as it opens
            if market.now < self.cfg.end_day:
                # Shown in the session's hour (no delay, no suppression).
                self.schedule(
                    market,
                    market.obs.context,
                    0.0,
                    0,
                    self.cfg.cooldown_days,
                    msg,
                    suppress_if_bought=False,
                )
            yield market.interval_opened
