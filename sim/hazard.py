"""A consumer's purchase hazard within one interval: its exact integral and its inverse.

Within an interval every term of the hazard is known at any time it is needed (see
:mod:`sim.behaviour`): the organic rate ``h`` (constant between contacts), the open cart
(``r_cart`` on at most two segments), the abandoners' return (``r_ret·w·e^{-(t - t_w)/m}``
from carts abandoned before the interval, plus ``r_ret·e^{-(t - A_j)/m}`` from each cart
abandoned at ``A_j`` inside it), a backlash penalty window and a persuasion window:

    h(t) = (1 - π·1[p_s ≤ t < p_e])·(h + r_cart·1_cart(t) + r_ret·R(t)) + a·1[b_s ≤ t < b_e]

:meth:`Terms.total` integrates it exactly over any [lo, hi); :meth:`Terms.invert` finds the
time τ at which the cumulative hazard reaches a consumer's exponential threshold
``E = -log(1 - u)``: between consecutive breakpoints (segment ends, abandonment times,
window ends) the hazard is ``c + K·e^{-(t - p)/m}``, whose integral is inverted by Newton's
method from below (the integral is concave, so the iterates rise monotonically to the
root).  Times are float64 days.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

FAR = 1e18
"""A time after any run: an absent abandonment (finite, so that ``FAR - FAR`` is 0)."""
NEWTON_STEPS = 30


def covered(start: np.ndarray, end: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """Length of [lo, hi) covered by [start, end), elementwise (float64)."""
    x = np.minimum(end, hi) - np.maximum(start, lo)
    return np.maximum(x, 0.0, out=x)


def decayed(anchor: np.ndarray, lo: Any, hi: Any, memory: float) -> np.ndarray:
    """``∫_{[lo,hi) ∩ [A,∞)} e^{-(t - A)/m} dt`` for anchors ``A`` (elementwise)."""
    a = np.maximum(lo, anchor)
    b = np.maximum(hi, anchor)
    out = np.exp((anchor - a) / memory) - np.exp((anchor - b) / memory)
    out *= memory
    return out


@dataclass
class Terms:
    """The hazard terms of m consumers (aligned float64 arrays) and the shared rates."""

    h: np.ndarray  # organic rate
    ret_w: np.ndarray  # return weight before the interval (0: none) ...
    ret_t: np.ndarray  # ... at this reference time (before the interval)
    s0: np.ndarray  # cart segments [s0, e0) and [s1, e1) (empty: s = e)
    e0: np.ndarray
    s1: np.ndarray
    e1: np.ndarray
    a1: np.ndarray  # carts abandoned inside the interval (FAR: none)
    a2: np.ndarray
    ps: np.ndarray  # backlash penalty window
    pe: np.ndarray
    level: np.ndarray  # persuasion hazard of the window [bs, be)
    bs: np.ndarray
    be: np.ndarray
    r_cart: float
    r_ret: float
    memory: float
    penalty: float

    def take(self, rows: np.ndarray) -> Terms:
        """The terms of the consumers at ``rows``."""
        return self._with({name: getattr(self, name)[rows] for name in _ARRAYS})

    def _with(self, arrays: dict[str, np.ndarray]) -> Terms:
        return Terms(
            **arrays,
            r_cart=self.r_cart,
            r_ret=self.r_ret,
            memory=self.memory,
            penalty=self.penalty,
        )

    def breakpoints(self) -> np.ndarray:
        """(m, 10): every time at which a term switches on or off."""
        cuts = (self.s0, self.e0, self.s1, self.e1, self.a1, self.a2, self.ps, self.pe)
        return np.stack([*cuts, self.bs, self.be], axis=1)

    def column(self) -> Terms:
        """The same terms as (m, 1) columns, to evaluate at (m, k) points by broadcasting."""
        return self._with({name: getattr(self, name)[:, None] for name in _ARRAYS})

    def base(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``∫_lo^hi h + r_cart·1_cart + r_ret·R`` (no penalty, no persuasion); hi ≥ lo."""
        m = self.memory
        out = self.h * (hi - lo)
        out += self.r_cart * (covered(self.s0, self.e0, lo, hi) + covered(self.s1, self.e1, lo, hi))
        ret = self.ret_w * (np.exp((self.ret_t - lo) / m) - np.exp((self.ret_t - hi) / m)) * m
        ret += decayed(self.a1, lo, hi, m)
        ret += decayed(self.a2, lo, hi, m)
        out += self.r_ret * ret
        return out

    def total(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``∫_lo^hi h(t) dt`` with the penalty and the persuasion window; hi ≥ lo."""
        out = self.base(lo, hi)
        if self.penalty and np.any(self.pe > np.min(lo)):
            p_lo = np.maximum(lo, self.ps)
            p_hi = np.maximum(np.minimum(hi, self.pe), p_lo)
            out -= self.penalty * self.base(p_lo, p_hi)
        out += self.level * covered(self.bs, self.be, lo, hi)
        return out

    def invert(self, a: np.ndarray, cum: np.ndarray, e: np.ndarray, b: float) -> np.ndarray:
        """The time τ in [a, b) at which ``cum + ∫_a^τ h = e`` (given ``cum + ∫_a^b h ≥ e``;
        b: the interval's end, so that τ does not depend on how far it was settled)."""
        if a.shape[0] == 0:
            return np.empty(0)
        p, q, rest = self.locate(a, cum, e, b)
        c, big_k = self.piece(p, q)
        tau = p + solve(c, big_k, self.memory, rest, q - p)
        return np.minimum(tau, np.nextafter(b, -np.inf))

    def locate(
        self, a: np.ndarray, cum: np.ndarray, e: np.ndarray, b: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The piece [p, q) between breakpoints in which :meth:`invert`'s τ lies, and the
        hazard ``rest`` left to integrate from p (non-empty arrays)."""
        n = a.shape[0]
        cut = np.minimum(np.maximum(self.breakpoints(), a[:, None]), b)
        points = np.concatenate([a[:, None], np.sort(cut, axis=1), np.full((n, 1), b)], axis=1)
        k = points.shape[1]
        reached = cum[:, None] + self.column().total(a[:, None], points)
        rows = np.arange(n)
        j = np.argmax(reached >= e[:, None], axis=1)
        j = np.where(reached[rows, j] >= e, j, k - 1)  # none (rounding): the last piece
        j = np.maximum(j, 1)
        p, q = points[rows, j - 1], points[rows, j]
        rest = np.maximum(e - reached[rows, j - 1], 0.0)
        return p, q, rest

    def piece(self, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hazard on [p, q) (no breakpoint inside) as ``c + K·e^{-(t - p)/m}``."""
        mid = 0.5 * (p + q)

        def on(start: np.ndarray, end: np.ndarray) -> np.ndarray:
            return ((start <= mid) & (mid < end)).astype(np.float64)

        kept = 1.0 - self.penalty * on(self.ps, self.pe)
        c = kept * (self.h + self.r_cart * (on(self.s0, self.e0) + on(self.s1, self.e1)))
        c += self.level * on(self.bs, self.be)
        m = self.memory
        ret = self.ret_w * np.exp((self.ret_t - p) / m)
        for anchor in (self.a1, self.a2):  # an anchor is a breakpoint: at or before p if on
            ret += np.where(anchor <= mid, np.exp((np.minimum(anchor, p) - p) / m), 0.0)
        return c, kept * self.r_ret * ret


_ARRAYS = tuple(f.name for f in fields(Terms) if f.type == "np.ndarray")


def solve(
    c: np.ndarray, k: np.ndarray, m: float, rest: np.ndarray, width: np.ndarray
) -> np.ndarray:
    """x in [0, width] with ``c·x + K·m·(1 - e^{-x/m}) = rest`` (c, K ≥ 0), by Newton's
    method from ``rest/(c + K)``, a lower bound of the root (the left side is concave)."""
    slope0 = c + k
    safe = np.where(slope0 > 0, slope0, 1.0)
    x = np.where(slope0 > 0, rest / safe, 0.0)
    todo = np.flatnonzero(k > 0)  # a constant hazard is inverted exactly already
    # The terms of the roots still moving, compacted only when some have converged.
    xt, ct, kt, rt = x[todo], c[todo], k[todo], rest[todo]
    for _ in range(NEWTON_STEPS):
        if not todo.size:
            break
        decay = np.exp(-xt / m)
        f = ct * xt + kt * m * (1.0 - decay) - rt
        slope = ct + kt * decay
        step = -f / np.where(slope > 0, slope, 1.0)
        moved = xt + step
        x[todo] = moved
        going = np.abs(step) > 1e-12 * (1.0 + np.abs(xt))
        if not going.all():
            todo, moved, ct, kt, rt = todo[going], moved[going], ct[going], kt[going], rt[going]
        xt = moved
    return np.minimum(np.maximum(x, 0.0), width)


def band_time(
    active_hour: np.ndarray, t0: float, t1: float, u: np.ndarray, width_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """Times of day-rhythm events inside [t0, t1), and each consumer's exposure.

    A consumer's events (sessions, pings) happen in the band of ``width_hours`` centred on
    the active hour, every day, uniformly inside it: intensity ``φ(t) = 24/width`` in the
    band and 0 outside (one day's exposure ``∫φ`` is 1).  Returns the exposure of
    [t0, t1) (``∫φ`` in days: Δ for whole days) and the event time for uniforms ``u``
    (uniform over the band's part of the interval).  For one-day steps the time is
    ``t0 + (active_hour - width/2 + width·u mod 24)/24``.
    """
    w = width_hours / 24.0
    start = np.mod((active_hour.astype(np.float64) - width_hours / 2.0) / 24.0, 1.0)

    def band_before(t: float) -> np.ndarray:
        x = t - start
        whole = np.floor(x)
        return whole * w + np.minimum(x - whole, w)

    lo = band_before(t0)
    mass = band_before(t1) - lo
    target = lo + u.astype(np.float64) * mass
    whole = np.floor(target / w)
    when = start + whole + (target - whole * w)
    return mass / w, np.minimum(np.maximum(when, t0), np.nextafter(t1, -np.inf))
