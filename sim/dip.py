"""Inter-purchase dependence: a purchase satisfies part of a category's demand for a while.

When consumer i buys in category c at time τ, the weight of c in every hazard of i (the
organic purchase hazard, browsing and store visits through the demand factor, the choice
of category of a purchase or a session, the persuasion of an offer in c) is multiplied by

    g_ic(t) = 1 - d · max(0, 1 - (t - τ) / R_c)

with d = ``purchase.dip_depth`` and R_c the category's ``purchase.replenishment_days``:
the purchase brings an inventory that is used up at a constant rate over R_c days, and
the category's demand comes back as it is (the constant-consumption inventory model of
Blattberg, Eppen & Lieberman, 1981, and of Neslin, Henderson & Quelch, 1985, on purchase
acceleration).  Only the last purchase in a category counts (a new one restarts the
recovery).  The dip has compact support: the state keeps when each consumer's dips have
all recovered (``dip_until = max_c (last purchase in c + R_c)``), and only consumers
with ``dip_until`` after now cost anything (:func:`sim.response.consumer_demand`).

What it implies: a purchase made at τ removes, in expectation, ``λ_ic·d·R_c/2`` later
purchases in c (λ_ic: the consumer's hazard in c away from a dip), so a campaign that
induces a purchase moves that share of it forward in time instead of creating it.  The
share is large where consumers buy a category often relative to its replenishment time
(λR ~ 1, groceries: Van Heerde, Gupta & Wittink, 2003, find about a third of a promotion
bump is borrowed from other periods) and small where they buy it rarely (a general
retailer's customer buying a category once a year or less); the model does not hold a
competitor, so the rest of a bump is new demand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.config import MarketConfig
from sim.observe import NEVER


def replenishment(cfg: MarketConfig) -> np.ndarray:
    """Replenishment days R_c of every category (C,), float32."""
    r = np.asarray(cfg.purchase.replenishment_days, np.float32)
    return np.broadcast_to(r, (cfg.n_categories,)).copy() if r.size == 1 else r


def dip_factor(
    cfg: MarketConfig, last_bought: np.ndarray, t: float | np.ndarray
) -> np.ndarray | None:
    """``g_ic(t)`` for rows of last purchase times by category ``last_bought`` (m, C), at
    ``t`` (a scalar or one time per row); None when ``dip_depth`` is 0 (no dip)."""
    if cfg.purchase.dip_depth <= 0.0:
        return None
    t = np.asarray(t, np.float32)
    return _recovering(cfg, t[:, None] if t.ndim else t, last_bought, replenishment(cfg))


def dip_at(cfg: MarketConfig, last_bought: np.ndarray, category: Any, t: Any) -> np.ndarray | None:
    """``g_ic(t)`` of one category per consumer (``last_bought``: that category's last
    purchase time, (m,)); the same float32 operations as :func:`dip_factor`, so the same
    values.  None when ``dip_depth`` is 0."""
    if cfg.purchase.dip_depth <= 0.0:
        return None
    return _recovering(cfg, np.asarray(t, np.float32), last_bought, replenishment(cfg)[category])


def _recovering(
    cfg: MarketConfig, t: np.ndarray, last: np.ndarray, recovery: np.ndarray
) -> np.ndarray:
    """``1 - d·clip(1 - (t - last)/R, 0, 1)`` in float32, elementwise (broadcast)."""
    x = t - last
    x /= recovery
    np.subtract(np.float32(1.0), x, out=x)
    np.maximum(x, 0.0, out=x)
    np.minimum(x, 1.0, out=x)
    x *= np.float32(-cfg.purchase.dip_depth)
    x += np.float32(1.0)
    return x


class LiveDips:
    """The live dips of a population, for whole-population passes.

    An entry per last purchase in a (consumer, category) cell younger than the category's
    replenishment time, held in growable flat arrays: a *prefix* in cell order (gathers
    from the (N, C) tables then run forward through memory) and the entries added since,
    in the order of their purchases.  The whole population's demand factor at each
    interval costs a few operations per live dip instead of a pass over the (N, C) table.
    A later purchase in the same cell kills the earlier entry at once (found by binary
    search: in the prefix, and in a sorted index of the later entries); dead and recovered
    entries are dropped, and the later ones merged in cell order, every
    :data:`COMPACT_EVERY` intervals.
    """

    def __init__(self, cfg: MarketConfig, share: np.ndarray, last_bought: np.ndarray) -> None:
        self.depth = np.float32(cfg.purchase.dip_depth)
        self.recovery = replenishment(cfg)
        self.share = share
        self.n_categories = last_bought.shape[1]
        self.size = 0
        self.ordered = 0  # entries [0, ordered) are in cell order, one per cell
        self.calls = 0
        self._buffers: dict[str, np.ndarray] = {
            "flat": np.empty(0, np.int64),  # consumer·C + category
            "consumer": np.empty(0, np.int64),  # flat // C, kept (a division per entry less)
            "time": np.empty(0, np.float32),  # the purchase time, as in last_bought
            "rate": np.empty(0, np.float32),  # 1/R_c
            "weight": np.empty(0, np.float32),  # d·s_ic (0: dead)
        }
        # The cells of the entries after the prefix, sorted, and where each cell's latest
        # entry is.
        self._later_cells = np.empty(0, np.int64)
        self._later_at = np.empty(0, np.int64)
        if self.depth > 0:
            flat = np.flatnonzero(last_bought > -self.recovery)
            self._append(flat, np.take(last_bought, flat))
            self.ordered = self.size

    def __len__(self) -> int:
        return self.size

    def add(self, who: np.ndarray, cat: np.ndarray, time: np.ndarray) -> None:
        """Record purchases (one per consumer; ``time`` as stored in the (N, C) table,
        float32); an entry of the same cell still held dies."""
        if self.depth <= 0 or not who.size:
            return
        flat = who.astype(np.int64) * self.n_categories + cat
        weight = self._buffers["weight"]
        prefix = self._buffers["flat"][: self.ordered]
        if prefix.size:
            pos = np.minimum(np.searchsorted(prefix, flat), prefix.size - 1)
            weight[pos[prefix[pos] == flat]] = 0.0
        at = np.arange(self.size, self.size + flat.shape[0])
        later = self._later_cells
        if later.size:
            pos = np.minimum(np.searchsorted(later, flat), later.size - 1)
            seen = later[pos] == flat
            weight[self._later_at[pos[seen]]] = 0.0
            self._later_at[pos[seen]] = at[seen]  # the cell's latest entry is the new one
            flat_new, at_new = flat[~seen], at[~seen]
        else:
            flat_new, at_new = flat, at
        # Merge the new cells into the sorted index (a stable sort of two sorted runs, the
        # later ones being cells in consumer order as a rule, is a linear merge).
        cells = np.concatenate([later, flat_new])
        order = np.argsort(cells, kind="stable")
        self._later_cells = cells[order]
        self._later_at = np.concatenate([self._later_at, at_new])[order]
        self._append(flat, time)

    def _append(self, flat: np.ndarray, time: np.ndarray) -> None:
        m = self.size + flat.shape[0]
        buf = self._buffers
        if m > buf["flat"].shape[0]:
            cap = max(2 * m, 1024)
            for name, arr in buf.items():
                grown = np.empty(cap, arr.dtype)
                grown[: self.size] = arr[: self.size]
                buf[name] = grown
        consumer, cat = np.divmod(flat, self.n_categories)
        buf["flat"][self.size : m] = flat
        buf["consumer"][self.size : m] = consumer
        buf["time"][self.size : m] = time
        buf["rate"][self.size : m] = np.float32(1.0) / self.recovery[cat]
        buf["weight"][self.size : m] = self.depth * np.take(self.share, flat)
        self.size = m

    def _compact(self, t: float) -> None:
        """Drop dead and recovered entries; order the rest by cell."""
        n, buf = self.size, self._buffers
        age = (np.float32(t) - buf["time"][:n]) * buf["rate"][:n]
        keep = np.flatnonzero((buf["weight"][:n] > 0) & (age < 1.0))
        # A live cell has one entry, so the order is the cells'; the kept prefix is sorted
        # already and the stable sort merges the rest into it.
        keep = keep[np.argsort(buf["flat"][keep], kind="stable")]
        m = keep.shape[0]
        for arr in buf.values():
            arr[:m] = arr[keep]
        self.size = self.ordered = m
        self._later_cells = np.empty(0, np.int64)
        self._later_at = np.empty(0, np.int64)

    def loss(
        self, awareness: np.ndarray, floor: np.float32, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Consumers and the weight ``s_ic W_ic (1 - g_ic(t))`` each entry takes off their
        demand factor (W = floor + (1-floor)·awareness); a dead entry weighs nothing."""
        self.calls += 1
        if self.calls % COMPACT_EVERY == 0:
            self._compact(t)
        n, buf = self.size, self._buffers
        flat = buf["flat"][:n]
        x = np.float32(t) - buf["time"][:n]
        x *= buf["rate"][:n]  # age / R
        np.subtract(np.float32(1.0), x, out=x)  # 1 - age/R
        np.maximum(x, 0.0, out=x)
        np.minimum(x, 1.0, out=x)
        w = np.take(awareness, flat)
        w *= np.float32(1.0) - floor
        w += floor
        w *= buf["weight"][:n]
        w *= x
        return buf["consumer"][:n], w


COMPACT_EVERY = 8
"""Intervals between two compactions of :class:`LiveDips`."""


def never_bought(n: int, n_categories: int) -> np.ndarray:
    """An (n, C) table of last purchase times with no purchase (float32)."""
    return np.full((n, n_categories), np.float32(NEVER), np.float32)


def recovered_at(cfg: MarketConfig, last_bought: np.ndarray) -> np.ndarray:
    """When each consumer's dips have all recovered: ``max_c (last purchase in c + R_c)``
    over rows of ``last_bought`` (float64; far in the past without a purchase)."""
    return (last_bought + replenishment(cfg)).max(axis=1).astype(np.float64)
