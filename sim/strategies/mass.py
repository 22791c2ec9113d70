"""Mass: the same message to everyone reachable on a broadcast channel, on a schedule."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import CHANNELS, channel_code
from sim.economics import EconomicsConfig
from sim.market import Market
from sim.schema import spec
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, register


@dataclass
class MassConfig(StrategyConfig, CommonControls):
    """A weekly (``every_days``) generic broadcast on ``channel``, optionally with a
    ``discount`` and a ``category`` (empty = generic brand message)."""

    name: str = "mass"
    channel: str = spec("email", choices=CHANNELS)
    every_days: float = spec(7.0, lo=0.0, lo_open=True)
    discount: float = spec(0.0, lo=0.0, hi=1.0, hi_open=True)
    category: str = ""

    def __post_init__(self) -> None:
        self.check_common()


@register("mass", MassConfig)
class MassBroadcast(Campaign):
    def __init__(self, cfg: MassConfig, seed: int, econ: EconomicsConfig, key: int = 1) -> None:
        super().__init__(cfg, seed, econ, key=key)
        self.cfg = cfg

    def start(self, market: Market) -> None:
        market.env.process(self._waves(market))

    def _waves(self, market: Market) -> Generator[simpy.Event, Any, None]:
        cfg = self.cfg
        ch = channel_code(cfg.channel)
        cat = market.cfg.categories.index(cfg.category) if cfg.category else -1
        day = cfg.start_day
        while day < cfg.end_day:
            yield market.env.timeout(self.at_send_hour(market, day))
            self.send(
                market,
                np.arange(market.pop.n),
                ranked=False,
                channel=ch,
                category=cat,
                discount=cfg.discount,
            )
            day += cfg.every_days
