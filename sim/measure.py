"""Campaign measurement: as a marketer would (random holdout) and as it truly was.

*Measured* figures compare the consumers the campaign meant to contact (any contact row
not held out; intention to treat) with the random holdout (consumers whose would-be
contacts were recorded as ``holdout``).  For an outcome y summed over the window,

    Δ̂ = (ȳ_T - ȳ_H)·n_T,   se(Δ̂) = n_T·sqrt(s²_T/n_T + s²_H/n_H).

*True* figures sum the ground truth's direct effect over the same treated consumers
(:mod:`sim.truth`); spillover through word of mouth is reported apart.
A *response* is a purchase by a contacted consumer within the response window after a
delivered contact (the marketer's usual attribution, sure things included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.ledger import ContactStatus, Ledger


@dataclass(frozen=True)
class Groups:
    """Treated (intention to treat) and holdout consumers of a campaign, as masks."""

    treated: np.ndarray
    holdout: np.ndarray

    @property
    def n_treated(self) -> int:
        return int(self.treated.sum())

    @property
    def n_holdout(self) -> int:
        return int(self.holdout.sum())


def groups(ledger: Ledger, n: int) -> Groups:
    c = ledger.contacts
    who = c.column("consumer")
    held = c.column("status") == ContactStatus.HOLDOUT
    treated = np.zeros(n, bool)
    treated[who[~held]] = True
    holdout = np.zeros(n, bool)
    holdout[who[held]] = True
    return Groups(treated & ~holdout, holdout)


def diff_in_means(y: np.ndarray, g: Groups) -> tuple[float, float]:
    """Measured total effect on the treated and its standard error (see module doc)."""
    if g.n_treated == 0:
        return 0.0, 0.0  # an empty campaign: the effect summed over nobody is exactly 0
    if g.n_holdout < 2:
        return float("nan"), float("nan")
    yt, yh = y[g.treated], y[g.holdout]
    diff = float(yt.mean() - yh.mean())
    var_t = float(yt.var(ddof=1)) if yt.size > 1 else 0.0
    se = float(np.sqrt(var_t / yt.size + yh.var(ddof=1) / yh.size))
    return diff * g.n_treated, se * g.n_treated


def response_flags(ledger: Ledger, window_days: float) -> np.ndarray:
    """For each delivered contact: did the consumer buy within ``window_days`` after it?"""
    c, p = ledger.contacts, ledger.purchases
    delivered = c.column("status") == ContactStatus.DELIVERED
    ct = c.column("time")[delivered]
    cc = c.column("consumer")[delivered].astype(np.float64)
    pt = p.column("time")
    pc = p.column("consumer").astype(np.float64)
    span = 1e6
    key_p = np.sort(pc * span + pt)
    start = np.searchsorted(key_p, cc * span + ct, side="left")
    end = np.searchsorted(key_p, cc * span + ct + window_days, side="left")
    return end > start


def channel_counts(ledger: Ledger, channels: tuple[str, ...]) -> dict[str, int]:
    c = ledger.contacts
    delivered = c.column("status") == ContactStatus.DELIVERED
    counts = np.bincount(c.column("channel")[delivered], minlength=len(channels))
    return {ch: int(v) for ch, v in zip(channels, counts, strict=True) if v}
