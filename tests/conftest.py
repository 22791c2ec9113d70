"""Shared fixtures of the market tests: small configs, runners and a backlash-heavy campaign.

Everything here is deterministic: markets draw their numbers from ``sim.streams`` keyed
by an explicit seed, and nothing touches numpy's global random state.  The simulator is
imported lazily inside the fixtures, so test files that do not use them (datasets,
uplift, store) never import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from sim.config import MarketConfig
    from sim.market import Market
    from sim.state import MarketState


class DeepBlast:
    """A campaign that, on each of ``days`` at ``hour``, sends a fully personalised
    (depth 1, every data kind) contact in category 0 on ``channel`` (default phone) to
    every consumer, through :meth:`Market.contact` directly (no addressability filter, so
    unreachable and opted-out rows are recorded too).  Built to produce backlash and
    opt-outs.  The holdout is a fixed pattern (consumer id mod 10), so the campaign draws
    no random numbers of its own."""

    name = "deep_blast"

    def __init__(
        self,
        days: tuple[float, ...] = (2.0, 5.0),
        hour: float = 11.0,
        channel: int | None = None,
        depth: float = 1.0,
        kinds: int | None = None,
        holdout_share: float = 0.0,
    ) -> None:
        from sim.config import CHANNELS, DATA_KINDS
        from sim.response import kinds_mask

        self.days, self.hour, self.depth = days, hour, depth
        self.channel = CHANNELS.index("phone") if channel is None else channel
        self.kinds = kinds_mask(DATA_KINDS) if kinds is None else kinds
        self.holdout_share = holdout_share
        self.results: list[Any] = []

    def start(self, market: Market) -> None:
        market.env.process(self._run(market))

    def _run(self, market: Market) -> Generator[Any, Any, None]:
        n = market.pop.n
        hold = (np.arange(n) % 10) < round(self.holdout_share * 10)
        for day in self.days:
            t = day + self.hour / 24.0
            if t > market.now:
                yield market.env.timeout(t - market.now)
            self.results.append(
                market.contact(
                    np.arange(n),
                    channel=self.channel,
                    category=0,
                    depth=self.depth,
                    data_kinds=self.kinds,
                    holdout=hold,
                )
            )


def state_arrays(state: MarketState) -> dict[str, np.ndarray]:
    """Every array of a market state, by field name."""
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


@pytest.fixture(scope="session")
def make_cfg() -> Callable[..., MarketConfig]:
    """``make_cfg(n=..., days=..., **fields)``: a small market config.

    The creepiness threshold median is pinned at 1.0 unless given, so that the backlash
    tests (fully personalised phone contacts, intrusiveness 2.1) keep producing backlash
    whatever the default calibration becomes."""
    from sim.config import CreepinessConfig, MarketConfig

    def make(n: int = 5000, days: float = 20.0, **fields: Any) -> MarketConfig:
        fields.setdefault("creepiness", CreepinessConfig(threshold_median=1.0))
        return MarketConfig(n_consumers=n, horizon_days=days, **fields)

    return make


@pytest.fixture(scope="session")
def run_market() -> Callable[..., Market]:
    """``run_market(cfg, seed, strategy=None, population=None)``: a finished market."""
    import sim.strategies  # noqa: F401  (registers every strategy)
    from sim.market import Market

    def run(cfg: MarketConfig, seed: int, strategy: Any = None, population: Any = None) -> Market:
        m = Market(cfg, seed, population=population)
        if strategy is not None:
            strategy.start(m)
        return m.run()

    return run


@pytest.fixture(scope="session")
def deep_blast() -> type[DeepBlast]:
    return DeepBlast


@pytest.fixture(scope="session")
def get_state_arrays() -> Callable[[MarketState], dict[str, np.ndarray]]:
    return state_arrays
