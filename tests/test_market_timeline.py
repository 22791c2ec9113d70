"""The market's exact event timeline (SimPy): the organic step that closes the interval
[t - Δ, t) runs at t before any contact stamped t, so a contact at t belongs to the next
interval; strategies waiting on ``day_closed`` wake after the step and after the
contacts already due at t."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest

import sim.market
from sim.behaviour import StepEvents
from sim.config import CHANNELS, CreepinessConfig, MarketConfig
from sim.market import Market

EMAIL = CHANNELS.index("email")
Log = list[tuple[Any, ...]]


class Recorder:
    """A strategy that contacts ``consumer`` by e-mail at each of ``times`` and logs each
    contact, and logs every ``day_closed`` it wakes on.  Every contact is planned at time
    0, so its timeout is scheduled before the organic step's of the same time."""

    name = "recorder"

    def __init__(self, log: Log, times: tuple[float, ...], consumer: int) -> None:
        self.log, self.times, self.consumer = log, times, consumer

    def start(self, market: Market) -> None:
        for t in self.times:
            market.env.process(self._contact_at(market, t))
        market.env.process(self._days(market))

    def _contact_at(self, market: Market, t: float) -> Generator[Any, Any, None]:
        yield market.env.timeout(t)
        res = market.contact(np.array([self.consumer]), channel=EMAIL, category=0)
        assert res.delivered.all() and not res.backlash.any()
        self.log.append(("contact", market.now))

    def _days(self, market: Market) -> Generator[Any, Any, None]:
        while True:
            k = yield market.day_closed
            self.log.append(("day_closed", k, market.now))


def run_recorded(times: tuple[float, ...], monkeypatch: pytest.MonkeyPatch) -> tuple[Market, Log]:
    """A 3-day market of 20 consumers (one-day steps, no backlash) with a :class:`Recorder`
    contacting at ``times``; its organic step logs ``("step", k, now, boost horizon)``, the
    latest end of a persuasion window it sees.  Returns the finished market and the log."""
    cfg = MarketConfig(
        n_consumers=20,
        horizon_days=3.0,
        step_days=1.0,
        creepiness=CreepinessConfig(threshold_median=1e9),
    )
    market = Market(cfg, seed=5)
    log: Log = []
    step = sim.market.organic_step

    def recording_step(*args: Any) -> StepEvents:
        log.append(("step", args[-1], market.now, market.horizons.boost))
        return step(*args)

    monkeypatch.setattr(sim.market, "organic_step", recording_step)
    consumer = int(np.flatnonzero(market.pop.reachable[:, EMAIL])[0])
    Recorder(log, times, consumer).start(market)
    return market.run(), log


def test_a_step_at_t_runs_before_any_contact_stamped_t(monkeypatch: pytest.MonkeyPatch) -> None:
    market, log = run_recorded((1.0, 1.5, 2.0), monkeypatch)
    w = market.cfg.response.window_days
    assert log == [
        ("step", 0, 1.0, -np.inf),  # closes [0, 1) before the contact stamped 1.0
        ("contact", 1.0),
        ("day_closed", 0, 1.0),  # after the contact: its timeout was due first
        ("contact", 1.5),
        ("step", 1, 2.0, 1.5 + w),  # [1, 2) holds the contacts at 1.0 and 1.5, not 2.0
        ("contact", 2.0),
        ("day_closed", 1, 2.0),
        ("step", 2, 3.0, 2.0 + w),
        ("day_closed", 2, 3.0),
    ]
    assert market.ledger.contacts.column("time").tolist() == [1.0, 1.5, 2.0]


def test_without_contacts_the_steps_close_each_day(monkeypatch: pytest.MonkeyPatch) -> None:
    _, log = run_recorded((), monkeypatch)
    assert log == [
        ("step", 0, 1.0, -np.inf),
        ("day_closed", 0, 1.0),
        ("step", 1, 2.0, -np.inf),
        ("day_closed", 1, 2.0),
        ("step", 2, 3.0, -np.inf),
        ("day_closed", 2, 3.0),
    ]
