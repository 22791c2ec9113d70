"""What every strategy shares: the protocol, common controls and a registry.

A strategy is a SimPy process over a :class:`~sim.market.Market`: it reads only the
observation layer (``market.obs`` / ``market.features()``) and acts only through
``market.contact``.  :class:`Campaign` applies the common controls every strategy has:
a random *holdout* kept uncontacted for measurement (its would-be contacts are recorded
with status ``holdout``), a contact window, and a frequency cap per consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sim.economics import EconomicsConfig, variant_key
from sim.market import ContactResult, Market, Strategy
from sim.schema import ConfigError, build, check_fields, choice, spec
from sim.streams import Purpose

HOLDOUT_UNITS = ("consumer", "tribe")


@dataclass
class CommonControls:
    """Controls every campaign has.

    ``holdout_share``: share of consumers kept uncontacted (in (0, 1)).  ``holdout_unit``:
    what is randomised into the holdout: single ``consumer``s, or whole ``tribe``s (a
    cluster-randomised holdout: ``round(holdout_share x tribes)`` tribes, at least one and
    never all, are kept back with all their members; word of mouth then cannot carry the
    campaign into the holdout, so the comparison measures the total effect, spillover
    included; it assumes the marketer knows the communities that carry word of mouth).
    ``start_day`` and ``end_day``: the contact window; a window reaching past the
    market's horizon is cut there (and its data charged as simulated), one starting at or
    after it is refused (:class:`sim.experiment.RunConfig`).  ``frequency_cap``: most
    contacts per consumer over the run.  ``budget``: most variable spend (contact and
    personalisation costs) over the run, ``null`` for none.  ``send_hour``: hour of day
    scheduled waves go out.
    """

    holdout_share: float = spec(0.1, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    holdout_unit: str = spec("consumer", choices=HOLDOUT_UNITS)
    start_day: float = spec(0.0, lo=0.0)
    end_day: float = spec(60.0, lo=0.0)
    frequency_cap: int = spec(100, lo=1)
    budget: float | None = spec(None, lo=0.0, lo_open=True)
    send_hour: float = spec(10.0, lo=0.0, hi=24.0, hi_open=True)

    def check_common(self) -> None:
        """Check every field's spec, then that the window ends after it starts."""
        check_fields(self)
        if self.end_day < self.start_day:
            raise ConfigError(
                f"end_day = {self.end_day:g} is before start_day = {self.start_day:g}."
            )


@dataclass
class StrategyConfig:
    """Base of every strategy's config: ``name`` selects the strategy."""

    name: str = "none"


@dataclass
class NoneConfig(StrategyConfig):
    name: str = "none"


REGISTRY: dict[str, tuple[type[StrategyConfig], Callable[..., Strategy]]] = {}


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


def make_strategy(cfg: StrategyConfig, seed: int, econ: EconomicsConfig | None = None) -> Strategy:
    """Instantiate the strategy a config names (``econ`` prices budgets and scorers)."""
    return REGISTRY[cfg.name][1](cfg, seed, econ or EconomicsConfig())


@register("none", NoneConfig)
class NoCampaign:
    """The baseline world: no contact at all."""

    name: ClassVar[str] = "none"

    data_kinds: tuple[str, ...] = ()

    def __init__(
        self, cfg: NoneConfig | None = None, seed: int = 0, econ: EconomicsConfig | None = None
    ) -> None:
        self.cfg = cfg or NoneConfig()

    def start(self, market: Market) -> None:
        return None


@dataclass
class Pool:
    """What a campaign has used of its frequency cap and budget, and the creatives
    (:func:`sim.economics.variant_key`) it has produced; parts of a hybrid share one."""

    sent: np.ndarray | None = None
    spent: float = 0.0
    creatives: set[int] = field(default_factory=set)


class Campaign:
    """Base class applying addressability, holdout, frequency cap and budget to batches.

    Only consumers the marketer can address (reachable on the channel and not opted out,
    both known to the marketer) are sent; holdout consumers become ghost contacts
    (``status == holdout``) that cost nothing; the frequency cap counts real contacts;
    the budget admits the longest prefix of the batch whose variable cost fits, in the
    order given when the batch is ranked by the strategy's priority (``ranked=True``), else
    in a random order drawn for that send (mass, segments, triggers: consumer ids follow
    tribes, so an id-ordered prefix would reach the first tribes only).  For a strategy that
    ranks by value the budget is a backstop: it plans its spend when it decides
    (one-to-one: :meth:`OneToOne.select`).
    """

    data_kinds: tuple[str, ...] = ()

    def __init__(
        self, controls: CommonControls, seed: int, econ: EconomicsConfig, key: int = 0
    ) -> None:
        self.controls = controls
        self.seed = seed
        self.econ = econ
        self.key = key
        self.pool = Pool()
        self._holdout: np.ndarray | None = None
        self._sends = 0

    def holdout_mask(self, market: Market) -> np.ndarray:
        """Per-consumer random holdout, fixed for the run (its own keyed stream): each
        consumer with probability ``holdout_share``, or every member of a fixed number of
        randomly chosen tribes (``holdout_unit: tribe``)."""
        if self._holdout is None:
            share = self.controls.holdout_share
            if self.controls.holdout_unit == "tribe":
                n_tribes = market.pop.n_tribes
                held = min(max(round(share * n_tribes), 1), n_tribes - 1)
                u = market.streams.uniform(Purpose.ASSIGNMENT, n_tribes, self.key, 1)
                tribes = np.zeros(n_tribes, bool)
                tribes[np.argsort(u, kind="stable")[:held]] = True
                self._holdout = tribes[market.pop.tribe]
            else:
                u = market.streams.uniform(Purpose.ASSIGNMENT, market.pop.n, self.key)
                self._holdout = u < np.float32(share)
        return self._holdout

    def in_window(self, market: Market) -> bool:
        return self.controls.start_day <= market.now < self.controls.end_day

    def addressable(
        self, market: Market, consumers: np.ndarray, channel: np.ndarray | int
    ) -> np.ndarray:
        return market.deliverable(consumers, channel)

    def send(
        self,
        market: Market,
        consumers: np.ndarray,
        *,
        channel: int | np.ndarray,
        ranked: bool = True,
        **kw: Any,
    ) -> ContactResult | None:
        """Send a batch through the common controls; returns None if nothing is left.

        ``ranked``: the batch is in the strategy's priority order (best first); if not, a
        binding budget admits a random subset (see the class doc)."""
        n_all = market.pop.n
        pool = self.pool
        if pool.sent is None:
            pool.sent = np.zeros(n_all, np.int32)
        consumers = np.asarray(consumers, np.int64)
        m = consumers.shape[0]
        kw["channel"] = channel

        def take(keep: np.ndarray) -> None:
            nonlocal consumers
            consumers = consumers[keep]
            for k, v in list(kw.items()):
                if isinstance(v, np.ndarray) and v.shape == (m,):
                    kw[k] = v[keep]

        keep = self.addressable(market, consumers, channel) & (
            pool.sent[consumers] < self.controls.frequency_cap
        )
        take(keep)
        m = consumers.shape[0]
        if m == 0 or not self.in_window(market):
            return None
        hold = self.holdout_mask(market)[consumers]
        self._sends += 1
        if self.controls.budget is not None:
            if not ranked:
                u = market.streams.uniform(Purpose.ASSIGNMENT, n_all, self.key, 100 + self._sends)
                order = np.argsort(u[consumers], kind="stable")
                take(order)
                hold = hold[order]
            ch = np.broadcast_to(np.asarray(kw["channel"]), (m,))
            depth = np.broadcast_to(np.asarray(kw.get("depth", 0.0), np.float64), (m,))
            cost = np.where(hold, 0.0, self.econ.unit_costs(ch, depth))
            fits = np.flatnonzero(np.cumsum(cost) <= self.controls.budget - pool.spent + 1e-9)
            if not ranked:  # back to consumer order, as batches usually are
                fits = fits[np.argsort(consumers[fits], kind="stable")]
            take(fits)
            m = consumers.shape[0]
            pool.spent += float(cost[fits].sum())
            hold = hold[fits]
            if m == 0:
                return None
        res = market.contact(consumers, holdout=hold, **kw)
        got = res.delivered
        pool.sent[consumers[got]] += 1
        if got.any():
            settings = [
                np.asarray(kw["channel"]),
                np.asarray(kw.get("category", -1)),
                np.asarray(kw.get("discount", 0.0)),
                np.asarray(kw.get("depth", 0.0)),
            ]
            if all(s.ndim == 0 for s in settings):  # one creative: no per-contact keys to sort
                keys = variant_key(*settings).reshape(1)
            else:
                keys = np.unique(variant_key(*(np.broadcast_to(s, (m,))[got] for s in settings)))
            pool.creatives.update(int(k) for k in keys)
        return res

    def remaining_budget(self) -> float:
        """Budget not yet spent (infinite without a budget)."""
        if self.controls.budget is None:
            return float("inf")
        return max(self.controls.budget - self.pool.spent, 0.0)

    def start(self, market: Market) -> None:
        """Register the campaign's SimPy processes (each strategy defines it)."""
        raise NotImplementedError

    def at_send_hour(self, market: Market, day: float) -> float:
        """Delay from now until ``day`` at the configured send hour."""
        return max(day + self.controls.send_hour / 24.0 - market.now, 0.0)
