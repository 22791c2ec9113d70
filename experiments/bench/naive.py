"""The same market, written the obvious way: one SimPy process per consumer.

This module exists for one purpose: to be the baseline the vectorised engine
(:mod:`sim.market`, :mod:`sim.behaviour`) is benchmarked against
(``python -m experiments.bench.engine``).  It implements the *same model*:

* the same :class:`~sim.config.MarketConfig` and the same population, drawn by
  :func:`sim.population.synthesize` from the same seed, and the same pre-run history of
  last purchases by category (:func:`sim.history.seed_history`: it sets the dips);
* the same day of a consumer as :class:`sim.behaviour.Interval`: a session where the
  day's browsing exposure ``r_browse·D·e^{κA}·Δ`` reaches the consumer's draw, at the
  same point of the 4-hour band around the active hour, in a category drawn from
  ``s_c·W_c·g_c``, with a cart (abandoned ``Exp(r_abandon)`` after it is filled unless
  bought first), a wish list, store visits, location pings, lapse and graduation from
  the *new* stage; a purchase where the day's purchase hazard
  ``(1 - π·1_pen)·(h + r_cart·1_cart + r_ret·Σ w_j e^{-(t - A_j)/m}) + a·1_boost``,
  integrated from the start of the day, reaches an Exp(1) draw (found by bisection),
  resolved before each contact and at the day's end; the inter-purchase dip
  ``1 - d·max(0, 1 - age/R_c)`` of :mod:`sim.dip`; induced purchases, offer redemption;
* the same word of mouth (:mod:`sim.word_of_mouth`): once a day, after every consumer
  has moved, each tribe's purchases and backlash events per member move its members'
  awareness and attitude;
* the same response to a contact (:mod:`sim.response`): persuasion, intrusiveness,
  backlash probability, penalty window, attitude hit, opt-out, awareness gain, fatigue
  and annoyance.

but in plain Python, one consumer at a time: every consumer is a SimPy process that
wakes once a day and draws its own random numbers from its own
:class:`numpy.random.Generator` (spawned from one :class:`numpy.random.SeedSequence`;
no global random state), and the weekly mass e-mail wave is a process that contacts
consumers one by one.  It is *not* bit-identical to the vectorised engine (the random
streams differ), only equal in distribution; ``tests/test_naive.py`` checks that.

Two deliberate choices keep the comparison fair rather than a straw man: a consumer
draws its day's uniforms in one call (``rng.random(12)``) rather than twelve scalar
calls, and consumer objects use ``__slots__``.  The observation layer is reduced to
the counters a marketer would keep (purchases, spend, likes, visits, pings, contacts).
Only whole-day steps are supported.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT

from sim.config import CHANNELS, DATA_KINDS, MarketConfig
from sim.dip import replenishment
from sim.history import seed_history
from sim.observe import NEVER, Observations
from sim.population import Population, synthesize
from sim.state import MarketState
from sim.streams import Streams

NAIVE_STREAM = 90
"""Spawn key of the naive model's SeedSequence (outside :class:`sim.streams.Purpose`)."""

# Order of the uniforms a consumer draws for one day.
(
    U_BUY,
    U_BUY_CAT,
    U_BASKET,
    U_REVIEW,
    U_ABANDON,
    U_BROWSE,
    U_BROWSE_CAT,
    U_CART,
    U_WISH,
    U_STORE,
    U_PING,
    U_LAPSE,
) = range(12)
N_DAILY_UNIFORMS = 12
BAND = 4.0 / 24.0  # the day rhythm's band, days
FAR = 1e18

NEW, ACTIVE, LAPSED = 0, 1, 2


def urgent_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    """A timeout with SimPy's URGENT priority: like the vectorised engine's step, a
    consumer's day closing at time t runs before any contact stamped t."""
    ev = env.event()
    ev._ok = True
    ev._value = None
    env.schedule(ev, URGENT, delay)
    return ev


def covered(start: float, end: float, lo: float, hi: float) -> float:
    """Length of [lo, hi) covered by [start, end)."""
    return max(min(end, hi) - max(start, lo), 0.0)


def decayed(anchor: float, lo: float, hi: float, m: float) -> float:
    """``∫_{[lo,hi) ∩ [anchor,∞)} e^{-(t - anchor)/m} dt``."""
    a, b = max(lo, anchor), max(hi, anchor)
    return m * (math.exp((anchor - a) / m) - math.exp((anchor - b) / m))


def in_band(active_hour: float, t0: float, share: float) -> float:
    """The time at ``share`` of the day's band around ``active_hour``, in [t0, t0 + 1)."""
    start = ((active_hour - 12.0 * BAND) / 24.0) % 1.0
    return t0 + (start + share * BAND) % 1.0


def draw_category(weights: list[float], u: float) -> int:
    """Index of the category a uniform ``u`` picks with probabilities ∝ ``weights``."""
    target = u * sum(weights)
    cum = 0.0
    for c, w in enumerate(weights):
        cum += w
        if cum >= target:
            return c
    return len(weights) - 1


@dataclass
class Day:
    """A consumer's plan and progress for one day (the naive twin of the engine's
    interval): the day's draws, the organic rate, the carts and how far it is settled."""

    t0: float
    t1: float
    u: list[float]
    h: float
    h_open: float
    threshold: float
    cum: float = 0.0
    settled: float = 0.0
    bought_at: float = FAR
    carts: list[tuple[float, float]] = field(default_factory=list)  # open [start, end)
    anchors: list[tuple[float, float, int]] = field(default_factory=list)  # (time, since, cat)
    new_cart: tuple[float, float, int] | None = None  # (filled, abandoned, category)


@dataclass
class Purchase:
    time: float
    consumer: int
    category: int
    value: float
    discount: float
    induced: bool


class Consumer:
    """One consumer: latent traits (copied from the population) and mutable state."""

    __slots__ = (
        "active_hour",
        "attitude",
        "awareness",
        "base_rate",
        "basket_mean",
        "boost",
        "boost_category",
        "boost_end",
        "boost_start",
        "cart_abandon_at",
        "cart_category",
        "cart_open",
        "channel_pref",
        "consent",
        "contacts_received",
        "day",
        "discount_sensitivity",
        "fatigue",
        "fatigue_time",
        "first_purchase",
        "i",
        "last_abandon",
        "last_bought",
        "last_ping",
        "last_purchase",
        "lifecycle",
        "likes",
        "n_purchases",
        "offer_discount",
        "offer_end",
        "offer_start",
        "opted_out",
        "penalty_end",
        "penalty_start",
        "reachable",
        "return_weight",
        "rng",
        "sessions",
        "share",
        "spend",
        "store_visits",
        "threshold",
        "tribe",
    )

    def __init__(self, i: int, pop: Population, rng: np.random.Generator) -> None:
        self.i = i
        self.tribe = int(pop.tribe[i])
        self.share = pop.share[i].tolist()
        self.base_rate = float(pop.base_rate[i])
        self.basket_mean = float(pop.basket_mean[i])
        self.discount_sensitivity = float(pop.discount_sensitivity[i])
        self.reachable = pop.reachable[i].tolist()
        self.channel_pref = pop.channel_pref[i].tolist()
        self.consent = pop.consent[i].tolist()
        self.active_hour = float(pop.active_hour[i])
        self.threshold = float(pop.creepiness_threshold[i])
        self.rng = rng
        # state, as in sim.state.MarketState.initial
        self.awareness = pop.initial_awareness[i].tolist()
        self.attitude = 0.0
        self.fatigue = 0.0
        self.fatigue_time = 0.0
        self.opted_out = [False] * len(CHANNELS)
        self.lifecycle = int(pop.initial_lifecycle[i])
        self.first_purchase = -float(pop.initial_tenure[i])
        self.last_purchase = NEVER
        self.cart_open = False
        self.cart_category = 0
        self.cart_abandon_at = NEVER
        self.last_abandon = NEVER
        self.return_weight = 0.0
        self.last_bought = [NEVER] * len(self.share)
        self.day: Day | None = None
        self.boost = 0.0
        self.boost_start = NEVER
        self.boost_end = NEVER
        self.boost_category = -1
        self.penalty_start = NEVER
        self.penalty_end = NEVER
        self.offer_discount = 0.0
        self.offer_start = NEVER
        self.offer_end = NEVER
        # what the marketer observes
        self.n_purchases = 0
        self.spend = 0.0
        self.likes = [0] * len(self.share)
        self.sessions = 0
        self.store_visits = 0
        self.last_ping = NEVER
        self.contacts_received = 0


class NaiveMarket:
    """The market of :mod:`sim.market`, one SimPy process per consumer.

    ``run()`` advances ``cfg.n_steps`` days; strategies are SimPy processes on
    :attr:`env` that call :meth:`contact` for one consumer at a time.
    """

    def __init__(self, cfg: MarketConfig, seed: int, population: Population | None = None) -> None:
        self.cfg = cfg
        self.seed = seed
        self.pop = population if population is not None else synthesize(cfg, Streams(seed))
        pop = self.pop
        self.n_categories = pop.n_categories
        children = np.random.SeedSequence(seed, spawn_key=(NAIVE_STREAM,)).spawn(pop.n + 1)
        self.rng = np.random.Generator(np.random.PCG64(children[-1]))  # market-level draws
        self.consumers = [
            Consumer(i, pop, np.random.Generator(np.random.PCG64(children[i])))
            for i in range(pop.n)
        ]
        if abs(cfg.step_days - round(cfg.step_days)) > 1e-9:
            raise ValueError("the naive market supports whole-day steps only")
        self.depth = cfg.purchase.dip_depth
        self.recovery = replenishment(cfg).tolist()
        # The pre-run history sets each category's last purchase (the dips at day 0).
        st = MarketState.initial(pop, cfg)
        obs = Observations(pop.n, pop.n_categories, pop.consent, pop.declared_tribe, pop.tribe)
        seed_history(cfg, pop, obs, Streams(seed), st)
        for c in self.consumers:
            c.last_bought = st.last_bought[c.i].astype(float).tolist()
            c.last_purchase = float(st.last_purchase[c.i])
        self.tribe_members: list[list[Consumer]] = [[] for _ in range(pop.n_tribes)]
        for c in self.consumers:
            self.tribe_members[c.tribe].append(c)
        self.tribe_sizes = [max(len(m), 1) for m in self.tribe_members]
        self._reset_tallies()
        self.purchases: list[Purchase] = []
        self.n_sessions = 0
        self.n_backlash = 0
        self.n_optouts = 0
        self.env = simpy.Environment()
        for c in self.consumers:
            self.env.process(self._live(c))
        self._wom = self.env.process(self._word_of_mouth())

    def _reset_tallies(self) -> None:
        self.tribe_purchases = [[0] * self.n_categories for _ in self.tribe_members]
        self.tribe_backlash = [0] * len(self.tribe_members)

    @property
    def now(self) -> float:
        return float(self.env.now)

    def run(self) -> NaiveMarket:
        self.env.run(until=self._wom)
        return self

    # ------------------------------------------------------------------ organic
    def _live(self, c: Consumer) -> Generator[simpy.Event, Any, None]:
        """A consumer's life: at the end of each day, close that day."""
        dt = self.cfg.step_days
        for k in range(self.cfg.n_steps):
            yield urgent_timeout(self.env, dt)
            self._close_day(c, k * dt, (k + 1) * dt)

    def dip(self, c: Consumer, cat: int, t: float) -> float:
        """``g_c(t) = 1 - d·max(0, 1 - age/R_c)`` of the last purchase in ``cat``."""
        age = t - c.last_bought[cat]
        return 1.0 - self.depth * min(max(1.0 - age / self.recovery[cat], 0.0), 1.0)

    def _category_weights(self, c: Consumer, t: float) -> list[float]:
        floor = self.cfg.response.awareness_floor
        return [
            s * (floor + (1.0 - floor) * a) * self.dip(c, j, t)
            for j, (s, a) in enumerate(zip(c.share, c.awareness, strict=True))
        ]

    def demand(self, c: Consumer, t: float) -> float:
        """``Σ_c s_c·(w_0 + (1-w_0)·aw_c)·g_c(t)``."""
        return sum(self._category_weights(c, t))

    def rate(self, c: Consumer, t: float) -> float:
        """The organic purchase rate ``r·M_stage·D·e^{κA}`` (the dip at ``t``)."""
        cfg = self.cfg
        return (
            c.base_rate
            * cfg.lifecycle.rate_multiplier[c.lifecycle]
            * self.demand(c, t)
            * math.exp(cfg.response.attitude_effect * c.attitude)
        )

    def _today(self, c: Consumer, k: int | None = None) -> Day:
        """The consumer's day ``k`` (default: the one under way), planned when first needed
        (after the word of mouth that closed the day before): its draws, sessions, carts,
        visits and pings."""
        dt = self.cfg.step_days
        if k is None:
            k = min(int(self.now / dt + 1e-9), self.cfg.n_steps - 1)
        t0, t1 = k * dt, (k + 1) * dt
        if c.day is not None and c.day.t0 == t0:
            return c.day
        cfg = self.cfg
        b = cfg.behaviour
        u = c.rng.random(N_DAILY_UNIFORMS).tolist()
        mid = 0.5 * (t0 + t1)
        demand = self.demand(c, mid)
        attitude = math.exp(cfg.response.attitude_effect * c.attitude)
        h = c.base_rate * cfg.lifecycle.rate_multiplier[c.lifecycle] * demand * attitude
        day = Day(t0, t1, u, h, h, -math.log1p(-u[U_BUY]), settled=t0)
        new_time = FAR
        x_browse = b.browse_rate * demand * attitude * dt
        if u[U_BROWSE] < x_browse:
            self.n_sessions += 1
            c.sessions += 1
            when = in_band(c.active_hour, t0, u[U_BROWSE] / x_browse)
            s_cat = draw_category(self._category_weights(c, mid), u[U_BROWSE_CAT])
            if u[U_CART] < min(b.cart_add_prob * self.n_categories * c.share[s_cat], 0.9):
                new_time = when
                abandon = when - math.log1p(-u[U_ABANDON]) / b.cart_abandon_rate
                day.new_cart = (when, abandon, s_cat)
                day.carts.append((when, min(abandon, t1)))
                if abandon < t1:
                    day.anchors.append((abandon, when, s_cat))
            if u[U_WISH] < b.wishlist_prob:
                c.likes[s_cat] += 1
        if c.cart_open:  # the cart held at t0 runs until abandoned or replaced
            old = c.cart_abandon_at
            day.carts.append((t0, min(old, new_time, t1)))
            if old < new_time and old < t1:
                day.anchors.append((old, t0, c.cart_category))
        if u[U_STORE] < b.store_visit_rate * dt * demand:
            c.store_visits += 1
        if u[U_PING] < b.ping_rate * dt:
            c.last_ping = in_band(c.active_hour, t0, u[U_PING] / (b.ping_rate * dt))
        c.day = day
        return day

    def _base(self, c: Consumer, day: Day, h: float, lo: float, hi: float) -> float:
        """``∫_lo^hi h + r_cart·1_cart + r_ret·(return)`` (no penalty, no persuasion)."""
        b = self.cfg.behaviour
        m = b.abandoner_memory_days
        if hi <= lo:
            return 0.0
        out = h * (hi - lo)
        out += b.cart_purchase_rate * sum(covered(s, e, lo, hi) for s, e in day.carts)
        ret = (
            c.return_weight
            * m
            * (math.exp((c.last_abandon - lo) / m) - math.exp((c.last_abandon - hi) / m))
        )
        ret += sum(decayed(a, lo, hi, m) for a, _, _ in day.anchors)
        return out + b.abandoner_return_rate * ret

    def _integral(self, c: Consumer, day: Day, lo: float, hi: float) -> float:
        """The purchase hazard integrated over [lo, hi): penalty and persuasion included."""
        out = self._base(c, day, day.h, lo, hi)
        if c.penalty_end > lo:
            p_lo = max(lo, c.penalty_start)
            out -= self.cfg.creepiness.purchase_penalty * self._base(
                c, day, day.h, p_lo, max(min(hi, c.penalty_end), p_lo)
            )
        return out + c.boost * covered(c.boost_start, c.boost_end, lo, hi)

    def settle(self, c: Consumer, now: float, k: int | None = None) -> None:
        """Resolve the consumer's purchase of day ``k`` (default: the one under way) up to
        ``now`` with the state as it is."""
        day = self._today(c, k)
        b = min(now, day.t1)
        if day.bought_at < FAR or b <= day.settled:
            return
        gained = self._integral(c, day, day.settled, b)
        if day.cum + gained <= day.threshold:
            day.cum += gained
            day.settled = b
            return
        lo, hi = day.settled, b  # bisection on the cumulative hazard
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if day.cum + self._integral(c, day, day.settled, mid) < day.threshold:
                lo = mid
            else:
                hi = mid
        self._buy(c, day, min(hi, math.nextafter(b, -math.inf)))

    def _buy(self, c: Consumer, day: Day, when: float) -> None:
        cfg = self.cfg
        b = cfg.behaviour
        u = day.u
        induced = False
        if c.boost_end > day.t0 or day.h != day.h_open:
            induced = day.threshold > self._base(c, day, day.h_open, day.t0, day.t1)
        if induced and c.boost_category >= 0:
            cat = c.boost_category
        else:
            cat = draw_category(self._category_weights(c, 0.5 * (day.t0 + day.t1)), u[U_BUY_CAT])
        value = c.basket_mean * (0.5 + u[U_BASKET])
        discount = 0.0
        if c.offer_start <= when < c.offer_end:
            discount = c.offer_discount
            c.offer_end = NEVER
        c.boost_end = min(c.boost_end, when)
        c.last_purchase = when
        c.cart_open = False
        c.return_weight = 0.0
        c.last_bought[cat] = when
        if c.lifecycle == LAPSED:
            c.lifecycle = ACTIVE
        day.bought_at = when
        day.settled = day.t1
        self.purchases.append(Purchase(when, c.i, cat, value, discount, induced))
        self.tribe_purchases[c.tribe][cat] += 1
        c.n_purchases += 1
        c.spend += value
        if u[U_REVIEW] < b.review_prob and c.share[cat] * self.n_categories > 1.0:
            c.likes[cat] += 1

    def _close_day(self, c: Consumer, t0: float, t1: float) -> None:
        """Settle the day, then carts, abandoners' returns, lapse and graduation."""
        cfg = self.cfg
        k = round(t0 / cfg.step_days)
        day = self._today(c, k)
        self.settle(c, t1, k)
        bought = day.bought_at
        m = cfg.behaviour.abandoner_memory_days
        # An abandonment stands unless a purchase fell between its `since` and its time;
        # after a purchase only later abandonments draw the consumer back.
        for time, since, _ in day.anchors:
            if (since <= bought < time) or (bought < FAR and time < bought):
                continue
            c.return_weight = c.return_weight * math.exp((c.last_abandon - time) / m) + 1.0
            c.last_abandon = time
        new = day.new_cart
        if new is not None and (bought == FAR or new[0] > bought):
            c.cart_open, c.cart_abandon_at, c.cart_category = new[1] >= t1, new[1], new[2]
        elif new is None and bought == FAR and c.cart_open:
            c.cart_open = c.cart_abandon_at >= t1
        else:
            c.cart_open = False
        if c.lifecycle == ACTIVE and day.u[U_LAPSE] < cfg.lifecycle.lapse_rate * (t1 - t0):
            c.lifecycle = LAPSED
        if c.lifecycle == NEW and t1 - c.first_purchase > cfg.lifecycle.new_days:
            c.lifecycle = ACTIVE

    def _word_of_mouth(self) -> Generator[simpy.Event, Any, None]:
        """After every consumer's day: spread the tribes' purchases and backlash."""
        cfg = self.cfg
        aw = cfg.awareness
        dt = cfg.step_days
        delta = aw.decay * dt
        attitude_decay = 2.0 ** (-dt / cfg.response.attitude_half_life_days)
        for _ in range(cfg.n_steps):
            # Started after every consumer, so at equal times this runs after them.
            yield urgent_timeout(self.env, dt)
            for t, members in enumerate(self.tribe_members):
                size = self.tribe_sizes[t]
                gains = [
                    min(max(aw.wom_gain * q / size, 0.0), 1.0 - delta)
                    for q in self.tribe_purchases[t]
                ]
                distrust = aw.distrust_gain * self.tribe_backlash[t] / size
                for c in members:
                    a = c.awareness
                    for j, g in enumerate(gains):
                        a[j] = a[j] * (1.0 - g - delta) + g + delta * aw.floor
                    c.attitude = c.attitude * attitude_decay - distrust
            self._reset_tallies()

    # ------------------------------------------------------------------ contacts
    def contact(
        self,
        c: Consumer,
        channel: int,
        category: int = -1,
        discount: float = 0.0,
        depth: float = 0.0,
        data_kinds: int = 0,
    ) -> str:
        """Deliver one contact now; returns its status (``delivered``, ``opted_out`` or
        ``unreachable``).  The per-consumer version of :meth:`sim.market.Market.contact`."""
        if not c.reachable[channel]:
            return "unreachable"
        if c.opted_out[channel]:
            return "opted_out"
        self.settle(c, self.now)  # purchases before the contact are the no-contact world's
        cfg = self.cfg
        r, cr = cfg.response, cfg.creepiness
        ch = cfg.channels[CHANNELS[channel]]
        now = self.now
        end = now + r.window_days
        fatigue = c.fatigue * 2.0 ** (-(now - c.fatigue_time) / r.fatigue_half_life_days)

        # intrusiveness and backlash
        sens = max(
            (cfg.consent.sensitivity[k] for j, k in enumerate(DATA_KINDS) if data_kinds & (1 << j)),
            default=0.0,
        )
        intrusive = (
            ch.intimacy
            * (cr.generic_intrusiveness + depth * sens)
            * (1.0 + cr.frequency_weight * fatigue)
        )
        if intrusive <= 0.0:
            p_backlash = 0.0
        else:
            z = (math.log(intrusive) - math.log(c.threshold)) / cr.softness
            p_backlash = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        backlash = c.rng.random() < p_backlash

        if backlash:
            self.n_backlash += 1
            if c.penalty_end <= now:
                c.penalty_start = now
            c.penalty_end = end
            c.attitude -= cr.attitude_hit
            if c.rng.random() < cr.optout_prob:
                c.opted_out[channel] = True
                self.n_optouts += 1
            self.tribe_backlash[c.tribe] += 1
        else:
            a = self.persuasion(c, channel, category, discount, depth, fatigue, now)
            if c.boost_end > now:
                c.boost = max(c.boost, a)
            else:
                c.boost = a
                c.boost_start = now
            c.boost_end = end
            c.boost_category = category

        if discount > 0:
            c.offer_discount = discount
            c.offer_start = now
            c.offer_end = end

        if category >= 0:
            c.awareness[category] += ch.awareness_gain * (1.0 - c.awareness[category])
        else:  # a generic message: γ/C of the gap in each category
            g = ch.awareness_gain / self.n_categories
            c.awareness = [a + g * (1.0 - a) for a in c.awareness]

        c.fatigue = fatigue + ch.intimacy  # intimate channels tire more
        c.fatigue_time = now
        c.attitude -= r.annoyance_attitude_cost * max(c.fatigue - r.fatigue_annoyance, 0.0)
        c.contacts_received += 1
        day = self._today(c)  # the organic rate from now on follows the changed state
        day.h = self.rate(c, 0.5 * (day.t0 + day.t1))
        return "delivered"

    def persuasion(
        self,
        c: Consumer,
        channel: int,
        category: int,
        discount: float,
        depth: float,
        fatigue: float,
        now: float,
    ) -> float:
        """``a_i`` of :func:`sim.response.persuasion` for one consumer."""
        cfg = self.cfg
        r = cfg.response
        ch = cfg.channels[CHANNELS[channel]]
        if category >= 0:
            relevance = self.n_categories * c.share[category]
            aware = r.awareness_floor + (1.0 - r.awareness_floor) * c.awareness[category]
            aware *= self.dip(c, category, now)
        else:
            relevance = 1.0
            aware = self.demand(c, now)
        hour = (now % 1.0) * 24.0
        d = abs(c.active_hour - hour)
        d = min(d, 24.0 - d)
        w = ch.timing_weight
        timing = 1.0 - w + w * math.exp(-0.5 * (d / r.timing_sd_hours) ** 2)
        return (
            ch.lift
            * relevance
            * 2.0
            * c.channel_pref[channel]
            * timing
            * aware
            * math.exp(-r.fatigue_penalty * fatigue)
            * math.exp(r.attitude_effect * c.attitude)
            * (1.0 + c.discount_sensitivity * discount)
            * (1.0 + r.depth_gain * depth)
            * cfg.lifecycle.response_multiplier[c.lifecycle]
        )


@dataclass
class WaveLog:
    """Outcome counts of one mass wave."""

    time: float
    delivered: int = 0
    holdout: int = 0
    opted_out: int = 0
    unreachable: int = 0
    capped: int = 0


class NaiveMass:
    """The weekly mass wave of :class:`sim.strategies.mass.MassBroadcast`, one consumer
    at a time.  Takes the same :class:`~sim.strategies.mass.MassConfig` (no budget)."""

    def __init__(self, cfg: Any, seed: int) -> None:
        if getattr(cfg, "budget", None) is not None:
            raise ValueError("the naive mass wave does not model budgets; use budget=None")
        self.cfg = cfg
        self.seed = seed
        self.waves: list[WaveLog] = []

    def start(self, market: NaiveMarket) -> None:
        # The campaign's own generator (not a consumer's) assigns the random holdout.
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(NAIVE_STREAM, 1)))
        )
        self.holdout = [rng.random() < self.cfg.holdout_share for _ in market.consumers]
        self.sent = [0] * len(market.consumers)
        market.env.process(self._waves(market))

    def _waves(self, market: NaiveMarket) -> Generator[simpy.Event, Any, None]:
        cfg = self.cfg
        ch = CHANNELS.index(cfg.channel)
        cat = market.cfg.categories.index(cfg.category) if cfg.category else -1
        day = cfg.start_day
        while day < cfg.end_day:
            delay = max(day + cfg.send_hour / 24.0 - market.now, 0.0)
            yield market.env.timeout(delay)
            if not cfg.start_day <= market.now < cfg.end_day:
                break
            log = WaveLog(market.now)
            for c in market.consumers:
                if self.sent[c.i] >= cfg.frequency_cap:
                    log.capped += 1
                elif not c.reachable[ch]:
                    log.unreachable += 1
                elif c.opted_out[ch]:
                    log.opted_out += 1
                elif self.holdout[c.i]:
                    log.holdout += 1
                else:
                    market.contact(c, ch, cat, cfg.discount)
                    self.sent[c.i] += 1
                    log.delivered += 1
            self.waves.append(log)
            day += cfg.every_days
