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
* ``W_ic = (w_0 + (1-w_0)·aw_ic)·g_ic``: awareness (funnel), so mass contact that builds
  awareness raises what later targeted contacts can convert, times the inter-purchase
  dip ``g_ic`` of :mod:`sim.dip` (a consumer who has just bought in c is less open to
  another purchase in it; for a generic message W is the demand factor D_i);
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

A contact also closes part of the awareness gap, lastingly: a message about category c
``aw_ic += γ_k (1 - aw_ic)`` (γ_k: the channel's ``awareness_gain``), a generic message
``aw_ic += (γ_k / C)(1 - aw_ic)`` in every category (:func:`generic_awareness_gain`).  A
generic message is thus, in expectation, a message about a category drawn uniformly from
the C categories, in its awareness gain as in its persuasion (relevance 1 is the mean of
``C·s_ic`` over c, and its awareness term ``D_i`` the mean of ``C·s_ic·W_ic``).  Closing the
whole gap in every category at once made one generic e-mail worth C category e-mails,
which nothing measures: Hillstrom's experiment, which calibrates γ of e-mail, sent category
e-mails only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from sim.config import CHANNELS, DATA_KINDS, MarketConfig
from sim.dip import dip_at, replenishment
from sim.population import Population
from sim.state import MarketState

KIND_BITS = {kind: 1 << i for i, kind in enumerate(DATA_KINDS)}
RETURN_HORIZON = 50.0
"""Abandoners' return hazard is dropped after this many memory times (a factor e^-50)."""


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
    click_rate: np.ndarray

    @classmethod
    def from_config(cls, cfg: MarketConfig) -> ChannelArrays:
        def arr(attr: str) -> np.ndarray:
            return np.array([getattr(cfg.channels[c], attr) for c in CHANNELS], np.float32)

        return cls(
            arr("lift"),
            arr("intimacy"),
            arr("awareness_gain"),
            arr("timing_weight"),
            arr("click_rate"),
        )


def kinds_sensitivity(cfg: MarketConfig, kinds: np.ndarray) -> np.ndarray:
    """Largest sensitivity among the data kinds set in each bit mask (0 if none)."""
    out = np.zeros(kinds.shape, np.float32)
    for kind, bit in KIND_BITS.items():
        sens = np.float32(cfg.consent.sensitivity[kind])
        out = np.where((kinds & bit) != 0, np.maximum(out, sens), out)
    return out


def demand_factor(
    cfg: MarketConfig,
    share: np.ndarray,
    awareness: np.ndarray,
    dip: np.ndarray | None = None,
) -> np.ndarray:
    """``D_i = Σ_c s_ic g_ic (w_0 + (1-w_0)·aw_ic)``: how much of a consumer's demand is
    awake (and not satisfied by a recent purchase: the dip ``g`` of :mod:`sim.dip`, rows
    aligned with ``share``; None: no dip).  Without a dip, ``w_0 + (1-w_0)·Σ_c s_ic aw_ic``."""
    floor = np.float32(cfg.response.awareness_floor)
    if dip is None:
        d = np.einsum("ij,ij->i", share, awareness, dtype=np.float32)
        d *= 1.0 - floor
        d += floor
        return d
    sg = share * dip
    d = np.einsum("ij,ij->i", sg, awareness, dtype=np.float32)
    d *= 1.0 - floor
    d += floor * sg.sum(axis=1, dtype=np.float32)
    return d


def consumer_demand(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    idx: np.ndarray | slice,
    now: float | np.ndarray,
    awake: np.ndarray | None = None,
) -> np.ndarray:
    """The demand factor D_i of consumers ``idx`` at ``now``, the dip included:
    ``D_i - Σ_c s_ic W_ic (1 - g_ic)`` over the categories whose dip has not recovered,
    looked for only among the consumers whose dips have not all recovered (``dip_until``
    after ``now``).  ``awake``: their :func:`demand_factor` without the dip when the
    caller has it (a new array, used as the result's buffer)."""
    if awake is not None:
        d = awake
    elif isinstance(idx, np.ndarray) and idx.shape[0] * 4 > pop.n:
        d = demand_factor(cfg, pop.share, st.awareness)[idx]  # contiguous, then the rows
    else:
        d = demand_factor(cfg, pop.share[idx], st.awareness[idx])
    if cfg.purchase.dip_depth > 0.0:
        for pos, cell, g in _live_dips(cfg, st, idx, now):
            floor = np.float32(cfg.response.awareness_floor)
            loss = category_weight(floor, np.take(st.awareness, cell), None)
            loss *= np.take(pop.share, cell)
            loss *= np.float32(1.0) - g
            np.subtract.at(d, pos, loss)
    return d


def generic_awareness_gain(gain: Any, n_categories: int) -> Any:
    """``γ / C``: the share of the awareness gap a generic message closes in each category
    (``gain``: the channel's γ, one value or one per contact, float32).

    The expectation of a message about a category drawn uniformly: it closes γ of the gap
    in that category and none elsewhere.  The same float32 operation serves the market
    (:func:`sim.contact.raise_awareness`) and the closed form, so they agree exactly.
    """
    return gain / np.float32(n_categories)


def satisfied_share(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    idx: np.ndarray,
    now: float | np.ndarray,
) -> np.ndarray | float:
    """``Σ_c s_ic g_ic(now)``: the share of each consumer's demand not satisfied by a recent
    purchase (1 where the dips have recovered, or without a dip).  A generic message's
    awareness gain raises the demand factor by ``(γ/C)·(Σ_c s_ic g_ic - D_i)``."""
    if cfg.purchase.dip_depth <= 0.0:
        return 1.0
    out = np.ones(idx.shape[0], np.float32)
    for pos, cell, g in _live_dips(cfg, st, idx, now):
        np.subtract.at(out, pos, np.take(pop.share, cell) * (np.float32(1.0) - g))
    return out


def cart_add_probability(cfg: MarketConfig, share: np.ndarray, n_categories: int) -> np.ndarray:
    """``p_ic = min(p_cart·C·s_ic, 0.9)``: the chance that a session in category c adds a
    cart (``share``: s_ic of the session's categories; the market, the seeded history and
    the closed form all use this one operation)."""
    return np.minimum(np.float32(cfg.behaviour.cart_add_prob) * n_categories * share, 0.9)


def cart_conversion(cfg: MarketConfig) -> float:
    """``q_W``: the probability that a session's cart ends in a purchase within the response
    window W, for a session at a uniform time in the window.  The cart is bought at once
    it is resolved with probability ``q = r_cart/(r_cart + r_abandon)`` (resolution after
    ``Exp(k)``, ``k = r_cart + r_abandon``); if abandoned, the abandoner returns with
    probability ``1 - e^{-r_ret·m}`` (return hazard ``r_ret·e^{-t/m}``), after about
    ``τ = 1/k + m``.  The share of each that falls inside the window is that of a delay of
    that mean after a uniform start: ``1 - (1 - e^{-W/τ})·τ/W``.  (An approximation: the
    closed form treats the cart path as a constant hazard, as it does the organic rate.)"""
    b, w = cfg.behaviour, cfg.response.window_days
    k = b.cart_purchase_rate + b.cart_abandon_rate
    if k <= 0.0:
        return 0.0

    def inside(tau: float) -> float:
        return 1.0 - (1.0 - math.exp(-w / tau)) * tau / w

    q = b.cart_purchase_rate / k
    back = 1.0 - math.exp(-b.abandoner_return_rate * b.abandoner_memory_days)
    return q * inside(1.0 / k) + (1.0 - q) * back * inside(1.0 / k + b.abandoner_memory_days)


def session_lag(cfg: MarketConfig, now: float | np.ndarray) -> np.ndarray:
    """How long a contact at ``now`` waits before its awareness gain reaches sessions: each
    interval's sessions follow the demand at its start (:mod:`sim.behaviour`), so until
    the next interval opens (float32, in (0, step_days])."""
    step = cfg.step_days
    return np.asarray(step - np.mod(now, step), np.float32)


def browsing_demand(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    idx: np.ndarray,
    now: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``B_i = Σ_c s_ic p_ic g_ic W_ic``, the demand that browsing turns into carts (a
    session has rate ``r_browse·D_i·e^{κA}``, lands in category c with probability
    ``s_ic W_ic g_ic / D_i`` and adds a cart with ``p_ic = min(p_cart·C·s_ic, 0.9)``), and
    ``Σ_c s_ic p_ic g_ic``, its value at full awareness (a generic message raises ``B_i``
    by ``(γ/C)·(Σ_c s_ic p_ic g_ic - B_i)``)."""
    floor = np.float32(cfg.response.awareness_floor)
    share = pop.share[idx]
    sp = cart_add_probability(cfg, share, pop.n_categories)
    sp *= share
    b = np.einsum("ij,ij->i", sp, st.awareness[idx], dtype=np.float32)
    b *= 1.0 - floor
    full = sp.sum(axis=1, dtype=np.float32)
    b += floor * full
    if cfg.purchase.dip_depth > 0.0:
        flat_sp = sp.ravel()
        n_cat = share.shape[1]
        for pos, cell, g in _live_dips(cfg, st, idx, now):
            local = pos * n_cat + cell % n_cat
            lost = np.take(flat_sp, local) * (np.float32(1.0) - g)
            np.subtract.at(full, pos, lost)
            lost *= category_weight(floor, np.take(st.awareness, cell), None)
            np.subtract.at(b, pos, lost)
    return b, full


def cart_pair_share(cfg: MarketConfig, share_c: np.ndarray, n_categories: int) -> np.ndarray:
    """``s_ic p_ic`` of one category per consumer (see :func:`browsing_demand`)."""
    return share_c * cart_add_probability(cfg, share_c, n_categories)


def _live_dips(
    cfg: MarketConfig, st: MarketState, idx: np.ndarray | slice, now: float | np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The (consumer, category) cells of ``idx`` whose dip has not recovered at ``now``, in
    row-major order: [(positions in idx, cells as flat indices of the (N, C) tables, g)],
    or [] if there is none.  (Flat ``np.take`` gathers: far cheaper than pairs of index
    arrays.)"""
    live = np.flatnonzero(st.dip_until[idx] > now)
    if not live.size:
        return []
    rows = np.arange(st.dip_until.shape[0])[idx][live] if isinstance(idx, slice) else idx[live]
    at: Any = np.float32(now) if np.ndim(now) == 0 else np.asarray(now, np.float32)[live][:, None]
    last = np.take(st.last_bought, rows, axis=0)
    flat = np.flatnonzero(last > at - replenishment(cfg))
    n_cat = last.shape[1]
    r, c = np.divmod(flat, n_cat)
    g = dip_at(cfg, np.take(last, flat), c, at if np.ndim(at) == 0 else at[r, 0])
    assert g is not None
    return [(live[r], rows[r] * n_cat + c, g)]


def category_dip(
    cfg: MarketConfig,
    st: MarketState,
    idx: np.ndarray,
    category: Any,
    now: float | np.ndarray,
) -> np.ndarray | None:
    """``g_ic(now)`` of one category per consumer (``category``: one, or one each; None
    without a dip)."""
    return dip_at(cfg, st.last_bought[idx, category], category, now)


@dataclass(frozen=True)
class OrganicHazard:
    """The organic purchase hazard of consumers ``idx`` at ``now`` as a function of demand.

    ``h0(D, B) = r_i · M_stage · D · e^{κ A_i} + r_browse · q_W · B · e^{κ A_i}
    + cart_i · r_cart + r_ret · w_i e^{-(now - t_i)/m}``
    (``w_i`` at ``t_i``: the abandoned carts still drawing the consumer back, see
    :mod:`sim.state`; ``B``: the demand browsing turns into carts and ``q_W`` the chance
    that such a cart is bought within the window, :func:`browsing_demand` and
    :func:`cart_conversion`: the carts of sessions still to come, which awareness
    raises as it raises ``D``).  Everything but the demand factors is computed once, so
    the hazard at several demand levels (before and after a contact's awareness gain)
    costs a few operations.
    """

    rate: np.ndarray  # r_i · M_stage
    attitude_factor: np.ndarray  # e^{κ A_i}
    browse: np.ndarray  # r_browse · q_W · e^{κ A_i}
    cart: np.ndarray  # cart_i · r_cart
    recent: np.ndarray  # positions of abandoners whose return hazard is not negligible
    returning: np.ndarray  # their return hazard (float32)

    @classmethod
    def of(
        cls,
        cfg: MarketConfig,
        pop: Population,
        st: MarketState,
        idx: np.ndarray | slice,
        now: float | np.ndarray,
        attitude_factor: np.ndarray | None = None,
    ) -> OrganicHazard:
        b = cfg.behaviour
        lc_mult = np.asarray(cfg.lifecycle.rate_multiplier, np.float32)
        rate = pop.base_rate[idx] * np.take(lc_mult, st.lifecycle[idx])
        if attitude_factor is None:
            attitude_factor = np.exp(np.float32(cfg.response.attitude_effect) * st.attitude[idx])
        cart = st.cart_open[idx] * np.float32(b.cart_purchase_rate)
        # Abandoners' return hazard, evaluated only where it is not yet negligible (e^-50).
        last = st.last_abandon[idx]
        weight = st.return_weight[idx]
        recent = np.flatnonzero(
            (last > np.min(now) - RETURN_HORIZON * b.abandoner_memory_days) & (weight > 0)
        )
        x = (now if np.ndim(now) == 0 else np.asarray(now)[recent]) - last[recent]  # since
        np.negative(x, out=x)
        x /= b.abandoner_memory_days
        np.exp(x, out=x)
        x *= b.abandoner_return_rate
        x *= weight[recent]
        browse = np.float32(b.browse_rate * cart_conversion(cfg)) * attitude_factor
        return cls(rate, attitude_factor, browse, cart, recent, x.astype(np.float32))

    def at(self, demand: np.ndarray, browsing: np.ndarray) -> np.ndarray:
        """The hazard (per day) at demand factor ``demand`` and browsing demand
        ``browsing`` (:func:`browsing_demand`)."""
        h = self.rate * demand
        h *= self.attitude_factor
        h += self.browse * browsing
        h += self.cart
        if self.recent.size:
            h[self.recent] += self.returning
        return h.astype(np.float32, copy=False)


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

    ``h0`` of :class:`OrganicHazard`: the purchase rate and the carts of the sessions to
    come (``demand``: D_i, the dip included, and ``attitude_factor`` e^{κ A_i} may be
    passed when the caller has them for the same consumers already).
    """
    if demand is None:
        demand = consumer_demand(cfg, pop, st, idx, now)
    rows = np.arange(pop.n)[idx] if isinstance(idx, slice) else idx
    browsing, _ = browsing_demand(cfg, pop, st, rows, now)
    return OrganicHazard.of(cfg, pop, st, idx, now, attitude_factor).at(demand, browsing)


def timing_closeness(
    cfg: MarketConfig, active_hour: np.ndarray, now: float | np.ndarray
) -> np.ndarray:
    """``exp(-Δh²/2σ²)``: closeness of the send hour to the consumer's active hour."""
    hour = (np.asarray(now) % 1.0) * 24.0
    d = np.abs(active_hour - hour.astype(np.float32))
    d = np.minimum(d, 24.0 - d)
    sd = np.float32(cfg.response.timing_sd_hours)
    return np.exp(-0.5 * (d / sd) ** 2)


def timing_fit(
    cfg: MarketConfig,
    chan: ChannelArrays,
    channel: np.ndarray,
    active_hour: np.ndarray,
    now: float | np.ndarray,
) -> np.ndarray:
    """``T_ik(h) = 1 - w_k + w_k exp(-Δh²/2σ²)``: timing fit of the send hour."""
    return weighted_timing(chan.timing_weight[channel], timing_closeness(cfg, active_hour, now))


def weighted_timing(weight: np.ndarray | np.float32, closeness: np.ndarray) -> np.ndarray:
    """``1 - w + w·closeness``: the timing fit of a channel with timing weight ``w``."""
    return (1.0 - weight + weight * closeness).astype(np.float32)


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
    awake: np.ndarray | None = None,
) -> np.ndarray:
    """Persuasion hazard ``a_i`` a contact adds if it causes no backlash (see module doc).
    ``awake``: the consumers' :func:`demand_factor` without the dip, if known (consumed)."""
    r = cfg.response
    c = pop.n_categories
    specific = category >= 0
    if not specific.any():  # generic messages only: relevance 1, demand-weighted awareness
        relevance = np.ones(idx.shape[0], np.float32)
        aw_term = consumer_demand(cfg, pop, st, idx, now, awake)
    else:
        cat = np.where(specific, category, 0)
        share = pop.share[idx, cat]
        relevance = np.where(specific, c * share, np.float32(1.0))
        floor = np.float32(r.awareness_floor)
        aw_term = category_weight(
            floor, st.awareness[idx, cat], category_dip(cfg, st, idx, cat, now)
        )
        if not specific.all():
            aw_term = np.where(specific, aw_term, consumer_demand(cfg, pop, st, idx, now, awake))
    lc_resp = np.asarray(cfg.lifecycle.response_multiplier, np.float32)
    a = persuasion_before_offer(
        chan.lift[channel],
        relevance,
        pop.channel_pref[idx, channel],
        timing_fit(cfg, chan, channel, pop.active_hour[idx], now),
        aw_term,
        np.exp(-np.float32(r.fatigue_penalty) * fatigue),
        np.exp(np.float32(r.attitude_effect) * st.attitude[idx]),
    )
    apply_offer(cfg, a, pop.discount_sensitivity[idx], discount, depth, lc_resp[st.lifecycle[idx]])
    return a.astype(np.float32)


def category_weight(floor: np.float32, awareness: np.ndarray, dip: np.ndarray | None) -> np.ndarray:
    """``W_ic = (w_0 + (1-w_0)·aw_ic)·g_ic`` for one category per consumer (``dip``: its
    dip g_ic, None without a dip)."""
    w = floor + (1 - floor) * awareness
    return w if dip is None else w * dip


def persuasion_before_offer(
    lift: np.ndarray | np.float32,
    relevance: np.ndarray,
    preference: np.ndarray,
    timing: np.ndarray,
    awareness: np.ndarray,
    fatigue_factor: np.ndarray,
    attitude_factor: np.ndarray,
) -> np.ndarray:
    """``lift_k · R_ic · 2π_ik · T_ik · W_ic · e^{-φF_i} · e^{κA_i}`` (a new array)."""
    a = lift * relevance
    a *= 2.0 * preference
    a *= timing
    a *= awareness
    a *= fatigue_factor
    a *= attitude_factor
    return a


def apply_offer(
    cfg: MarketConfig,
    a: np.ndarray,
    sensitivity: np.ndarray,
    discount: np.ndarray | np.float32,
    depth: np.ndarray | np.float32,
    lifecycle_response: np.ndarray,
) -> np.ndarray:
    """Multiply ``a`` in place by the offer's ``(1 + δ_i d)(1 + g p)`` and by ``L_stage``."""
    a *= 1.0 + sensitivity * discount
    a *= 1.0 + np.float32(cfg.response.depth_gain) * depth
    a *= lifecycle_response
    return a


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
    awake: np.ndarray | None = None,
    outcome_days: float | None = None,
) -> dict[str, np.ndarray]:
    """Closed-form expected effect of a contact on conversion within ``outcome_days`` H
    (default: the response window W, over which persuasion and the backlash penalty
    last; ``awake``: the consumers' :func:`demand_factor` without the dip, if known).

    With constant hazards, P(buy | no contact) = 1 - e^{-h0 H};
    P(buy | contact) = (1-b)(1 - e^{-h1 H - a W}) + b(1 - e^{-h1 H + h1 π W}) with backlash
    probability b, penalty π, and h1 the organic hazard after the contact's awareness
    gain (on the purchase rate and on the carts of the sessions to come, see
    :class:`OrganicHazard`).  Effects beyond the window (lasting awareness, word of mouth)
    are left out; the carts of the sessions before the next interval opens, which do
    not feel the contact yet, are taken back (:func:`session_lag`).
    Returns ``uplift`` (conversion probability),
    ``p_treated``, ``p_control``, ``backlash`` and ``persuasion``.
    """
    w = cfg.response.window_days
    horizon = w if outcome_days is None else outcome_days
    rest, w = max(horizon - w, 0.0), min(w, horizon)  # after the window; the window in H
    fat = st.fatigue_at(idx, now, cfg.response.fatigue_half_life_days)
    a = persuasion(
        cfg,
        pop,
        st,
        chan,
        idx,
        channel,
        category,
        discount,
        depth,
        fat,
        now,
        None if awake is None else awake.copy(),
    )
    intr = intrusiveness(cfg, chan, channel, depth, kinds, fat)
    b = backlash_probability(cfg, intr, pop.creepiness_threshold[idx])
    d0 = consumer_demand(cfg, pop, st, idx, now, awake)
    organic = OrganicHazard.of(cfg, pop, st, idx, now)
    b0, b_full = browsing_demand(cfg, pop, st, idx, now)
    h0 = organic.at(d0, b0)
    p0 = 1.0 - np.exp(-h0 * horizon)
    # The contact also raises awareness (of its category, or γ/C of every category's gap
    # for a generic message) and with it the treated's organic hazard.  For category c the
    # demand factor rises by (1-w0)·s_ic·g_ic·γ·(1-aw_ic); for a generic message by
    # (γ/C)·(Σ_c s_ic g_ic - D0) (g: the dip; without one, (γ/C)·(1-D0)).
    gain = chan.awareness_gain[channel]
    specific = category >= 0
    cat = np.where(specific, category, 0)
    aw_c = st.awareness[idx, cat]
    floor = np.float32(cfg.response.awareness_floor)
    share_c = pop.share[idx, cat]
    g_c = category_dip(cfg, st, idx, cat, now)
    if g_c is not None:
        share_c = share_c * g_c
    d1 = d0 + np.where(
        specific,
        (1 - floor) * share_c * gain * (1 - aw_c),
        generic_awareness_gain(gain, pop.n_categories)
        * (satisfied_share(cfg, pop, st, idx, now) - d0),
    )
    # Browsing follows: the carts of category c by (1-w0)·s_ic·p_ic·g_ic·γ·(1-aw_ic); for a
    # generic message by (γ/C)·(Σ_c s_ic p_ic g_ic - B0).
    sp_c = cart_pair_share(cfg, pop.share[idx, cat], pop.n_categories)
    if g_c is not None:
        sp_c = sp_c * g_c
    b1 = b0 + np.where(
        specific,
        (1 - floor) * sp_c * gain * (1 - aw_c),
        generic_awareness_gain(gain, pop.n_categories) * (b_full - b0),
    )
    b1 = b1.astype(np.float32)
    h1 = organic.at(d1.astype(np.float32), b1)
    # Sessions feel the gain only from the next interval on: the hazard it holds back.
    early = organic.browse * (b1 - b0) * np.minimum(session_lag(cfg, now), np.float32(w))
    pen = cfg.creepiness.purchase_penalty
    p1 = (1.0 - b) * (1.0 - np.exp(-(h1 + a) * w - h1 * rest + early)) + b * (
        1.0 - np.exp(-h1 * (1.0 - pen) * w - h1 * rest + early * (1.0 - pen))
    )
    return {"uplift": p1 - p0, "p_treated": p1, "p_control": p0, "backlash": b, "persuasion": a}


@dataclass(frozen=True)
class _ChannelTerms:
    """The terms of :class:`OfferUplift` that depend on the offer's channel only."""

    lift: np.float32
    awareness_gain: np.float32
    preference: np.ndarray  # π_ik
    timing: np.ndarray  # T_ik(h)
    backlash: np.ndarray  # b
    no_backlash: np.ndarray  # 1 - b


@dataclass(frozen=True)
class _PairTerms:
    """The terms of :class:`OfferUplift` that depend on the offer's channel and category."""

    key: tuple[int, int]
    persuasion: np.ndarray  # a before the discount, depth and lifecycle factors
    organic_treated: np.ndarray  # h1
    early: np.ndarray  # the hazard the sessions' lag holds back (see session_lag)
    backlash_part: np.ndarray  # b(1 - e^{-h1(1-π)W + early(1-π)})


class OfferUplift:
    """:func:`expected_uplift` of many offers to the same consumers at the same times.

    The one-to-one oracle values every offer of its grid (channel × category × discount,
    at one depth and one set of data kinds) for every consumer at each wave.  Most terms
    of the closed form do not depend on the offer: fatigue, attitude, the demand factor,
    the organic hazard and conversion without a contact, the timing distance.  They are
    computed here once; those of a channel (timing fit, intrusiveness, backlash) once per
    channel, and those of a (channel, category) pair (relevance, awareness, the treated
    organic hazard) once per pair, so that the offers of one pair in a row (the discounts)
    each cost only their own factors.  The floating-point operations and their order are
    those of :func:`expected_uplift`, so the results are identical to it, bit for bit.

    The terms are taken from the market state when first needed: use an instance only
    while the state is unchanged (within one plan).  Arrays in the returned dicts may be
    shared between offers: treat them as read-only.
    """

    def __init__(
        self,
        cfg: MarketConfig,
        pop: Population,
        st: MarketState,
        chan: ChannelArrays,
        idx: np.ndarray,
        now: float | np.ndarray,
        depth: float,
        kinds: int,
        awake: np.ndarray | None = None,
    ) -> None:
        r = cfg.response
        self.cfg, self.pop, self.st, self.chan, self.idx = cfg, pop, st, chan, idx
        self.depth = np.float32(depth)
        self.kinds = np.uint8(kinds)
        self.window = r.window_days
        self.fatigue = st.fatigue_at(idx, now, r.fatigue_half_life_days)
        self.closeness = timing_closeness(cfg, pop.active_hour[idx], now)
        self.threshold = pop.creepiness_threshold[idx]
        self.now = now
        self.demand = consumer_demand(cfg, pop, st, idx, now, awake)
        self.satisfied = satisfied_share(cfg, pop, st, idx, now)
        self.organic = OrganicHazard.of(cfg, pop, st, idx, now)
        self.browsing, self.browsing_full = browsing_demand(cfg, pop, st, idx, now)
        self.lag = np.minimum(session_lag(cfg, now), np.float32(self.window))
        h0 = self.organic.at(self.demand, self.browsing)
        self.p_control = _read_only(1.0 - np.exp(-h0 * self.window))
        self.fatigue_factor = np.exp(-np.float32(r.fatigue_penalty) * self.fatigue)
        self.sensitivity = pop.discount_sensitivity[idx]
        lc_resp = np.asarray(cfg.lifecycle.response_multiplier, np.float32)
        self.lifecycle_response = lc_resp[st.lifecycle[idx]]
        self._channels: dict[int, _ChannelTerms] = {}
        self._pair: _PairTerms | None = None

    def offer(self, channel: int, category: int, discount: float) -> dict[str, np.ndarray]:
        """:func:`expected_uplift` of one offer (``category`` -1: a generic message)."""
        ch = self._channel_terms(channel)
        pair = self._pair_terms(channel, category)
        a = apply_offer(
            self.cfg,
            pair.persuasion.copy(),
            self.sensitivity,
            np.float32(discount),
            self.depth,
            self.lifecycle_response,
        )
        converted = 1.0 - np.exp(-(pair.organic_treated + a) * self.window + pair.early)
        p1 = ch.no_backlash * converted + pair.backlash_part
        return {
            "uplift": p1 - self.p_control,
            "p_treated": p1,
            "p_control": self.p_control,
            "backlash": ch.backlash,
            "persuasion": a,
        }

    def backlash(self, channel: int) -> np.ndarray:
        """Backlash probability of a message on ``channel`` (the same for every offer)."""
        return self._channel_terms(channel).backlash

    def _channel_terms(self, channel: int) -> _ChannelTerms:
        terms = self._channels.get(channel)
        if terms is None:
            cfg, chan = self.cfg, self.chan
            timing = weighted_timing(chan.timing_weight[channel], self.closeness)
            n = self.idx.shape[0]
            intr = intrusiveness(
                cfg,
                chan,
                np.full(n, channel, np.int8),
                np.full(n, self.depth),
                np.full(n, self.kinds),
                self.fatigue,
            )
            b = _read_only(backlash_probability(cfg, intr, self.threshold))
            terms = _ChannelTerms(
                chan.lift[channel],
                chan.awareness_gain[channel],
                self.pop.channel_pref[self.idx, channel],
                timing,
                b,
                1.0 - b,
            )
            self._channels[channel] = terms
        return terms

    def _pair_terms(self, channel: int, category: int) -> _PairTerms:
        """Terms of (channel, category), kept for the next offer of the same pair."""
        if self._pair is not None and self._pair.key == (channel, category):
            return self._pair
        ch = self._channel_terms(channel)
        floor = np.float32(self.cfg.response.awareness_floor)
        n = self.idx.shape[0]
        if category >= 0:
            share = self.pop.share[self.idx, category]
            relevance = self.pop.n_categories * share
            aw_c = self.st.awareness[self.idx, category]
            g_c = category_dip(self.cfg, self.st, self.idx, category, self.now)
            awareness = category_weight(floor, aw_c, g_c)
            share_c = share if g_c is None else share * g_c
            demand = self.demand + (1 - floor) * share_c * ch.awareness_gain * (1 - aw_c)
            sp_c = cart_pair_share(self.cfg, share, self.pop.n_categories)
            if g_c is not None:
                sp_c = sp_c * g_c
            browsing = self.browsing + (1 - floor) * sp_c * ch.awareness_gain * (1 - aw_c)
        else:
            relevance = np.full(n, np.float32(1.0))
            awareness = self.demand
            gain = generic_awareness_gain(ch.awareness_gain, self.pop.n_categories)
            demand = self.demand + gain * (self.satisfied - self.demand)
            browsing = self.browsing + gain * (self.browsing_full - self.browsing)
        a = persuasion_before_offer(
            ch.lift,
            relevance,
            ch.preference,
            ch.timing,
            awareness,
            self.fatigue_factor,
            self.organic.attitude_factor,
        )
        browsing = browsing.astype(np.float32)
        h1 = self.organic.at(demand.astype(np.float32), browsing)
        early = self.organic.browse * (browsing - self.browsing) * self.lag
        pen = self.cfg.creepiness.purchase_penalty
        backlash_part = ch.backlash * (
            1.0 - np.exp(-h1 * (1.0 - pen) * self.window + early * (1.0 - pen))
        )
        self._pair = _PairTerms((channel, category), a, h1, early, backlash_part)
        return self._pair


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a
