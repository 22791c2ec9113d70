"""Paired comparisons over seeds, and how many seeds a verdict needs.

Strategies run on the same market and seed share every random number but the campaign's
own (common random numbers), so their difference on one seed is far less noisy than either
figure.  For contenders A and B over seeds s = 1..S, ``d_s = y_A(s) - y_B(s)``; the verdict
is read from the t-interval of the mean difference:

    d̄ ± t_{0.975, S-1} · sd(d) / √S

"A beats B" when the interval lies above 0, "B beats A" below 0, "no clear winner" when it
contains 0.  :func:`seeds_needed` is the power calculation: the number of seeds for which a
true mean difference δ (estimated from pilot runs) is detected with the stated power by a
two-sided test at level α, ``S ≥ ((z_{1-α/2} + z_{power}) · σ_d / δ)²`` (normal
approximation, rounded up, at least 3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

NO_CLEAR_WINNER = "no clear winner"


@dataclass(frozen=True)
class Paired:
    """The paired difference of two contenders over seeds (``a`` minus ``b``)."""

    a: str
    b: str
    n_seeds: int
    mean: float
    se: float
    lo: float
    hi: float

    @property
    def verdict(self) -> str:
        if self.n_seeds < 2 or not math.isfinite(self.se):
            return NO_CLEAR_WINNER
        if self.lo > 0:
            return f"{self.a} beats {self.b}"
        if self.hi < 0:
            return f"{self.b} beats {self.a}"
        return NO_CLEAR_WINNER

    @property
    def resolved(self) -> bool:
        return self.verdict != NO_CLEAR_WINNER


def paired(a: str, b: str, ya: ArrayLike, yb: ArrayLike, level: float = 0.95) -> Paired:
    """Mean difference ``ya - yb`` over matching seeds with its ``level`` t-interval."""
    xa, xb = np.asarray(ya, float), np.asarray(yb, float)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise ValueError("paired: the two contenders need one value per seed, same seeds")
    d = xa - xb
    n = int(d.shape[0])
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return Paired(a, b, n, mean, float("nan"), float("nan"), float("nan"))
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return Paired(a, b, n, mean, se, mean - half, mean + half)


def winner(values: Mapping[str, ArrayLike], level: float = 0.95) -> tuple[str, Paired | None]:
    """The contender with the highest mean, and its paired comparison with the runner-up.

    The winner is *clear* only if that comparison (the closest one) is resolved; a caller
    should report :data:`NO_CLEAR_WINNER` otherwise.
    """
    means = {k: float(np.mean(np.asarray(v, float))) for k, v in values.items()}
    order = sorted(means, key=lambda k: -means[k])
    if len(order) < 2:
        return order[0], None
    best, second = order[0], order[1]
    return best, paired(best, second, values[best], values[second], level)


def seeds_needed(sd_diff: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds to detect a mean paired difference ``delta`` with standard deviation
    ``sd_diff`` per seed (two-sided level ``alpha``, ``power``); at least 3."""
    if delta == 0 or not math.isfinite(delta):
        return 10**6
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return max(3, math.ceil((z * sd_diff / abs(delta)) ** 2))
