"""What every strategy shares: the protocol, common controls and a registry.

A strategy is a SimPy process over a :class:`~sim.market.Market`: it reads only the
observation layer (``market.obs`` / ``market.features()``) and acts only through
``market.contact``.  :class:`Campaign` applies the common controls every strategy has:
a random *holdout* kept uncontacted for measurement (its would-be contacts are recorded
with status ``holdout``), a contact window, and a frequency cap per consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import simpy

from sim.config import CHANNELS
from sim.market import ContactResult, Market
from sim.schema import ConfigError, build, check_range, choice
from sim.streams import Purpose


class Strategy(Protocol):
    """Anything that can start its SimPy processes on a market."""

    name: str

    def start(self, market: Market) -> None: ...


@dataclass
class CommonControls:
    """Controls every campaign has.

    ``holdout_share``: share of consumers kept uncontacted (in (0, 1)).  ``start_day`` and
    ``end_day``: the contact window.  ``frequency_cap``: most contacts per consumer over
    the run.  ``send_hour``: hour of day scheduled waves go out.
    """

    holdout_share: float = 0.1
    start_day: float = 0.0
    end_day: float = 60.0
    frequency_cap: int = 100
    send_hour: float = 10.0

    def check_common(self) -> None:
        check_range("holdout_share", self.holdout_share, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("start_day", self.start_day, 0.0)
        check_range("end_day", self.end_day, self.start_day)
        check_range("frequency_cap", self.frequency_cap, 1)
        check_range("send_hour", self.send_hour, 0.0, 24.0, hi_open=True)


@dataclass
class StrategyConfig:
    """Base of every strategy's config: ``name`` selects the strategy."""

    name: str = "none"


@dataclass
class NoneConfig(StrategyConfig):
    name: str = "none"


REGISTRY: dict[str, tuple[type[StrategyConfig], Callable[[Any], Strategy]]] = {}


def register(name: str, config_cls: type[StrategyConfig]) -> Callable[[Any], Any]:
    """Class decorator: register a strategy class under ``name`` with its config class."""

    def deco(cls: Any) -> Any:
        REGISTRY[name] = (config_cls, cls)
        cls.name = name
        return cls

    return deco


def build_strategy_config(data: Any, where: str = "strategy") -> StrategyConfig:
    """Build the config dataclass of the strategy named by ``data['name']``."""
    if isinstance(data, StrategyConfig):
        return data
    if not isinstance(data, dict) or "name" not in data:
        raise ConfigError(f"{where}: needs a 'name'; valid choices: {', '.join(sorted(REGISTRY))}.")
    name = choice(f"{where}.name", str(data["name"]), sorted(REGISTRY))
    return build(REGISTRY[name][0], data, where)


def make_strategy(cfg: StrategyConfig, seed: int) -> Strategy:
    """Instantiate the strategy a config names."""
    return REGISTRY[cfg.name][1](cfg, seed)


@register("none", NoneConfig)
class NoCampaign:
    """The baseline world: no contact at all."""

    name: ClassVar[str] = "none"

    def __init__(self, cfg: NoneConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg or NoneConfig()

    def start(self, market: Market) -> None:
        return None


def channel_code(name: str, where: str = "channel") -> int:
    """Index of a channel name, with a clear error naming the valid choices."""
    return CHANNELS.index(choice(where, name, CHANNELS))


@dataclass
class Campaign:
    """Base class applying holdout, window and frequency cap to every batch."""

    controls: CommonControls
    seed: int
    key: int = 0
    sent: np.ndarray | None = field(default=None, init=False)

    def holdout_mask(self, market: Market) -> np.ndarray:
        """Per-consumer random holdout, fixed for the run (its own keyed stream)."""
        u = market.streams.uniform(Purpose.ASSIGNMENT, market.pop.n, self.key)
        return u < np.float32(self.controls.holdout_share)

    def in_window(self, market: Market) -> bool:
        return self.controls.start_day <= market.now < self.controls.end_day

    def send(self, market: Market, consumers: np.ndarray, holdout: np.ndarray, **kw: Any) -> ContactResult | None:
        """Send a batch through the common controls; holdout rows become ghost contacts."""
        if self.sent is None:
            self.sent = np.zeros(market.pop.n, np.int32)
        consumers = np.asarray(consumers, np.int64)
        under_cap = self.sent[consumers] < self.controls.frequency_cap
        keep = under_cap
        consumers = consumers[keep]
        kw = {k: (v[keep] if isinstance(v, np.ndarray) and v.shape == keep.shape else v)
              for k, v in kw.items()}
        if consumers.size == 0:
            return None
        res = market.contact(consumers, holdout=holdout[consumers], **kw)
        self.sent[consumers[res.status != 1]] += 1
        return res

    def at_send_hour(self, market: Market, day: float) -> float:
        """Delay from now until ``day`` at the configured send hour."""
        return max(day + self.controls.send_hour / 24.0 - market.now, 0.0)


def wait_until(env: simpy.Environment, t: float) -> Generator[simpy.Event, Any, None]:
    if t > env.now:
        yield env.timeout(t - env.now)
