"""Campaign measurement: as a marketer would (random holdout) and as it truly was.

*Measured* figures compare the consumers the campaign meant to contact (any contact row
not held out; intention to treat) with the random holdout (consumers whose would-be
contacts were recorded as ``holdout``).  For an outcome y summed over the window,

    Δ̂ = (ȳ_T - ȳ_H)·n_T,   se(Δ̂) = n_T·sqrt(s²_T/n_T + s²_H/n_H).

With a tribe-randomised holdout the groups are whole tribes (every member of a tribe
kept back against every member of the others) and the standard error is cluster-robust:
the variance of ȳ_g is G/(G-1)·Σ_c (Σ_{i∈c} (y_i - ȳ_g))² / n_g² over the G tribes c of
group g (Liang & Zeger, 1986).

The ground truth (:mod:`sim.truth`) says what this estimates: with a consumer holdout,
the own contacts' effect on the treated under realised word of mouth; with a tribe
holdout, the total effect.
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


def tribe_groups(holdout: np.ndarray) -> Groups:
    """Groups of a tribe-randomised holdout: every consumer outside the held-out tribes
    against every consumer inside them (``holdout``: the per-consumer mask)."""
    return Groups(~holdout, holdout.copy())


def _mean_var(y: np.ndarray, clusters: np.ndarray | None) -> tuple[float, float]:
    """Mean of ``y`` and the variance of that mean (cluster-robust with ``clusters``)."""
    mean = float(y.mean())
    if clusters is None:
        return mean, float(y.var(ddof=1)) / y.size if y.size > 1 else 0.0
    _, inverse = np.unique(clusters, return_inverse=True)
    sums = np.bincount(inverse, y - mean)
    g = sums.size
    if g < 2:
        return mean, float("nan")
    return mean, float(g / (g - 1) * np.square(sums).sum()) / y.size**2


def diff_in_means(
    y: np.ndarray, g: Groups, clusters: np.ndarray | None = None
) -> tuple[float, float]:
    """Measured effect summed over the treated and its standard error (see module doc);
    ``clusters``: per-consumer cluster ids for a cluster-robust standard error."""
    if g.n_treated == 0:
        return 0.0, 0.0  # an empty campaign: the effect summed over nobody is exactly 0
    if g.n_holdout < 2:
        return float("nan"), float("nan")
    ct = None if clusters is None else clusters[g.treated]
    ch = None if clusters is None else clusters[g.holdout]
    mean_t, var_t = _mean_var(y[g.treated], ct)
    mean_h, var_h = _mean_var(y[g.holdout], ch)
    return (mean_t - mean_h) * g.n_treated, float(np.sqrt(var_t + var_h)) * g.n_treated


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
