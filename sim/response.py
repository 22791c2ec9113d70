"""Response to a contact: persuasion, intrusiveness and backlash.

A delivered contact to consumer i on channel k, for category c (or a generic message),
with discount d and personalisation depth p, at hour h, adds for ``window_days`` a
persuasion hazard (purchases per day) to the consumer's organic purchase hazard:

    a_i = lift_k · R_ic · 2π_ik · T_ik(h) · W_ic · e^{-φ F_i} · e^{κ A_i} · (1 + δ_i d)
          · (1 + g p) · L_{stage(i)}

* ``R_ic = C·s_ic``: relevance of the offer to the consumer's latent tastes (1 for a
  generic message), the core of the one-to-one argument (Peppers & Rogers, 1993);
* ``π_ik``: channel preference ("reply by SMS, not Twitter");
* ``T_ik(h) = 1 - w_k + w_k exp(-Δh²/2σ²)``: timing fit to the consumer's active hour;
* ``W_ic = w_0 + (1-w_0)·aw_ic``: awareness (funnel), so mass contact that builds
  awareness raises what later targeted contacts can convert;
* fatigue ``F`` (each contact adds its channel's intimacy ι_k, decaying with a
  half-life) and attitude ``A``; discount sensitivity ``δ_i``; depth gain ``g``;
  lifecycle multiplier ``L`` (new and lapsed customers differ).

Intrusiveness follows the personalisation-privacy paradox literature (Aguirre et al.,
2015; van Doorn & Hoekstra, 2013; De Keyzer et al., 2022): it grows with depth, with the
sensitivity of the data used, with the intimacy of the channel and with frequency,

    I = ι_k · (I_0 + p · max_{kinds used} σ_kind) · (1 + f F_i),

and a backlash happens with probability ``expit((log I - log θ_i) / s)`` where θ_i is the
consumer's creepiness threshold.  A backlash replaces persuasion by a purchase-hazard
penalty (a *sleeping dog*, Radcliffe & Surry, 2011), lowers attitude, may opt the
consumer out of the channel, and is spread as distrust in the tribe
(:mod:`sim.word_of_mouth`).

The expected uplift of a contact on conversion within the window is available in closed
form (:func:`expected_uplift`) for constant hazards; the realised, exact effect comes from
the twin-world replay (:mod:`sim.truth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from sim.config import CHANNELS, DATA_KINDS, MarketConfig
from sim.population import Population
from sim.state import MarketState

KIND_BITS = {kind: 1 << i for i, kind in enumerate(DATA_KINDS)}


def kinds_mask(kinds: tuple[str, ...] | list[str]) -> int:
    """Bit mask of data kinds (implicit=1, explicit=2, ambient=4)."""
    mask = 0
    for k in kinds:
        if k not in KIND_BITS:
            raise ValueError(f"unknown data kind {k!r}; valid choices: {', '.join(DATA_KINDS)}")
        mask |= KIND_BITS[k]
    return mask


@dataclass(frozen=True)
class ChannelArrays:
    """Per-channel constants as arrays indexed by channel code."""

    lift: np.ndarray
    intimacy: np.ndarray
    awareness_gain: np.ndarray
    timing_weight: np.ndarray

    @classmethod
    def from_config(cls, cfg: MarketConfig) -> ChannelArrays:
        def arr(attr: str) -> np.ndarray:
            return np.array([getattr(cfg.channels[c], attr) for c in CHANNELS], np.float32)

        return cls(arr("lift"), arr("intimacy"), arr("awareness_gain"), arr("timing_weight"))


def kinds_sensitivity(cfg: MarketConfig, kinds: np.ndarray) -> np.ndarray:
    """Largest sensitivity among the data kinds set in each bit mask (0 if none)."""
    out = np.zeros(kinds.shape, np.float32)
    for kind, bit in KIND_BITS.items():
        sens = np.float32(cfg.consent.sensitivity[kind])
        out = np.where((kinds & bit) != 0, np.maximum(out, sens), out)
    return out


def demand_factor(cfg: MarketConfig, share: np.ndarray, awareness: np.ndarray) -> np.ndarray:
    """``w_0 + (1-w_0)·Σ_c s_ic aw_ic``: how much of a consumer's demand is awake."""
    floor = np.float32(cfg.response.awareness_floor)
    d = np.einsum("ij,ij->i", share, awareness, dtype=np.float32)
    d *= 1.0 - floor
    d += floor
    return d


def organic_hazard(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    idx: np.ndarray | slice,
    now: float | np.ndarray,
    demand: np.ndarray | None = None,
    attitude_factor: np.ndarray | None = None,
) -> np.ndarray:
    """Organic purchase hazard (per day) without any campaign effect, at time ``now``.

    ``h0 = r_i · M_stage · D_i · e^{κ A_i} + cart_i · r_cart + r_ret · e^{-(now - t_abandon)/m}``

    ``demand`` (D_i) and ``attitude_factor`` (e^{κ A_i}) may be passed when the caller has
    them for the same consumers already.
    """
    b = cfg.behaviour
    lc_mult = np.asarray(cfg.lifecycle.rate_multiplier, np.float32)
    if demand is None:
        demand = demand_factor(cfg, pop.share[idx], st.awareness[idx])
    h = pop.base_rate[idx] * np.take(lc_mult, st.lifecycle[idx]) * demand
    if attitude_factor is None:
        attitude_factor = np.exp(np.float32(cfg.response.attitude_effect) * st.attitude[idx])
    h *= attitude_factor
    h += st.cart_open[idx] * np.float32(b.cart_purchase_rate)
    # Abandoners' return hazard, evaluated only where it is not yet negligible (e^-50).
    last = st.last_abandon[idx]
    recent = np.flatnonzero(last > np.min(now) - 50.0 * b.abandoner_memory_days)
    if recent.size:
        x = (now if np.ndim(now) == 0 else np.asarray(now)[recent]) - last[recent]  # since
        np.negative(x, out=x)
        x /= b.abandoner_memory_days
        np.exp(x, out=x)
        x *= b.abandoner_return_rate
        h[recent] += x.astype(np.float32)
    return h.astype(np.float32, copy=False)


def timing_fit(
    cfg: MarketConfig,
    chan: ChannelArrays,
    channel: np.ndarray,
    active_hour: np.ndarray,
    now: float | np.ndarray,
) -> np.ndarray:
    hour = (np.asarray(now) % 1.0) * 24.0
    d = np.abs(active_hour - hour.astype(np.float32))
    d = np.minimum(d, 24.0 - d)
    w = chan.timing_weight[channel]
    sd = np.float32(cfg.response.timing_sd_hours)
    return (1.0 - w + w * np.exp(-0.5 * (d / sd) ** 2)).astype(np.float32)


def persuasion(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    chan: ChannelArrays,
    idx: np.ndarray,
    channel: np.ndarray,
    category: np.ndarray,
    discount: np.ndarray,
    depth: np.ndarray,
    fatigue: np.ndarray,
    now: float | np.ndarray,
) -> np.ndarray:
    """Persuasion hazard ``a_i`` a contact adds if it causes no backlash (see module doc)."""
    r = cfg.response
    c = pop.n_categories
    specific = category >= 0
    cat = np.where(specific, category, 0)
    share = pop.share[idx, cat]
    relevance = np.where(specific, c * share, np.float32(1.0))
    floor = np.float32(r.awareness_floor)
    aw_specific = floor + (1 - floor) * st.awareness[idx, cat]
    if np.all(specific):
        aw_term = aw_specific
    else:
        aw_term = np.where(
            specific, aw_specific, demand_factor(cfg, pop.share[idx], st.awareness[idx])
        )
    lc_resp = np.asarray(cfg.lifecycle.response_multiplier, np.float32)
    a = chan.lift[channel] * relevance
    a *= 2.0 * pop.channel_pref[idx, channel]
    a *= timing_fit(cfg, chan, channel, pop.active_hour[idx], now)
    a *= aw_term
    a *= np.exp(-np.float32(r.fatigue_penalty) * fatigue)
    a *= np.exp(np.float32(r.attitude_effect) * st.attitude[idx])
    a *= 1.0 + pop.discount_sensitivity[idx] * discount
    a *= 1.0 + np.float32(r.depth_gain) * depth
    a *= lc_resp[st.lifecycle[idx]]
    return a.astype(np.float32)


def intrusiveness(
    cfg: MarketConfig,
    chan: ChannelArrays,
    channel: np.ndarray,
    depth: np.ndarray,
    kinds: np.ndarray,
    fatigue: np.ndarray,
) -> np.ndarray:
    """``I = ι_k (I_0 + p·σ_kinds)(1 + f F)``."""
    cr = cfg.creepiness
    base = np.float32(cr.generic_intrusiveness) + depth * kinds_sensitivity(cfg, kinds)
    return (
        chan.intimacy[channel] * base * (1.0 + np.float32(cr.frequency_weight) * fatigue)
    ).astype(np.float32)


def backlash_probability(
    cfg: MarketConfig, intrusive: np.ndarray, threshold: np.ndarray
) -> np.ndarray:
    """``expit((log I - log θ)/s)``: decreasing in the threshold θ, increasing in I."""
    with np.errstate(divide="ignore"):
        z = (np.log(intrusive) - np.log(threshold)) / np.float32(cfg.creepiness.softness)
    return expit(z).astype(np.float32)


def expected_uplift(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    chan: ChannelArrays,
    idx: np.ndarray,
    channel: np.ndarray,
    category: np.ndarray,
    discount: np.ndarray,
    depth: np.ndarray,
    kinds: np.ndarray,
    now: float | np.ndarray,
) -> dict[str, np.ndarray]:
    """Closed-form expected effect of a contact on conversion within the window.

    With constant hazards over the window W, P(buy | no contact) = 1 - e^{-h0 W};
    P(buy | contact) = (1-b)(1 - e^{-(h1+a)W}) + b(1 - e^{-h1(1-π)W}) with backlash
    probability b, penalty π, and h1 the organic hazard after the contact's awareness
    gain.  Effects beyond the window (lasting awareness, word of mouth) are left out.
    Returns ``uplift`` (conversion probability),
    ``p_treated``, ``p_control``, ``backlash`` and ``persuasion``.
    """
    w = cfg.response.window_days
    fat = st.fatigue_at(idx, now, cfg.response.fatigue_half_life_days)
    a = persuasion(cfg, pop, st, chan, idx, channel, category, discount, depth, fat, now)
    intr = intrusiveness(cfg, chan, channel, depth, kinds, fat)
    b = backlash_probability(cfg, intr, pop.creepiness_threshold[idx])
    d0 = demand_factor(cfg, pop.share[idx], st.awareness[idx])
    h0 = organic_hazard(cfg, pop, st, idx, now, demand=d0)
    p0 = 1.0 - np.exp(-h0 * w)
    # The contact also raises awareness (of its category, or of all for a generic message)
    # and with it the treated's organic hazard.  For category c the demand factor rises by
    # (1-w0)·s_ic·g·(1-aw_ic); for a generic message by g·(1-D0).
    gain = chan.awareness_gain[channel]
    specific = category >= 0
    cat = np.where(specific, category, 0)
    aw_c = st.awareness[idx, cat]
    floor = np.float32(cfg.response.awareness_floor)
    d1 = d0 + np.where(
        specific, (1 - floor) * pop.share[idx, cat] * gain * (1 - aw_c), gain * (1 - d0)
    )
    h1 = organic_hazard(cfg, pop, st, idx, now, demand=d1.astype(np.float32))
    pen = cfg.creepiness.purchase_penalty
    p1 = (1.0 - b) * (1.0 - np.exp(-(h1 + a) * w)) + b * (1.0 - np.exp(-h1 * (1.0 - pen) * w))
    return {"uplift": p1 - p0, "p_treated": p1, "p_control": p0, "backlash": b, "persuasion": a}
