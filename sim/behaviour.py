"""Organic behaviour in event time: each interval is planned when it opens, and its
purchases are resolved exactly as time passes.

The clock runs in intervals [t0, t1) of ``step_days`` (Δ: whole days, or a day divided
evenly); the market calls, in order:

**At t0, :class:`Interval`** draws the interval's *intents* from the state at t0 and
publishes them with their own times (:meth:`sim.observe.Observations.publish`), so that
triggers fire at event time plus delay:

* a **session** when the day's browsing exposure ``r_browse·D_i·e^{κA}·Φ`` reaches the
  consumer's session draw of the day (``Φ``: the exposure of the interval to the
  consumer's day rhythm, a 4-hour band around the active hour, Δ for whole days;
  :func:`sim.hazard.band_time`), at the point of the band where it does, in a category
  drawn from ``s_ic·W_ic·g_ic``; it adds a **cart** with probability ``p_cart·C·s_ic``
  (at most 0.9) or is a *browsed* event; it may add to a wish list;
* each cart is **abandoned** at ``t_add + X``, ``X ~ Exp(r_abandon)`` drawn when it is
  added, unless a purchase empties it first; a cart added while one is open replaces it;
* a **location ping** (exposure ``r_ping·Φ``, time in the band) and a **store visit**
  (exposure ``r_visit·D_i·Δ``) the same way;
* the organic purchase rate ``h_i = r_i·M_stage·D_i·e^{κA_i}`` (:mod:`sim.response`; D
  includes the inter-purchase dip of :mod:`sim.dip`, taken at the interval's midpoint,
  which integrates its linear recovery exactly except in the interval where it ends).

**Daily clocks.**  Each consumer has one draw per day and kind of event (purchase,
session, visit, ping, lapse), keyed by (seed, purpose, day, consumer) in
:mod:`sim.streams` and wound up when the day starts; every interval of the day uses up
part of it (the purchase threshold ``E = -log(1 - u)`` by the integrated hazard, the
others' uniform by their exposure), and the event happens where it runs out: at most one
event of a kind per consumer and day.  So the intervals of a day share their random
numbers whatever their length, and halving the step changes no draw.

**Up to any time t** (:meth:`Interval.settle`, called for a contact's consumers before the
contact changes them, for a trigger's "bought since?" question, and for everyone at t1)
the purchase hazard (:mod:`sim.hazard`)

    h(t) = (1 - π·1_pen(t))·(h_i + r_cart·1_cart(t) + r_ret·Σ_j w_j e^{-(t - A_j)/m})
           + a·1_boost(t)

is integrated exactly from where the consumer was last settled; the consumer buys at the
first τ where the cumulative hazard since the day began reaches ``E``.  A purchase closes
the cart, the persuasion window and the return hazard, and starts the category's dip.
Because each contact settles its consumers first, every persuasion window and penalty
counts from its contact's time, a contact changes nothing before it (common random
numbers: the baseline's purchase before a contact is the campaign world's too), and the
answer to "bought since?" is final when given (later contacts only add hazard later).
After a contact, ``h_i`` is recomputed from the changed state (its awareness gain counts
from its time).  A purchase is **induced** when the baseline cumulative hazard over the
whole interval (``h_i`` at t0, carts and returns, no persuasion, no penalty) would not
have reached the threshold: it would not have happened in this interval without the
contacts.  Induced purchases are in the offered category; others in one drawn from
``s_ic·W_ic·g_ic``.  An offer valid at τ is redeemed by any purchase.

**At t1, :meth:`Interval.close`** settles everyone, records the purchases and the stored
profile (sessions, wish lists, carts abandoned, visits, pings), updates carts and return
weights, lapses and graduations, and hands the interval's buyers to word of mouth.

What stays discretised (the tests bound it: ``tests/test_market_step_size.py``):
sessions, visits and pings follow the demand at t0 (a contact's awareness gain moves
them from the next interval on; it moves purchases at once), word of mouth moves at t1,
and the dip is taken at the midpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from sim.carts import CartPlan, locate
from sim.config import MarketConfig
from sim.dip import LiveDips, dip_factor, replenishment
from sim.hazard import FAR, Terms, band_time, covered, decayed, solve
from sim.ledger import Table
from sim.observe import NEVER, EventFeed, Observations
from sim.population import Population, Stage
from sim.response import RETURN_HORIZON, cart_add_probability, consumer_demand, demand_factor
from sim.state import Horizons, MarketState
from sim.streams import Purpose, Streams

EVENT_CLOCKS = {"session": Purpose.BROWSE, "visit": Purpose.STORE_VISIT, "lapse": Purpose.LAPSE}
"""The daily clocks of the events other than purchases, and their streams."""

BAND_HOURS = 4.0
"""Width of the daily band around a consumer's active hour in which sessions and pings
happen (uniformly)."""


def draw_category(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw per row of ``weights`` (n, C) with uniforms ``u`` (n,)."""
    cum = np.cumsum(weights, axis=1)
    pick = (cum < (u * cum[:, -1])[:, None]).sum(axis=1)
    return np.minimum(pick, weights.shape[1] - 1).astype(np.int16)


@dataclass
class Organic:
    """The parts of a market the organic model reads and writes."""

    cfg: MarketConfig
    pop: Population
    st: MarketState
    obs: Observations
    streams: Streams
    purchases: Table
    horizons: Horizons
    dips: LiveDips
    open_carts: np.ndarray  # consumers with an open cart (sorted), kept by the intervals
    newcomers: np.ndarray  # consumers in the *new* stage by first purchase (the set shrinks)
    newcomer_since: np.ndarray  # their first purchase times (ascending)
    stage_rate: np.ndarray  # r_i·M_stage (float32), kept by set_stage

    @classmethod
    def of(
        cls,
        cfg: MarketConfig,
        pop: Population,
        st: MarketState,
        obs: Observations,
        streams: Streams,
        purchases: Table,
        horizons: Horizons,
    ) -> Organic:
        """The organic model's view of a market whose state is at day 0."""
        new = np.flatnonzero(st.lifecycle == Stage.NEW.value)
        newcomers = new[np.argsort(st.first_purchase[new], kind="stable")]
        return cls(
            cfg,
            pop,
            st,
            obs,
            streams,
            purchases,
            horizons,
            LiveDips(cfg, pop.share, st.last_bought),
            np.flatnonzero(st.cart_open),
            newcomers,
            st.first_purchase[newcomers],
            pop.base_rate * np.take(cls.multipliers(cfg), st.lifecycle),
        )

    @staticmethod
    def multipliers(cfg: MarketConfig) -> np.ndarray:
        return np.asarray(cfg.lifecycle.rate_multiplier, np.float32)

    def set_stage(self, who: np.ndarray, stage: Stage) -> None:
        """Move consumers ``who`` to ``stage`` (the organic model changes stages only so)."""
        self.st.lifecycle[who] = stage
        self.stage_rate[who] = self.pop.base_rate[who] * self.multipliers(self.cfg)[stage]


class Interval:
    """One interval [t0, t1) of the organic model: its plan, what is settled so far, and
    the purchases it has produced (see the module doc)."""

    def __init__(self, world: Organic, k: int) -> None:
        cfg, pop, st, s = world.cfg, world.pop, world.st, world.streams
        b = cfg.behaviour
        f32 = np.float32
        n, dt = pop.n, cfg.step_days
        self.world, self.k = world, k
        self.t0, self.t1 = k * dt, (k + 1) * dt
        t0, t1 = self.t0, self.t1
        self.t_mid = 0.5 * (t0 + t1)
        floor = f32(cfg.response.awareness_floor)

        demand = self._demand()
        self.h = self._rate(slice(None), demand)  # organic rate now (a contact recomputes ...
        self.h_open: np.ndarray | None = None  # ... its consumers') and at t0, once one did
        # The day's draws: one per consumer and kind of event, keyed by the day (so that
        # the intervals of a day share them, whatever their length), wound up at its start.
        # An interval of a day or more has the day's draws to itself: no clock runs on.
        self.day = int(np.floor(t0 + 1e-9))
        self.whole = dt > 1.0 - 1e-9
        # Purchase thresholds E = -log(1 - u): a day to itself keeps the uniforms and takes
        # the logarithm only where the hazard comes near (see :meth:`reached`).
        self.u: np.ndarray | None = None
        if self.whole:
            self.u = s.uniform(Purpose.PURCHASE, n, self.day)
        else:
            if abs(t0 - round(t0)) < 1e-9:
                st.purchase_clock[:] = exponential(s.uniform(Purpose.PURCHASE, n, self.day))
                for kind, purpose in EVENT_CLOCKS.items():
                    getattr(st, f"{kind}_clock")[:] = s.uniform(purpose, n, self.day)
        self.e = st.purchase_clock  # reached by the cumulative hazard since t0: a purchase
        self.settled = t0  # everyone is settled up to here ...
        self.resolved: np.ndarray | None = None  # ... or up to these times (after a batch)
        self.cum: np.ndarray | None = None  # cumulative hazard since t0 (None: 0)
        returning = np.flatnonzero(st.return_weight > 0)
        old_ones = st.last_abandon[returning] <= t0 - RETURN_HORIZON * b.abandoner_memory_days
        self.returning = returning[~old_ones] if old_ones.any() else returning
        self.bought: list[tuple[np.ndarray, ...]] = []  # the purchases, as they are found

        # --- sessions, carts, wish lists
        if abs(dt - round(dt)) < 1e-12:
            exposure: Any = f32(dt)  # whole days hold the day rhythm's band whole
        else:
            exposure, _ = band_time(pop.active_hour, t0, t1, np.zeros(n, f32), BAND_HOURS)
            exposure = exposure.astype(f32)
        x_browse = f32(b.browse_rate) * demand
        if world.horizons.attitude:
            x_browse *= np.exp(f32(cfg.response.attitude_effect) * st.attitude)
        if np.ndim(exposure) or exposure != 1:  # (whole days: x 1 would change nothing)
            x_browse *= exposure
        sessions, used = tick(self.clock("session"), x_browse, not self.whole)
        del x_browse
        _, s_time = band_time(pop.active_hour[sessions], t0, t1, used, BAND_HOURS)
        weights = np.take(pop.share, sessions, axis=0) * (
            floor + (1 - floor) * np.take(st.awareness, sessions, axis=0)
        )
        dip = dip_factor(cfg, np.take(st.last_bought, sessions, axis=0), self.t_mid)
        if dip is not None:
            weights *= dip
        day = self.day
        s_cat = draw_category(weights, s.uniform_at(Purpose.BROWSE_CATEGORY, sessions, day))
        p_cart = cart_add_probability(cfg, pop.share[sessions, s_cat], pop.n_categories)
        add = s.uniform_at(Purpose.CART, sessions, day) < p_cart
        new = sessions[add]
        u_ab = s.uniform_at(Purpose.ABANDON, new, day).astype(np.float64)
        new_abandon = s_time[add] - np.log1p(-u_ab) / b.cart_abandon_rate
        old = world.open_carts
        self.carts = CartPlan.build(
            t0,
            t1,
            old,
            st.cart_abandon_at[old],
            st.cart_category[old],
            new,
            s_time[add],
            new_abandon,
            s_cat[add],
        )
        self.sessions, self.s_time, self.s_cat = sessions, s_time, s_cat
        self.wish = s.uniform_at(Purpose.WISHLIST, sessions, day) < f32(b.wishlist_prob)

        # --- stores and pings
        x_visit = f32(b.store_visit_rate * dt) * demand
        self.visits = tick(self.clock("visit"), x_visit, not self.whole)[0]
        del x_visit
        self._pings: tuple[np.ndarray, np.ndarray] | None = None
        self.added = add
        world.obs.publish(self.feeds)
        world.obs.record_pings(partial(draw_pings, world, self.day, t0, t1))

    def clock(self, kind: str) -> np.ndarray:
        """The day's clock of an event ``kind`` (see :data:`EVENT_CLOCKS`): what is left of each
        consumer's draw of the day (sub-day intervals: kept in the state), or the day's
        draws themselves (an interval of a day or more, which uses each once: drawn when
        used and not kept, since they depend only on the day)."""
        w = self.world
        if self.whole:
            return w.streams.uniform(EVENT_CLOCKS[kind], w.pop.n, self.day)
        clock: np.ndarray = getattr(w.st, f"{kind}_clock")
        return clock

    def pings(self) -> tuple[np.ndarray, np.ndarray]:
        """The interval's location pings (:func:`draw_pings`), drawn when first asked for."""
        if self._pings is None:
            self._pings = draw_pings(self.world, self.day, self.t0, self.t1)
        return self._pings

    def feeds(self) -> tuple[EventFeed, EventFeed, EventFeed, EventFeed]:
        """The interval's events: carts abandoned, sessions without a cart, pings, every
        session (see :meth:`sim.observe.Observations.publish`)."""
        add, s_time, s_cat = self.added, self.s_time, self.s_cat
        sessions = self.sessions.astype(np.int32)
        pings, ping_time = self.pings()
        return (
            self.carts.feed(self.t0),
            EventFeed(sessions[~add], s_time[~add], s_cat[~add], s_time[~add]),
            EventFeed(
                pings.astype(np.int32), ping_time, np.full(pings.size, -1, np.int16), ping_time
            ),
            EventFeed(sessions, s_time, s_cat, s_time),
        )

    # ------------------------------------------------------------------ settling
    def rate_at_open(self) -> np.ndarray:
        """Every consumer's organic rate as the interval opened (before any contact)."""
        return self.h if self.h_open is None else self.h_open

    def terms(self, ids: np.ndarray) -> Terms:
        """The hazard terms of consumers ``ids`` now."""
        w = self.world
        st, b = w.st, w.cfg.behaviour
        m = ids.shape[0]
        rows, pos = locate(self.carts.who, ids)
        carts = np.empty((m, 6))  # no cart: empty segments at t1, no abandonment
        carts[:, :4] = self.t1
        carts[:, 4:] = FAR
        carts[rows] = self.carts.segments[pos]
        f64 = np.float64
        return Terms(
            h=self.h[ids].astype(f64),
            ret_w=st.return_weight[ids].astype(f64),
            ret_t=st.last_abandon[ids],
            s0=carts[:, 0],
            e0=carts[:, 1],
            s1=carts[:, 2],
            e1=carts[:, 3],
            a1=carts[:, 4],
            a2=carts[:, 5],
            ps=st.penalty_start[ids],
            pe=st.penalty_end[ids],
            level=st.boost[ids].astype(f64),
            bs=st.boost_start[ids],
            be=st.boost_end[ids],
            r_cart=b.cart_purchase_rate,
            r_ret=b.abandoner_return_rate,
            memory=b.abandoner_memory_days,
            penalty=w.cfg.creepiness.purchase_penalty,
        )

    def settle(self, idx: np.ndarray | None, now: float, commit: bool = True) -> None:
        """Resolve the purchases of consumers ``idx`` (unique; None: everyone) up to
        ``now`` (at most t1), with the state as it is (see the module doc).

        ``commit`` False (a question, not a change of state, follows) records the
        purchases found but leaves the others' cumulative hazard where it was, so that
        asking changes no number: the purchase time solves the same equation from the
        same start whenever it is found (:meth:`sim.hazard.Terms.invert` does not depend
        on ``now``)."""
        b = min(now, self.t1)
        f32 = np.float32
        n = self.h.shape[0]
        if idx is not None and not idx.size:
            return
        resolved, cum0 = self.resolved, self.cum
        a: Any  # the start of each consumer's unsettled part: one time, or one each
        if resolved is None:
            a = self.settled
            if a >= b:
                return
        else:
            a = resolved if idx is None else resolved[idx]
        if idx is not None and idx.shape[0] * 4 > n:
            # A large batch: whole-population arrays (no gathers), then its rows.
            every = self.settled if resolved is None else resolved
            H = self._integral(None, every, b)[idx]
        else:
            H = self._integral(idx, a, b)
        if cum0 is None:
            before: np.ndarray = np.zeros(H.shape[0], f32)
            cum = H
        else:
            before = cum0 if idx is None else cum0[idx]
            cum = before + H
        if commit and idx is None:
            self.cum = cum
            self.settled, self.resolved = b, None
        elif commit:
            if cum0 is None:
                self.cum = cum0 = np.zeros(n, f32)
            cum0[idx] = cum
            if resolved is None:
                self.resolved = resolved = np.full(n, self.settled)
            resolved[idx] = b
        hit, e_hit = self.reached(cum, idx)
        if not hit.size:
            return
        buyers = hit if idx is None else idx[hit]
        terms = self.terms(buyers)
        start = np.full(hit.shape, a) if np.ndim(a) == 0 else a[hit]
        tau = self._when(
            terms,
            start.astype(np.float64),
            before[hit].astype(np.float64),
            e_hit.astype(np.float64),
        )
        self._buy(buyers, np.minimum(tau, np.nextafter(b, -np.inf)), terms)

    def threshold(self, rows: np.ndarray) -> np.ndarray:
        """The purchase thresholds E of consumers ``rows`` (float32)."""
        return self.e[rows] if self.u is None else exponential(self.u[rows])

    def reached(self, cum: np.ndarray, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Where the cumulative hazard ``cum`` of consumers ``idx`` (None: everyone) exceeds
        their threshold E, and E there.

        A day to itself computes E only where ``cum`` exceeds the lower bound
        ``u·LOWER`` of ``-log(1 - u) ≥ u``: the same elementwise E, for a few hundred
        consumers instead of the population (the logarithm was a tenth of a run)."""
        if self.u is None:
            e = self.e if idx is None else self.e[idx]
            hit = np.flatnonzero(cum > e)
            return hit, e[hit]
        u = self.u if idx is None else self.u[idx]
        near = np.flatnonzero(cum > u * LOWER)
        e = exponential(u[near])
        over = cum[near] > e
        return near[over], e[over]

    def _integral(self, idx: np.ndarray | None, a: Any, b: float) -> np.ndarray:
        """``∫_a^b h(t) dt`` for consumers ``idx`` (None: everyone) from their own ``a``
        (float32): the terms of :mod:`sim.hazard`, each only where it applies."""
        w = self.world
        cfg, st = w.cfg, w.st
        f32 = np.float32
        full = idx is None
        h = self.h if full else self.h[idx]
        scalar = np.ndim(a) == 0
        # b - a rounded to float32, then the float32 product (a cast, not a ufunc given
        # dtype=, which casts through buffers)
        H = h * f32(b - a) if scalar else h * (b - a).astype(f32)
        bh = cfg.behaviour
        m = bh.abandoner_memory_days

        def at(rows: np.ndarray) -> Any:
            return a if scalar else a[rows]

        rows, pos = locate(self.returning, idx)
        if rows.size:  # r·w·∫ e^{-(t - t_w)/m} = r·m·w·e^{-(a - t_w)/m}·(1 - e^{-(b - a)/m})
            ids = self.returning[pos]
            lo = at(rows)
            ret = np.exp((st.last_abandon[ids] - lo) / m)
            ret *= st.return_weight[ids]
            ret *= bh.abandoner_return_rate * m * -np.expm1((lo - b) / m)
            H[rows] += ret.astype(f32)
        rows, pos = locate(self.carts.who, idx)
        if rows.size:
            seg, lo = self.carts.segments, at(rows)
            if idx is not None:  # (everyone: every cart, in order)
                seg = seg[pos]
            s0, e0, s1, e1, a1, a2 = seg.T
            add = covered(s0, e0, lo, b) + covered(s1, e1, lo, b)
            add *= bh.cart_purchase_rate
            ret = decayed(a1, lo, b, m) + decayed(a2, lo, b, m)
            add += bh.abandoner_return_rate * ret
            H[rows] += add.astype(f32)
        lo_min = float(a) if scalar else float(a.min())
        if w.horizons.penalty > lo_min:
            pe = st.penalty_end if full else st.penalty_end[idx]
            sel = np.flatnonzero(pe > a)
            if sel.size:
                ids = sel if idx is None else idx[sel]
                lo = at(sel)
                p_lo = np.maximum(lo, st.penalty_start[ids])
                p_hi = np.maximum(np.minimum(b, st.penalty_end[ids]), p_lo)
                lost = self.terms(ids).base(p_lo, p_hi)
                H[sel] -= (cfg.creepiness.purchase_penalty * lost).astype(f32)
        if w.horizons.boost > lo_min:
            be = st.boost_end if full else st.boost_end[idx]
            bs = st.boost_start if full else st.boost_start[idx]
            level = st.boost if full else st.boost[idx]
            x = np.minimum(be, b)  # covered(bs, be, a, b) in place: no temporaries of N
            x -= np.maximum(bs, a)
            np.maximum(x, 0.0, out=x)
            y = x.astype(f32)  # level * x.astype(f32), as a cast and in-place products
            y *= level
            H += y
        return H

    def _when(self, terms: Terms, a: np.ndarray, cum: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Purchase times of the consumers of ``terms``.  Where no term switches on or off
        between ``a`` and t1 the hazard is ``c + K·e^{-(t - a)/m}`` from ``a``; elsewhere
        :meth:`sim.hazard.Terms.locate` finds the piece between breakpoints where the
        threshold is reached.  :func:`sim.hazard.solve` then inverts every piece in one
        pass (exactly ``p + rest/c`` without a return term); each root is its own, so this
        is :meth:`sim.hazard.Terms.invert` row by row, with fewer operations."""
        t1 = self.t1
        cut = terms.breakpoints()
        inside = ((cut > a[:, None]) & (cut < t1)).any(axis=1)
        if inside.all():
            return terms.invert(a, cum, e, t1)
        tau = np.empty(a.shape[0])
        rows = np.flatnonzero(~inside)  # one piece from a to t1
        p, q, left = a[rows], np.full(rows.size, t1), e[rows] - cum[rows]
        rest = np.flatnonzero(inside)
        if rest.size:  # their pieces located, every root found in one pass: τ ≥ p
            p_r, q_r, left_r = terms.take(rest).locate(a[rest], cum[rest], e[rest], t1)
            rows = np.concatenate([rows, rest])
            p, q = np.concatenate([p, p_r]), np.concatenate([q, q_r])
            left = np.concatenate([left, left_r])
        part = terms.take(rows) if rest.size else terms
        c, k = part.piece(p, q)
        tau[rows] = p + solve(c, k, part.memory, left, q - p)
        return tau  # (the caller keeps τ before the end of what it settles)

    def _buy(self, buyers: np.ndarray, tau: np.ndarray, terms: Terms) -> None:
        """Record the purchases of ``buyers`` at times ``tau`` and apply them to the state
        (``terms``: their hazard terms, read before the purchases change them)."""
        w = self.world
        cfg, pop, st, obs, s = w.cfg, w.pop, w.st, w.obs, w.streams
        f32 = np.float32
        # Induced: the baseline cumulative hazard of the interval (the organic rate at t0,
        # carts and returns, no persuasion, no penalty) stays below E.  Only a persuasion
        # window in the interval, or a contact's awareness gain, can make it so.
        induced = np.zeros(buyers.shape[0], bool)
        changed = st.boost_end[buyers] > self.t0
        if self.h_open is not None:
            changed |= self.h[buyers] != self.h_open[buyers]
        maybe = np.flatnonzero(changed)
        if maybe.size:
            t0 = np.full(maybe.size, self.t0)
            baseline = replace(
                terms.take(maybe), h=self.rate_at_open()[buyers[maybe]].astype(np.float64)
            )
            induced[maybe] = self.threshold(buyers[maybe]) > baseline.base(
                t0, np.full_like(t0, self.t1)
            )
        floor = f32(cfg.response.awareness_floor)
        weights = np.take(pop.share, buyers, axis=0) * (
            floor + (1 - floor) * np.take(st.awareness, buyers, axis=0)
        )
        dip = dip_factor(cfg, np.take(st.last_bought, buyers, axis=0), self.t_mid)
        if dip is not None:
            weights *= dip
        day = self.day
        cat = draw_category(weights, s.uniform_at(Purpose.PURCHASE_CATEGORY, buyers, day))
        boosted_cat = st.boost_category[buyers]
        cat = np.where(induced & (boosted_cat >= 0), boosted_cat, cat).astype(np.int16)
        value = pop.basket_mean[buyers] * (f32(0.5) + s.uniform_at(Purpose.BASKET, buyers, day))
        # The offer redeemed, if any (its other columns read only where there is one).
        has_offer = st.offer_end[buyers] > tau
        if has_offer.any():
            with_offer = np.flatnonzero(has_offer)
            has_offer[with_offer] = st.offer_start[buyers[with_offer]] <= tau[with_offer]
        discount = np.zeros(buyers.shape[0], f32)
        offer_contact = np.full(buyers.shape[0], -1, np.int64)
        redeemed = buyers[has_offer]
        if redeemed.size:
            discount[has_offer] = st.offer_discount[redeemed]
            offer_contact[has_offer] = st.offer_contact[redeemed]
            st.offer_end[redeemed] = NEVER
        st.boost_end[buyers] = np.minimum(st.boost_end[buyers], tau)
        st.last_purchase[buyers] = tau
        st.cart_open[buyers] = False
        st.return_weight[buyers] = 0.0
        lapsed = st.lifecycle[buyers] == Stage.LAPSED
        w.set_stage(buyers[lapsed], Stage.ACTIVE)
        st.last_bought[buyers, cat] = tau.astype(f32)
        st.dip_until[buyers] = np.maximum(st.dip_until[buyers], tau + replenishment(cfg)[cat])
        w.dips.add(buyers, cat, st.last_bought[buyers, cat])
        (self.e if self.u is None else self.u)[buyers] = np.inf  # one purchase per day
        self.bought.append((buyers, tau, cat, value, discount, offer_contact, induced))
        obs.record_purchases(buyers, tau, cat, value)
        reviewed = s.uniform_at(Purpose.REVIEW, buyers, day) < f32(cfg.behaviour.review_prob)
        liked = pop.share[buyers, cat] * pop.n_categories > 1.0
        _bump(obs.likes_by_category, buyers[reviewed & liked], cat[reviewed & liked])

    def refresh(self, idx: np.ndarray) -> None:
        """Recompute the organic rate of consumers ``idx`` from the state now (after a
        contact changed their awareness or attitude); it applies from now on."""
        w = self.world
        if self.h_open is None:
            self.h_open = self.h.copy()
        if idx.shape[0] * 4 > w.pop.n:  # a large batch: whole-population arrays, its rows
            self.h[idx] = self._rate(slice(None), self._demand())[idx]
        else:
            awake = demand_factor(w.cfg, w.pop.share[idx], w.st.awareness[idx])
            self.awake[idx] = awake
            demand = consumer_demand(w.cfg, w.pop, w.st, idx, self.t_mid, awake)
            self.h[idx] = self._rate(idx, demand)

    def awake_of(self, idx: np.ndarray) -> np.ndarray:
        """The demand factor without the dips (:func:`sim.response.demand_factor`) of
        consumers ``idx`` now, from the interval's record (kept up to date by
        :meth:`refresh` after every contact): a contact need not recompute it."""
        return self.awake[idx]

    def _demand(self) -> np.ndarray:
        """Every consumer's demand factor, the dips taken at the interval's midpoint (the
        factor without the dips is kept as :attr:`awake`)."""
        w = self.world
        cfg, pop, st = w.cfg, w.pop, w.st
        self.awake = demand_factor(cfg, pop.share, st.awareness)
        demand = self.awake.copy()
        floor = np.float32(cfg.response.awareness_floor)
        who, loss = w.dips.loss(st.awareness, floor, self.t_mid)
        if who.size:
            np.subtract.at(demand, who, loss)
        return demand

    def _rate(self, idx: np.ndarray | slice, demand: np.ndarray) -> np.ndarray:
        """``r_i·M_stage·D_i·e^{κA_i}`` of consumers ``idx`` (``demand``: their D)."""
        w = self.world
        cfg, st = w.cfg, w.st
        f32 = np.float32
        h = w.stage_rate[idx] * demand
        if w.horizons.attitude:
            h *= np.exp(f32(cfg.response.attitude_effect) * st.attitude[idx])
        return h

    # ------------------------------------------------------------------ closing
    def close(self) -> tuple[np.ndarray, np.ndarray]:
        """Settle everyone to t1 and record the interval; returns its buyers and the
        categories they bought (the word-of-mouth signal)."""
        w = self.world
        cfg, st, obs = w.cfg, w.st, w.obs
        t0, t1 = self.t0, self.t1
        self.settle(None, t1)
        if self.cum is not None and not self.whole:  # the day's purchase clocks run down
            st.purchase_clock -= self.cum
        if self.bought:
            cols = [np.concatenate(c) for c in zip(*self.bought, strict=True)]
        else:
            empty = (np.int64, np.float64, np.int16, np.float32, np.float32, np.int64, bool)
            cols = [np.empty(0, t) for t in empty]
        order = np.lexsort((cols[0], cols[1]))  # by time, then consumer
        buyers, tau, cats, value, discount, offer_contact, induced = (c[order] for c in cols)
        w.purchases.append(
            time=tau,
            consumer=buyers,
            category=cats,
            value=value,
            discount=discount,
            offer_contact=offer_contact,
            induced=induced,
        )
        self._close_carts(buyers, tau)
        obs.record_sessions(
            self.sessions,
            self.s_time,
            self.s_cat,
            (np.mod(self.s_time, 1.0) * 24.0).astype(np.float32),
        )
        _bump(obs.likes_by_category, self.sessions[self.wish], self.s_cat[self.wish])
        obs.store_visits[self.visits] += 1
        x_lapse = np.float32(cfg.lifecycle.lapse_rate * (t1 - t0))  # while active
        if self.whole:  # the day's draw to itself: the active ones whose draw is below
            lapse = w.streams.below(EVENT_CLOCKS["lapse"], w.pop.n, x_lapse, self.day)
            lapse = lapse[st.lifecycle[lapse] == Stage.ACTIVE.value]
        else:
            active = st.lifecycle == Stage.ACTIVE.value
            lapse = tick(self.clock("lapse"), np.where(active, x_lapse, 0.0))[0]
        w.set_stage(lapse, Stage.LAPSED)
        # Newcomers are held by first purchase, so those grown out of the stage lead.
        grown = int(np.count_nonzero(t1 - w.newcomer_since > cfg.lifecycle.new_days))
        if grown:
            w.set_stage(w.newcomers[:grown], Stage.ACTIVE)
            w.newcomers, w.newcomer_since = w.newcomers[grown:], w.newcomer_since[grown:]
        # Closed, the interval keeps only what its event feeds read: the market's event
        # source still holds it while the next interval opens, so its population-sized
        # arrays go now (they would double the peak memory of that moment).
        del self.h, self.h_open, self.awake, self.u, self.e, self.cum, self.resolved
        return buyers, cats

    def _close_carts(self, buyers: np.ndarray, tau: np.ndarray) -> None:
        """Carts and return weights after the interval; the marketer's record of the carts
        abandoned (those not emptied by a purchase first)."""
        cp, st, obs = self.carts, self.world.st, self.world.obs
        if not cp.who.size:
            return
        m = self.world.cfg.behaviour.abandoner_memory_days
        t_buy = np.full(cp.who.shape[0], FAR)
        if buyers.size:
            order = np.argsort(buyers, kind="stable")  # buyers are unique
            rows, pos = locate(cp.who, buyers[order])
            t_buy[pos] = tau[order][rows]
        bought = t_buy < FAR
        # An abandonment stands unless a purchase fell between its `since` and its time.
        one = (cp.a1 < FAR) & (t_buy > cp.a1)
        two = (cp.a2 < FAR) & ((t_buy > cp.a2) | (t_buy < cp.s1))
        survives = ~bought | (cp.has_new & (cp.s1 > t_buy))  # a cart filled after buying
        st.cart_open[cp.who] = survives & cp.final_open
        self.world.open_carts = cp.who[survives & cp.final_open]
        st.cart_category[cp.who[survives]] = cp.final_cat[survives]
        st.cart_abandon_at[cp.who[survives]] = cp.final_abandon[survives]
        # Return weights: abandonments after the consumer's last purchase add 1 each.
        after = np.where(bought, t_buy, -np.inf)
        one_on, two_on = one & (cp.a1 > after), two & (cp.a2 > after)
        last = np.maximum(np.where(one_on, cp.a1, -np.inf), np.where(two_on, cp.a2, -np.inf))
        fold = np.flatnonzero(one_on | two_on)
        if fold.size:
            who, ref = cp.who[fold], last[fold]
            weight = st.return_weight[who] * np.exp((st.last_abandon[who] - ref) / m)
            for anchor, on in ((cp.a1[fold], one_on[fold]), (cp.a2[fold], two_on[fold])):
                weight += np.where(on, np.exp((np.minimum(anchor, ref) - ref) / m), 0.0)
            st.return_weight[who] = weight
            st.last_abandon[who] = ref
        seen = np.flatnonzero(one | two)
        latest = np.maximum(np.where(one, cp.a1, -np.inf), np.where(two, cp.a2, -np.inf))
        obs.last_abandon[cp.who[seen]] = latest[seen]


def draw_pings(world: Organic, day: int, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """The location pings (consumers, times) of [t0, t1) within ``day``.  A ping happens
    where the day's exposure ``r_ping·Φ`` reaches the consumer's draw of the day; it
    depends on nothing in the market's state, so it is drawn only when read."""
    pop, rate = world.pop, world.cfg.behaviour.ping_rate
    u = world.streams.uniform(Purpose.PING, pop.n, day).astype(np.float64)
    before: Any
    now: Any
    if t1 - t0 > 1.0 - 1e-9:  # the day's whole band
        before, now = 0.0, rate * (t1 - t0)
        who = np.flatnonzero(u < now)
        used = u[who] / now
    else:
        zero = np.zeros(pop.n)
        before = rate * band_time(pop.active_hour, float(day), t0, zero, BAND_HOURS)[0]
        now = rate * band_time(pop.active_hour, t0, t1, zero, BAND_HOURS)[0]
        who = np.flatnonzero((u >= before) & (u < before + now))
        used = (u[who] - before[who]) / now[who]
    return who, band_time(pop.active_hour[who], t0, t1, used, BAND_HOURS)[1]


def tick(clock: np.ndarray, exposure: Any, running: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run every consumer's daily clock of an event down by this interval's ``exposure``
    (one per consumer or one for all): the consumers whose clock runs out have the event,
    at the share ``used`` of their exposure where it does, and (``running``: more of the
    day is to come) their clock stops for the rest of the day (one event of a kind per
    day) while the others' carry what is left.  Returns the consumers and ``used``."""
    hit = np.flatnonzero(clock < exposure)
    used = clock[hit] / (exposure[hit] if np.ndim(exposure) else exposure)
    if running:
        clock -= exposure
        clock[hit] = np.inf
    return hit, used


LOWER = np.float32(1.0 - 2.0**-16)
"""``u·LOWER ≤ -log(1 - u)`` for float32 uniforms with a wide margin: the exact bound is
``u`` itself, and a logarithm in float32 errs by an ulp or two (2^-23 relative)."""

_TOP: dict[np.dtype[Any], int] = {}
"""The largest count of each counter dtype (``np.iinfo`` is slow to build)."""


def exponential(u: np.ndarray) -> np.ndarray:
    """``-log(1 - u)`` in place (uniforms to Exp(1) thresholds, float32)."""
    np.negative(u, out=u)
    np.log1p(u, out=u)
    np.negative(u, out=u)
    return u


def _bump(counts: np.ndarray, who: np.ndarray, cat: np.ndarray) -> None:
    """Increment (N, C) counters at unique rows ``who`` without overflowing the dtype."""
    top = _TOP.get(counts.dtype) or _TOP.setdefault(counts.dtype, np.iinfo(counts.dtype).max)
    cur = counts[who, cat]
    counts[who, cat] = np.where(cur < top, cur + 1, cur)
