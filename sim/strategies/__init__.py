"""Targeting strategies.  Importing this package registers every strategy."""

from sim.strategies import contextual, hybrid, mass, one_to_one, segmented, triggered
from sim.strategies.base import (
    REGISTRY,
    Strategy,
    StrategyConfig,
    build_strategy_config,
    make_strategy,
)

__all__ = [
    "REGISTRY",
    "Strategy",
    "StrategyConfig",
    "build_strategy_config",
    "contextual",
    "hybrid",
    "make_strategy",
    "mass",
    "one_to_one",
    "segmented",
    "triggered",
]
