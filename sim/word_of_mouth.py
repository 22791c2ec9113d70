"""Word of mouth inside tribes: purchases spread awareness, backlash spreads distrust.

Each step the tribe's signal is the number of purchases per member in each category,
``q_tc``, and the number of backlash events per member, ``b_t``.  In the spirit of
Bass (1969), awareness of tribe-mates moves towards 1 in proportion to the imitation
signal, while it decays towards a floor without reinforcement:

    aw_ic ← aw_ic + β q_{t(i)c} (1 - aw_ic) - δ Δt (aw_ic - aw_floor)
    A_i  ← A_i · 2^{-Δt/h_A} - γ b_{t(i)}

(β = ``awareness.wom_gain``, γ = ``awareness.distrust_gain``).  Because the signal is
a per-tribe array, the ground truth can *freeze* it: replaying a campaign with the
signals of the no-campaign world isolates the campaign's direct effect from its
spillover through word of mouth (see :mod:`sim.truth`).  Consumers are stored tribe by
tribe, so the update runs over contiguous slices (one numpy call per tribe, never a
loop over consumers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import MarketConfig
from sim.population import Population
from sim.state import MarketState


@dataclass(frozen=True)
class TribeSignal:
    """Per-step word-of-mouth signal: purchases (T, C) and backlash events (T,) per member."""

    purchases: np.ndarray
    backlash: np.ndarray


def tribe_signal(
    pop: Population, buyers: np.ndarray, categories: np.ndarray, backlash_count: np.ndarray
) -> TribeSignal:
    """Signal from this step's buyers (indices and categories) and backlash counts per tribe."""
    t, c = pop.n_tribes, pop.n_categories
    key = pop.tribe[buyers].astype(np.int64) * c + categories
    counts = np.bincount(key, minlength=t * c).reshape(t, c).astype(np.float64)
    size = np.maximum(pop.tribe_sizes, 1).astype(np.float64)
    return TribeSignal(counts / size[:, None], backlash_count / size)


def spread(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    signal: TribeSignal,
    dt: float,
    slices: list[slice],
    attitude_moved: bool = True,
) -> bool:
    """Apply one step of word of mouth, awareness decay and attitude mean reversion.

    ``attitude_moved`` False says every attitude is still exactly 0 (its decay is then
    skipped); returns whether any attitude has moved after the step."""
    aw = cfg.awareness
    delta = aw.decay * dt
    gain = np.clip(aw.wom_gain * signal.purchases, 0.0, 1.0 - delta)
    coef = (1.0 - gain - delta).astype(np.float32)
    add = (gain + delta * aw.floor).astype(np.float32)
    distrust = (aw.distrust_gain * signal.backlash).astype(np.float32)
    if attitude_moved:
        st.attitude *= np.float32(np.exp2(-dt / cfg.response.attitude_half_life_days))
    coef_tiles = np.tile(coef, (1, TILE_ROWS))  # each tribe's row tiled once, for all
    add_tiles = np.tile(add, (1, TILE_ROWS))
    for t, sl in enumerate(slices):
        affine_rows(st.awareness[sl], coef[t], add[t], (coef_tiles[t], add_tiles[t]))
        if distrust[t]:
            st.attitude[sl] -= distrust[t]
            attitude_moved = True
    return attitude_moved


TILE_ROWS = 512
"""Rows per tile in :func:`affine_rows` (the tiled coefficients stay in L1 cache)."""


def affine_rows(
    block: np.ndarray,
    coef: np.ndarray,
    add: np.ndarray,
    tiled: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """``block[i, c] = block[i, c] * coef[c] + add[c]`` in place, for a C-contiguous (m, C) block.

    Broadcasting a (C,) vector over rows runs numpy's inner loop C elements at a time;
    viewing the block as rows of ``TILE_ROWS * C`` values against the coefficients tiled
    as often gives long inner loops.  Same float32 operations, so the same results.
    ``tiled``: ``coef`` and ``add`` tiled so already.
    """
    m, c = block.shape
    q = m // TILE_ROWS if block.flags.c_contiguous else 0  # reshape must be a view
    if q:
        main = block[: q * TILE_ROWS].reshape(q, TILE_ROWS * c)
        coef_tile, add_tile = tiled or (np.tile(coef, TILE_ROWS), np.tile(add, TILE_ROWS))
        main *= coef_tile
        main += add_tile
    rest = block[q * TILE_ROWS :]
    rest *= coef
    rest += add
