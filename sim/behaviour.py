"""Organic behaviour: one vectorised step of every consumer's daily hazards.

For the interval [t0, t0+Δ) each consumer may (each event decided by a uniform of its own
keyed stream: purchase, browse, store visit, ping and lapse from whole-population arrays,
the details of a purchase, session or open cart from consumer-keyed uniforms evaluated for
those consumers only; either way a pure function of (seed, purpose, step, consumer), see
:mod:`sim.streams`):

* **purchase** with probability ``1 - exp(-h Δ)``, where
  ``h = h0·(1 - π·e_pen) + a·e_boost`` (:func:`sim.response.organic_hazard` gives h0;
  ``e`` are the shares of the interval covered by a backlash penalty or a persuasion
  window).  A purchase is *induced* when it would not have happened without the
  persuasion under the same uniform (``u ≥ 1 - exp(-h_base Δ)``), so induced purchases
  are exactly the within-step counterfactual difference.  Induced purchases are in the
  offered category; others in a category drawn from ``s_ic·W_ic``.  An active offer is
  redeemed by any purchase, induced or not (sure things redeem too);
* **browse** with rate ``r_browse·D_i·e^{κA}``; a session picks a category like a purchase,
  may add to a cart (``p_cart·C·s_ic``) or a wish list (explicit data);
* **abandon** an open cart with hazard ``r_abandon``; abandoners return to buy with a
  hazard that decays over ``abandoner_memory_days`` (the "sure things" of triggers);
* **review** a purchase, **visit a store**, **send a location ping** (ambient data),
  **lapse** (active to lapsed), and leave the *new* stage after ``new_days``.

The step updates the state and the marketer's observations and appends its purchases to
the ledger; it returns the rest as :class:`StepEvents` for the market, which publishes
the event feeds and spreads word of mouth (:mod:`sim.word_of_mouth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import MarketConfig
from sim.ledger import Table
from sim.observe import EventFeed, Observations
from sim.population import Population, Stage
from sim.response import demand_factor, organic_hazard
from sim.state import Horizons, MarketState, overlap
from sim.streams import Purpose, Streams


@dataclass(frozen=True)
class StepEvents:
    """What one organic step hands back to the market."""

    buyers: np.ndarray  # consumers who bought in the step (ascending)
    categories: np.ndarray  # int16 category of each purchase (the word-of-mouth signal)
    abandoned: EventFeed  # carts abandoned
    browsed: EventFeed  # sessions without a cart
    pinged: EventFeed  # location pings
    sessions: EventFeed  # every session (the context of contextual campaigns)


def draw_category(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw per row of ``weights`` (n, C) with uniforms ``u`` (n,)."""
    cum = np.cumsum(weights, axis=1)
    pick = (cum < (u * cum[:, -1])[:, None]).sum(axis=1)
    return np.minimum(pick, weights.shape[1] - 1).astype(np.int16)


def organic_step(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    obs: Observations,
    streams: Streams,
    purchases: Table,
    horizons: Horizons,
    k: int,
) -> StepEvents:
    """Advance every consumer through step ``k`` (the interval [kΔ, (k+1)Δ)).

    Assumes ``st`` and ``horizons`` hold every contact stamped before (k+1)Δ and none
    stamped later (the market runs the step at (k+1)Δ before any contact of that time).
    """
    b, s = cfg.behaviour, streams
    n, dt = pop.n, cfg.step_days
    t0, t1 = k * dt, (k + 1) * dt
    f32 = np.float32
    floor = f32(cfg.response.awareness_floor)

    demand = demand_factor(cfg, pop.share, st.awareness)
    attitude = np.exp(f32(cfg.response.attitude_effect) * st.attitude)
    h_base = organic_hazard(cfg, pop, st, slice(None), t0, demand=demand, attitude_factor=attitude)
    if horizons.penalty > t0:
        h_base *= 1.0 - f32(cfg.creepiness.purchase_penalty) * overlap(
            st.penalty_start, st.penalty_end, t0, t1
        )
    if horizons.boost > t0:
        h = overlap(st.boost_start, st.boost_end, t0, t1)
        h *= st.boost
        h += h_base  # h_base + overlap·boost
    else:
        h = h_base
    u = s.uniform(Purpose.PURCHASE, n, k)
    p_buy = h * f32(-dt)  # 1 - exp(-h Δ), in place
    np.expm1(p_buy, out=p_buy)
    np.negative(p_buy, out=p_buy)
    buyers = np.flatnonzero(u < p_buy)
    del p_buy, h

    # --- purchases (uniforms keyed by consumer, drawn for the buyers only)
    u_b = u[buyers]
    induced = u_b >= -np.expm1(-h_base[buyers] * f32(dt))
    aw_b = floor + (1 - floor) * np.take(st.awareness, buyers, axis=0)
    cat = draw_category(
        np.take(pop.share, buyers, axis=0) * aw_b,
        s.uniform_at(Purpose.PURCHASE_CATEGORY, buyers, k),
    )
    boosted_cat = st.boost_category[buyers]
    use_offer_cat = induced & (boosted_cat >= 0)
    cat = np.where(use_offer_cat, boosted_cat, cat).astype(np.int16)
    value = pop.basket_mean[buyers] * (f32(0.5) + s.uniform_at(Purpose.BASKET, buyers, k))
    when = t0 + dt * pop.active_hour[buyers].astype(np.float64) / 24.0
    has_offer = (st.offer_end[buyers] > t0) & (st.offer_start[buyers] < t1)
    discount = np.where(has_offer, st.offer_discount[buyers], f32(0.0))
    offer_contact = np.where(has_offer, st.offer_contact[buyers], -1)
    st.offer_end[buyers[has_offer]] = -1e9
    st.boost_end[buyers] = np.minimum(st.boost_end[buyers], when)
    st.last_purchase[buyers] = when
    st.cart_open[buyers] = False
    lapsed = st.lifecycle[buyers] == Stage.LAPSED
    st.lifecycle[buyers[lapsed]] = Stage.ACTIVE
    purchases.append(
        time=when,
        consumer=buyers,
        category=cat,
        value=value,
        discount=discount,
        offer_contact=offer_contact,
        induced=induced,
    )
    obs.record_purchases(buyers, when, cat, value)
    reviewed = s.uniform_at(Purpose.REVIEW, buyers, k) < f32(b.review_prob)
    liked = pop.share[buyers, cat] * pop.n_categories > 1.0
    _bump(obs.likes_by_category, buyers[reviewed & liked], cat[reviewed & liked])

    # --- carts: abandonment of carts opened earlier, then today's sessions
    open_carts = np.flatnonzero(st.cart_open)
    p_abandon = f32(-np.expm1(-b.cart_abandon_rate * dt))
    ab = open_carts[s.uniform_at(Purpose.ABANDON, open_carts, k) < p_abandon]
    ab_time = t0 + dt * pop.active_hour[ab].astype(np.float64) / 24.0
    st.cart_open[ab] = False
    st.last_abandon[ab] = ab_time
    abandoned = EventFeed(ab.astype(np.int32), ab_time, st.cart_category[ab])

    p_browse = f32(b.browse_rate * dt) * demand
    p_browse *= attitude
    browse = s.uniform(Purpose.BROWSE, n, k) < p_browse
    del p_browse
    browse[buyers] = False
    sessions = np.flatnonzero(browse)
    aw_s = floor + (1 - floor) * np.take(st.awareness, sessions, axis=0)
    s_cat = draw_category(
        np.take(pop.share, sessions, axis=0) * aw_s,
        s.uniform_at(Purpose.BROWSE_CATEGORY, sessions, k),
    )
    hour = np.mod(
        pop.active_hour[sessions] + 4.0 * (s.uniform_at(Purpose.SESSION_HOUR, sessions, k) - 0.5),
        24.0,
    )
    s_time = t0 + dt * hour.astype(np.float64) / 24.0
    obs.record_sessions(sessions, s_time, s_cat, hour.astype(np.float32))
    p_cart = np.minimum(f32(b.cart_add_prob) * pop.n_categories * pop.share[sessions, s_cat], 0.9)
    add = s.uniform_at(Purpose.CART, sessions, k) < p_cart
    new_cart = sessions[add]
    st.cart_open[new_cart] = True
    st.cart_category[new_cart] = s_cat[add]
    wish = s.uniform_at(Purpose.WISHLIST, sessions, k) < f32(b.wishlist_prob)
    _bump(obs.likes_by_category, sessions[wish], s_cat[wish])
    browsed = EventFeed(sessions[~add].astype(np.int32), s_time[~add], s_cat[~add])

    # --- stores, pings, lifecycle
    p_visit = f32(b.store_visit_rate * dt) * demand
    visit = np.flatnonzero(s.uniform(Purpose.STORE_VISIT, n, k) < p_visit)
    del p_visit
    obs.store_visits[visit] += 1
    ping = np.flatnonzero(s.uniform(Purpose.PING, n, k) < f32(b.ping_rate * dt))
    ping_time = t0 + dt * pop.active_hour[ping].astype(np.float64) / 24.0
    pinged = EventFeed(ping.astype(np.int32), ping_time, np.full(len(ping), -1, np.int16))
    lapse = s.uniform(Purpose.LAPSE, n, k) < f32(cfg.lifecycle.lapse_rate * dt)
    lapse &= st.lifecycle == Stage.ACTIVE.value
    st.lifecycle[lapse] = Stage.LAPSED
    new = np.flatnonzero(st.lifecycle == Stage.NEW.value)
    st.lifecycle[new[t1 - st.first_purchase[new] > cfg.lifecycle.new_days]] = Stage.ACTIVE
    context = EventFeed(sessions.astype(np.int32), s_time, s_cat)
    return StepEvents(buyers, cat, abandoned, browsed, pinged, context)


def _bump(counts: np.ndarray, who: np.ndarray, cat: np.ndarray) -> None:
    """Increment (N, C) counters at unique rows ``who`` without overflowing the dtype."""
    top = np.iinfo(counts.dtype).max
    cur = counts[who, cat]
    counts[who, cat] = np.where(cur < top, cur + 1, cur)


def seed_history(
    cfg: MarketConfig,
    pop: Population,
    obs: Observations,
    streams: Streams,
    last_purchase: np.ndarray,
) -> None:
    """Fill the observed history before day 0 from the organic model in closed form.

    Purchases per category over the consumer's tenure (at most ``history_days``) are
    Poisson with mean ``r_i·M_stage·D_i·s_ic·tenure``; recency is the minimum of that many
    uniform purchase times (lapsed consumers: at least 60 days ago).  Sessions of the
    last 30 days and wish lists follow the same way.  ``last_purchase`` (state) is set
    to the same recency.
    """
    f32 = np.float32
    rng = streams.rng
    n = pop.n
    lc_mult = np.asarray(cfg.lifecycle.rate_multiplier, f32)
    demand = demand_factor(cfg, pop.share, pop.initial_awareness)
    span = np.minimum(pop.initial_tenure, f32(cfg.history_days))
    rate = (
        pop.base_rate
        * demand
        * np.where(pop.initial_lifecycle == Stage.LAPSED, f32(1.0), lc_mult[pop.initial_lifecycle])
    )
    lam = (rate * span)[:, None] * pop.share
    bought = rng(Purpose.POPULATION, 30).poisson(lam).astype(np.uint16)
    total = bought.sum(axis=1, dtype=np.int64)
    has = total > 0
    u = rng(Purpose.POPULATION, 31).random(n)
    recency = span * (1.0 - u ** (1.0 / np.maximum(total, 1)))
    lapsed = pop.initial_lifecycle == Stage.LAPSED
    recency = np.where(
        lapsed, 60.0 + (np.maximum(span, 60.0) - 60.0) * (recency / np.maximum(span, 1e-9)), recency
    )
    obs.purchases_by_category[:] = bought
    obs.n_purchases[:] = total
    obs.spend[:] = total * pop.basket_mean
    obs.first_purchase[:] = -pop.initial_tenure.astype(np.float64)
    obs.last_purchase[:] = np.where(has, -recency, obs.last_purchase)
    last_purchase[:] = obs.last_purchase
    sessions = cfg.behaviour.browse_rate * 30.0 * demand
    obs.browse_by_category[:] = (
        rng(Purpose.POPULATION, 32).poisson(sessions[:, None] * pop.share).astype(np.uint16)
    )
    likes = cfg.behaviour.wishlist_prob * sessions * 4.0
    obs.likes_by_category[:] = np.minimum(
        rng(Purpose.POPULATION, 33).poisson(likes[:, None] * pop.share), 255
    ).astype(np.uint8)
