"""The observed history before day 0, drawn from the organic model in closed form."""

from __future__ import annotations

import numpy as np

from sim.config import MarketConfig
from sim.dip import recovered_at, replenishment
from sim.observe import NEVER, Observations
from sim.population import Population, Stage
from sim.response import cart_add_probability, demand_factor
from sim.state import MarketState
from sim.streams import Purpose, Streams


def seed_history(
    cfg: MarketConfig,
    pop: Population,
    obs: Observations,
    streams: Streams,
    st: MarketState,
) -> None:
    """Fill the observed history before day 0 from the organic model in closed form.

    Purchases per category over the consumer's tenure (at most ``history_days``) are
    Poisson with the model's steady rate in the category: organic purchases
    ``r_i·M_stage·s_ic·W_ic`` plus purchases from carts, ``r_browse·s_ic·W_ic·p_cart,ic·q``
    with ``q = r_cart/(r_cart + r_abandon) + r_abandon/(r_cart + r_abandon)·(1 -
    e^{-r_ret·m})`` the chance that a cart is bought, at once or on the abandoner's return
    (lapsed consumers at the active rate, initial awareness), each slowed by its own dip
    to ``λ/(1 + λ·d·R_c/2)`` (a purchase removes ``λ·d·R_c/2`` of the next).  The last
    purchase in each category is the latest of that many uniform purchase times (lapsed
    consumers: at least 60 days ago), and the last purchase overall the latest of those.
    Sessions of the last 30 days and wish lists follow the same way.  The state's last
    purchase, overall and by category (the inter-purchase dip of :mod:`sim.dip`), is set
    to the same history.
    """
    g_bought = streams.rng(Purpose.POPULATION, 30)
    g_age = streams.rng(Purpose.POPULATION, 35)
    g_browse = streams.rng(Purpose.POPULATION, 32)
    g_likes = streams.rng(Purpose.POPULATION, 33)
    # Row blocks, each drawing from the same four generators in turn: the draws, taken in
    # row order, are those of one population-wide call, without its (N, C) float64
    # temporaries (a market's peak memory would be here).
    for lo in range(0, pop.n, HISTORY_BLOCK):
        rows = slice(lo, min(lo + HISTORY_BLOCK, pop.n))
        _seed_rows(cfg, pop, obs, st, rows, g_bought, g_age, g_browse, g_likes)


HISTORY_BLOCK = 65536
"""Consumers per block of :func:`seed_history`."""


def _seed_rows(
    cfg: MarketConfig,
    pop: Population,
    obs: Observations,
    st: MarketState,
    rows: slice,
    g_bought: np.random.Generator,
    g_age: np.random.Generator,
    g_browse: np.random.Generator,
    g_likes: np.random.Generator,
) -> None:
    """:func:`seed_history` of the consumers ``rows``."""
    f32 = np.float32
    b = cfg.behaviour
    share, awareness = pop.share[rows], pop.initial_awareness[rows]
    lifecycle, tenure = pop.initial_lifecycle[rows], pop.initial_tenure[rows]
    lc_mult = np.asarray(cfg.lifecycle.rate_multiplier, f32)
    demand = demand_factor(cfg, share, awareness)
    span = np.minimum(tenure, f32(cfg.history_days)).astype(np.float64)
    stage = np.where(lifecycle == Stage.LAPSED, f32(1.0), lc_mult[lifecycle])
    floor = f32(cfg.response.awareness_floor)
    weight = share * (floor + (1 - floor) * awareness)
    ends = b.cart_purchase_rate + b.cart_abandon_rate
    back = -np.expm1(-b.abandoner_return_rate * b.abandoner_memory_days)
    q = (b.cart_purchase_rate + b.cart_abandon_rate * back) / ends if ends > 0 else 0.0
    p_cart = cart_add_probability(cfg, share, pop.n_categories)
    lam = weight * ((pop.base_rate[rows] * stage)[:, None] + f32(b.browse_rate * q) * p_cart)
    lam = lam / (1.0 + lam * (cfg.purchase.dip_depth / 2.0) * replenishment(cfg))
    lam = lam * span[:, None]
    bought = g_bought.poisson(lam).astype(np.uint16)
    total = bought.sum(axis=1, dtype=np.int64)
    has = total > 0
    u = g_age.random(bought.shape)
    age = span[:, None] * (1.0 - u ** (1.0 / np.maximum(bought, 1)))
    lapsed = (lifecycle == Stage.LAPSED)[:, None]
    stretch = (np.maximum(span, 60.0) - 60.0)[:, None] / np.maximum(span, 1e-9)[:, None]
    age = np.where(lapsed, 60.0 + stretch * age, age)
    age = np.where(bought > 0, age, np.inf)
    recency = age.min(axis=1)
    obs.purchases_by_category[rows] = bought
    obs.n_purchases[rows] = total
    obs.spend[rows] = total * pop.basket_mean[rows]
    obs.first_purchase[rows] = -tenure.astype(np.float64)
    obs.last_purchase[rows] = np.where(has, -recency, obs.last_purchase[rows])
    st.last_purchase[rows] = obs.last_purchase[rows]
    st.last_bought[rows] = np.where(bought > 0, -age, NEVER).astype(f32)
    st.dip_until[rows] = recovered_at(cfg, st.last_bought[rows])
    sessions = cfg.behaviour.browse_rate * 30.0 * demand
    obs.browse_by_category[rows] = g_browse.poisson(sessions[:, None] * share).astype(np.uint16)
    likes = cfg.behaviour.wishlist_prob * sessions * 4.0
    obs.likes_by_category[rows] = np.minimum(g_likes.poisson(likes[:, None] * share), 255).astype(
        np.uint8
    )
