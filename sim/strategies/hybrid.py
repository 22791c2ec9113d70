"""Hybrid: mass for awareness plus a triggered or one-to-one follow-up.

Both parts share the hybrid's holdout (the same consumers are kept back from both), so
the holdout measures the hybrid as a whole.  ``mass_enabled: false`` keeps only the
follow-up, to show what mass contributes to it (stylised fact 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from sim.economics import EconomicsConfig
from sim.market import Market
from sim.schema import spec
from sim.strategies.base import Campaign, CommonControls, StrategyConfig, register
from sim.strategies.mass import MassBroadcast, MassConfig
from sim.strategies.one_to_one import OneToOne, OneToOneConfig
from sim.strategies.triggered import Triggered, TriggeredConfig

FOLLOW_UPS = ("one_to_one", "triggered")


@dataclass
class HybridConfig(StrategyConfig, CommonControls):
    name: str = "hybrid"
    mass_enabled: bool = True
    follow_up: str = spec("one_to_one", choices=FOLLOW_UPS)
    mass: MassConfig = field(default_factory=lambda: MassConfig(channel="display"))
    one_to_one: OneToOneConfig = field(default_factory=OneToOneConfig)
    triggered: TriggeredConfig = field(default_factory=TriggeredConfig)

    def __post_init__(self) -> None:
        self.check_common()


def _with_controls(part: CommonControls, controls: CommonControls) -> None:
    """The hybrid's common controls override its parts' (one holdout, one window, one
    frequency cap and one budget, shared through one :class:`Pool`)."""
    for f in fields(CommonControls):
        setattr(part, f.name, getattr(controls, f.name))


@register("hybrid", HybridConfig)
class Hybrid:
    name = "hybrid"

    def __init__(self, cfg: HybridConfig, seed: int, econ: EconomicsConfig) -> None:
        self.cfg = cfg
        self.parts: list[Campaign] = []
        if cfg.mass_enabled:
            _with_controls(cfg.mass, cfg)
            self.parts.append(MassBroadcast(cfg.mass, seed, econ, key=1))
        if cfg.follow_up == "one_to_one":
            _with_controls(cfg.one_to_one, cfg)
            self.parts.append(OneToOne(cfg.one_to_one, seed, econ, key=1))
        else:
            _with_controls(cfg.triggered, cfg)
            self.parts.append(Triggered(cfg.triggered, seed, econ, key=1))
        for part in self.parts[1:]:
            part.pool = self.parts[0].pool
        kinds: set[str] = set()
        for p in self.parts:
            kinds.update(p.data_kinds)
        self.data_kinds = tuple(sorted(kinds))

    def holdout_mask(self, market: Market) -> np.ndarray:
        """The holdout every part shares."""
        return self.parts[0].holdout_mask(market)

    def start(self, market: Market) -> None:
        for part in self.parts:
            part.start(market)
