"""Targeting strategies.  Importing this package registers every strategy and scorer."""

from sim.strategies import causalml, contextual, hybrid, mass, one_to_one, segmented, triggered
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
    "causalml",
    "contextual",
    "hybrid",
    "make_strategy",
    "mass",
    "one_to_one",
    "segmented",
    "triggered",
]
