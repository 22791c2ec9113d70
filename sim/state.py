"""Mutable market state: a struct of arrays with a leading consumer axis.

Times are in days (float64).  Fatigue decays lazily: it is stored with the time it was
last updated and decayed to ``now`` when read (``F(now) = F·2^{-(now-t_F)/h}``), so a
consumer who is never contacted costs nothing per step and has zero fatigue.  The
abandoners' return hazard is stored the same way: a weight at a reference time
(``return_weight`` at ``last_abandon``) that decays as ``e^{-(now - t)/m}``; each abandoned
cart adds 1 at its time and a purchase sets it to 0 (the abandoner came back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import CHANNELS, MarketConfig
from sim.dip import never_bought
from sim.observe import NEVER
from sim.population import Population


@dataclass
class MarketState:
    awareness: np.ndarray  # (N, C) float32 in [0, 1]
    attitude: np.ndarray  # (N,) float32, 0 = neutral
    fatigue: np.ndarray  # (N,) float32 at fatigue_time
    fatigue_time: np.ndarray  # (N,) float64
    opted_out: np.ndarray  # (N, K) bool
    lifecycle: np.ndarray  # (N,) int8
    first_purchase: np.ndarray  # (N,) float64 (negative: before the run)
    last_purchase: np.ndarray  # (N,) float64
    last_bought: np.ndarray  # (N, C) float32 last purchase time in each category
    dip_until: np.ndarray  # (N,) float64 when every category's dip has recovered
    cart_open: np.ndarray  # (N,) bool
    cart_category: np.ndarray  # (N,) int16
    cart_abandon_at: np.ndarray  # (N,) float64 when the open cart will be abandoned
    last_abandon: np.ndarray  # (N,) float64 reference time of return_weight
    return_weight: np.ndarray  # (N,) float32 abandoned carts still drawing the consumer back
    boost: np.ndarray  # (N,) float32 persuasion hazard (purchases/day)
    boost_start: np.ndarray  # (N,) float64
    boost_end: np.ndarray  # (N,) float64
    boost_category: np.ndarray  # (N,) int16, -1 = any
    boost_contact: np.ndarray  # (N,) int64
    penalty_end: np.ndarray  # (N,) float64 end of a backlash window
    penalty_start: np.ndarray  # (N,) float64
    offer_discount: np.ndarray  # (N,) float32
    offer_start: np.ndarray  # (N,) float64
    offer_end: np.ndarray  # (N,) float64
    offer_contact: np.ndarray  # (N,) int64
    step_contacts: np.ndarray  # (N,) uint8 contacts within the current step
    step_stamp: np.ndarray  # (N,) int32 step the counter refers to
    # Daily event clocks (sim.behaviour): what is left of each consumer's draw of the day
    # for an event of each kind once the day's exposure so far is used up (inf: the event
    # has happened today).
    purchase_clock: np.ndarray  # (N,) float32
    session_clock: np.ndarray  # (N,) float32
    visit_clock: np.ndarray  # (N,) float32
    lapse_clock: np.ndarray  # (N,) float32

    @classmethod
    def initial(cls, pop: Population, cfg: MarketConfig) -> MarketState:
        n = pop.n
        never = np.full(n, NEVER)
        return cls(
            awareness=pop.initial_awareness.copy(),
            attitude=np.zeros(n, np.float32),
            fatigue=np.zeros(n, np.float32),
            fatigue_time=np.zeros(n),
            opted_out=np.zeros((n, len(CHANNELS)), bool),
            lifecycle=pop.initial_lifecycle.copy(),
            first_purchase=-pop.initial_tenure.astype(np.float64),
            last_purchase=never.copy(),
            last_bought=never_bought(n, pop.n_categories),
            dip_until=never.copy(),
            cart_open=np.zeros(n, bool),
            cart_category=np.zeros(n, np.int16),
            cart_abandon_at=never.copy(),
            last_abandon=never.copy(),
            return_weight=np.zeros(n, np.float32),
            boost=np.zeros(n, np.float32),
            boost_start=never.copy(),
            boost_end=never.copy(),
            boost_category=np.full(n, -1, np.int16),
            boost_contact=np.full(n, -1, np.int64),
            penalty_end=never.copy(),
            penalty_start=never.copy(),
            offer_discount=np.zeros(n, np.float32),
            offer_start=never.copy(),
            offer_end=never.copy(),
            offer_contact=np.full(n, -1, np.int64),
            step_contacts=np.zeros(n, np.uint8),
            step_stamp=np.full(n, -1, np.int32),
            **{f"{kind}_clock": np.zeros(n, np.float32) for kind in CLOCKS},
        )

    def fatigue_at(self, idx: np.ndarray, now: float | np.ndarray, half_life: float) -> np.ndarray:
        """Fatigue of consumers ``idx`` decayed to ``now``."""
        x = now - self.fatigue_time[idx]  # age, then its decay factor, in place
        np.negative(x, out=x)
        x /= half_life
        np.exp2(x, out=x)
        x *= self.fatigue[idx]
        return x.astype(np.float32)

    def close_awareness_gap(self, rows: np.ndarray, gain: np.ndarray | np.float32) -> None:
        """``awareness[rows] += gain[:, None] * (1 - awareness[rows])`` for unique ``rows``.

        A large batch (a mass wave) is applied to the whole array in row chunks with a
        gain of zero elsewhere (``aw + 0·(1 - aw)`` is ``aw`` exactly), which avoids
        gathering and scattering (m, C) rows; a small one gathers with ``np.take``.
        Either way the float32 operations, and so the results, are those of the formula.
        """
        aw = self.awareness
        n, c = aw.shape
        gain = np.asarray(gain, np.float32)
        if rows.shape[0] * 4 < n or not aw.flags.c_contiguous:
            x = np.take(aw, rows, axis=0)
            y = np.subtract(np.float32(1.0), x)
            y *= gain[:, None] if gain.ndim else gain
            x += y
            aw[rows] = x
            return
        g = np.zeros(n, np.float32)
        g[rows] = gain
        chunk = GAP_CHUNK_ROWS
        buf = np.empty(min(n, chunk) * c, np.float32)
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            gc = g[a:b]
            if not gc.any():
                continue
            block = aw[a:b].reshape(-1)  # a view: aw is C-contiguous
            y = np.subtract(np.float32(1.0), block, out=buf[: block.shape[0]])
            y *= np.repeat(gc, c)
            block += y


@dataclass
class Horizons:
    """The latest end of any persuasion window (``boost``) and of any backlash penalty
    (``penalty``) opened so far.  A step that starts after one skips that term: its
    overlap with the step is zero for every consumer.  ``attitude``: whether any
    attitude has left neutral (0) yet; until then its factor e^{κA} is 1 everywhere."""

    boost: float = -np.inf
    penalty: float = -np.inf
    attitude: bool = False


CLOCKS = ("purchase", "session", "visit", "lapse")
"""The kinds of organic event with a daily clock in :class:`MarketState` (wound up at the
start of each day by :class:`sim.behaviour.Interval`)."""

GAP_CHUNK_ROWS = 16384
"""Rows per chunk of :meth:`MarketState.close_awareness_gap` (a chunk stays in cache)."""


def overlap(start: np.ndarray, end: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Share of the interval [t0, t1) covered by [start, end), elementwise (float32)."""
    lo = np.maximum(start, t0)
    hi = np.minimum(end, t1)
    hi -= lo
    np.maximum(hi, 0.0, out=hi)
    if t1 - t0 != 1.0:  # x / 1 is x
        hi /= t1 - t0
    return hi.astype(np.float32)
