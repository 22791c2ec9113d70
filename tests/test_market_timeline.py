"""The market's exact event timeline (SimPy).

Interval k = [kΔ, (k+1)Δ) opens at its start (interval 0 with the market) and closes at
its end, both before any contact stamped at that time, so a contact at t belongs to the
interval that starts at t; a contact first settles its consumers' purchases up to its
time; strategies waiting on ``day_closed`` and ``interval_opened`` wake after the
contacts already due at that time, in that order."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest

import sim.market
from sim.behaviour import Interval
from sim.config import CHANNELS, CreepinessConfig, MarketConfig
from sim.market import Market

EMAIL = CHANNELS.index("email")
Log = list[tuple[Any, ...]]


class Recorder:
    """A strategy that contacts ``consumer`` by e-mail at each of ``times`` and logs each
    contact, and logs every ``day_closed`` and ``interval_opened`` it wakes on.  Every
    contact is planned at time 0, so its timeout is scheduled before the events the
    market fires at the same time."""

    name = "recorder"

    def __init__(self, log: Log, times: tuple[float, ...], consumer: int) -> None:
        self.log, self.times, self.consumer = log, times, consumer

    def start(self, market: Market) -> None:
        for t in self.times:
            market.env.process(self._contact_at(market, t))
        market.env.process(self._days(market))
        market.env.process(self._openings(market))

    def _contact_at(self, market: Market, t: float) -> Generator[Any, Any, None]:
        yield market.env.timeout(t)
        res = market.contact(np.array([self.consumer]), channel=EMAIL, category=0)
        assert res.delivered.all() and not res.backlash.any()
        self.log.append(("contact", market.now))

    def _days(self, market: Market) -> Generator[Any, Any, None]:
        while True:
            k = yield market.day_closed
            self.log.append(("day_closed", k, market.now))

    def _openings(self, market: Market) -> Generator[Any, Any, None]:
        while True:
            k = yield market.interval_opened
            self.log.append(("opened", k, market.now))


def run_recorded(times: tuple[float, ...], monkeypatch: pytest.MonkeyPatch) -> tuple[Market, Log]:
    """A 3-day market of 20 consumers (one-day steps, no backlash) with a :class:`Recorder`
    contacting at ``times``.  Intervals log ``("open", k, now)``, ``("close", k, now,
    boost horizon)`` (the latest end of a persuasion window they see) and ``("settle",
    consumers, now)`` for every settlement before the close.  Returns the finished
    market and the log."""
    cfg = MarketConfig(
        n_consumers=20,
        horizon_days=3.0,
        step_days=1.0,
        creepiness=CreepinessConfig(threshold_median=1e9),
    )
    log: Log = []
    holder: list[Market] = []

    def now() -> float:
        return holder[0].now if holder else 0.0

    class LoggedInterval(Interval):
        def __init__(self, world: Any, k: int) -> None:
            log.append(("open", k, now()))
            super().__init__(world, k)

        def settle(self, idx: Any, at: float, commit: bool = True) -> None:
            if idx is not None:
                log.append(("settle", tuple(int(i) for i in idx), at))
            super().settle(idx, at, commit)

        def close(self) -> Any:
            log.append(("close", self.k, now(), self.world.horizons.boost))
            return super().close()

    monkeypatch.setattr(sim.market, "Interval", LoggedInterval)
    market = Market(cfg, seed=5)
    holder.append(market)
    consumer = int(np.flatnonzero(market.pop.reachable[:, EMAIL])[0])
    Recorder(log, times, consumer).start(market)
    return market.run(), log


def test_a_contact_at_t_follows_the_close_and_open_at_t(monkeypatch: pytest.MonkeyPatch) -> None:
    market, log = run_recorded((1.0, 1.5, 2.0), monkeypatch)
    w = market.cfg.response.window_days
    c = int(np.flatnonzero(market.pop.reachable[:, EMAIL])[0])
    assert log == [
        ("open", 0, 0.0),  # with the market
        ("close", 0, 1.0, -np.inf),  # closes [0, 1) before the contact stamped 1.0
        ("open", 1, 1.0),
        ("settle", (c,), 1.0),  # the contact settles its consumer first
        ("contact", 1.0),
        ("day_closed", 0, 1.0),  # after the contact: its timeout was due first
        ("opened", 1, 1.0),
        ("settle", (c,), 1.5),
        ("contact", 1.5),
        ("close", 1, 2.0, 1.5 + w),  # [1, 2) holds the contacts at 1.0 and 1.5, not 2.0
        ("open", 2, 2.0),
        ("settle", (c,), 2.0),
        ("contact", 2.0),
        ("day_closed", 1, 2.0),
        ("opened", 2, 2.0),
        ("close", 2, 3.0, 2.0 + w),
        ("day_closed", 2, 3.0),  # the last interval: nothing opens
    ]
    assert market.ledger.contacts.column("time").tolist() == [1.0, 1.5, 2.0]


def test_without_contacts_the_intervals_close_and_open_each_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, log = run_recorded((), monkeypatch)
    assert log == [
        ("open", 0, 0.0),
        ("close", 0, 1.0, -np.inf),
        ("open", 1, 1.0),
        ("day_closed", 0, 1.0),
        ("opened", 1, 1.0),
        ("close", 1, 2.0, -np.inf),
        ("open", 2, 2.0),
        ("day_closed", 1, 2.0),
        ("opened", 2, 2.0),
        ("close", 2, 3.0, -np.inf),
        ("day_closed", 2, 3.0),
    ]
