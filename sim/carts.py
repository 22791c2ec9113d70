"""The carts of one interval: who holds one, when it is open, when it is abandoned.

A cart is filled in a session and abandoned ``X ~ Exp(r_abandon)`` days later unless a
purchase empties it first (competing risks with the cart's purchase hazard ``r_cart``:
bought at once with probability ``r_cart/(r_cart + r_abandon)``).  A consumer holds at
most one cart: one filled while another is open replaces it, and the other's pending
abandonment lapses.  :class:`CartPlan` lays out, for the interval and the consumers who
hold or fill a cart in it, the open segments (purchase hazard) and the abandonments
(events, and the abandoners' return hazard from their time); :mod:`sim.behaviour` uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.hazard import FAR
from sim.observe import EventFeed


def locate(ids: np.ndarray, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Where the sorted ``ids`` meet ``idx``: (positions in ``idx``, positions in ``ids``).
    ``idx`` None stands for every consumer (positions in it are the ids themselves)."""
    if idx is None:
        return ids, np.arange(ids.shape[0])
    if not ids.shape[0] or not idx.shape[0]:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pos = np.minimum(np.searchsorted(ids, idx), ids.shape[0] - 1)
    rows = np.flatnonzero(ids[pos] == idx)
    return rows, pos[rows]


@dataclass(frozen=True)
class CartPlan:
    """The carts of one interval, for the consumers (``who``, sorted) who hold one at t0
    or add one in a session.  The cart open at t0 runs on [s0, e0) and, if abandoned in
    the interval, at ``a1``; the session's cart on [s1, e1), abandoned at ``a2``.  A cart
    added while one is open replaces it (its pending abandonment lapses).  Absent
    abandonments are :data:`sim.hazard.FAR`; empty segments start and end at t1."""

    who: np.ndarray
    s0: np.ndarray
    e0: np.ndarray
    s1: np.ndarray  # the session time of the new cart (t1: none)
    e1: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    cat1: np.ndarray
    cat2: np.ndarray
    has_new: np.ndarray
    final_open: np.ndarray  # without a purchase: a cart still open at t1 ...
    final_cat: np.ndarray  # ... in this category ...
    final_abandon: np.ndarray  # ... to be abandoned then
    segments: np.ndarray  # (m, 6): s0, e0, s1, e1, a1, a2 side by side (one gather for all)

    @classmethod
    def build(
        cls,
        t0: float,
        t1: float,
        old: np.ndarray,
        old_abandon: np.ndarray,
        old_cat: np.ndarray,
        new: np.ndarray,
        new_time: np.ndarray,
        new_abandon: np.ndarray,
        new_cat: np.ndarray,
    ) -> CartPlan:
        who = np.concatenate([old, new]).astype(np.int64)
        who.sort(kind="stable")  # two sorted runs: a merge (numpy's quicksort is far slower)
        if who.size:
            who = who[np.concatenate([[True], who[1:] != who[:-1]])]
        m = who.shape[0]

        at_old, at_new = np.searchsorted(who, old), np.searchsorted(who, new)

        def spread(at: np.ndarray, values: Any, fill: float, dtype: type) -> np.ndarray:
            out: np.ndarray = np.full(m, fill, dtype)
            out[at] = values
            return out

        has_old = spread(at_old, True, False, bool)
        has_new = spread(at_new, True, False, bool)
        ab_old = spread(at_old, old_abandon, FAR, np.float64)
        t_new = spread(at_new, new_time, FAR, np.float64)
        ab_new = spread(at_new, new_abandon, FAR, np.float64)
        c_old = spread(at_old, old_cat, 0, np.int16)
        c_new = spread(at_new, new_cat, 0, np.int16)
        e0 = np.minimum(np.minimum(ab_old, t_new), t1)
        segments = np.stack(
            [
                np.where(has_old, t0, t1),
                np.where(has_old, e0, t1),
                np.where(has_new, t_new, t1),
                np.where(has_new, np.minimum(ab_new, t1), t1),
                np.where(has_old & (ab_old < t_new) & (ab_old < t1), ab_old, FAR),
                np.where(has_new & (ab_new < t1), ab_new, FAR),
            ],
            axis=1,
        )
        return cls(
            who=who,
            s0=segments[:, 0],
            e0=segments[:, 1],
            s1=segments[:, 2],
            e1=segments[:, 3],
            a1=segments[:, 4],
            a2=segments[:, 5],
            cat1=c_old,
            cat2=c_new,
            has_new=has_new,
            final_open=np.where(has_new, ab_new, ab_old) >= t1,
            final_cat=np.where(has_new, c_new, c_old),
            final_abandon=np.where(has_new, ab_new, ab_old),
            segments=segments,
        )

    def feed(self, t0: float) -> EventFeed:
        """The interval's abandonments: a cart open at t0 stands if nothing is bought from
        t0 on, a session's cart if nothing is bought after it was filled."""
        one, two = self.a1 < FAR, self.a2 < FAR
        return EventFeed(
            np.concatenate([self.who[one], self.who[two]]).astype(np.int32),
            np.concatenate([self.a1[one], self.a2[two]]),
            np.concatenate([self.cat1[one], self.cat2[two]]),
            np.concatenate([np.full(int(one.sum()), t0), self.s1[two]]),
        )
