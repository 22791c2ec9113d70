"""Targeting strategies.  Importing this package registers every strategy."""

from sim.strategies import mass as mass
from sim.strategies.base import (
    REGISTRY,
    Strategy,
    StrategyConfig,
    build_strategy_config,
    make_strategy,
)

__all__ = ["REGISTRY", "Strategy", "StrategyConfig", "build_strategy_config", "make_strategy", "mass"]
