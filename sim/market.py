"""The market: a SimPy environment whose clock drives vectorised population updates.

One process advances all consumers by one step of ``step_days`` (:mod:`sim.behaviour`)
with array operations; it runs at the *end* of each interval with SimPy's URGENT
priority, so a step at time t always precedes any contact stamped t (which belongs to
the next interval).  Strategies are ordinary SimPy processes: they wake on their own
timeouts or on :attr:`Market.day_closed`, read :attr:`Market.obs` and hand batches to
:meth:`Market.contact`, the single entry point through which any campaign touches a
consumer.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT

from sim.behaviour import organic_step, seed_history
from sim.config import CHANNELS, MarketConfig
from sim.ledger import Ledger
from sim.observe import Observations, seed_engagement
from sim.population import Population, synthesize
from sim.response import (
    ChannelArrays,
    OfferUplift,
    backlash_probability,
    expected_uplift,
    intrusiveness,
    persuasion,
)
from sim.state import MarketState
from sim.streams import Purpose, Streams
from sim.word_of_mouth import TribeSignal, spread, tribe_signal


@dataclass(frozen=True)
class ContactResult:
    """What happened to each contact of a batch (aligned with the batch)."""

    contact_id: np.ndarray
    consumer: np.ndarray
    status: np.ndarray  # codes of sim.ledger.STATUS
    backlash: np.ndarray
    opted_out: np.ndarray
    persuasion: np.ndarray

    @property
    def delivered(self) -> np.ndarray:
        return self.status == 0


def _urgent_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    ev = env.event()
    ev._ok = True
    ev._value = None
    env.schedule(ev, URGENT, delay)
    return ev


class Market:
    """A synthetic market of ``cfg.n_consumers`` consumers with its own SimPy clock.

    ``wom_override``: per-step tribe signals to use instead of the market's own (the
    ground truth's direct-effect world).  ``population``: reuse an already synthesised
    population (it is read-only); otherwise it is drawn from ``seed``.
    """

    def __init__(
        self,
        cfg: MarketConfig,
        seed: int,
        population: Population | None = None,
        wom_override: list[TribeSignal] | None = None,
    ) -> None:
        self.cfg = cfg
        self.seed = seed
        self.streams = Streams(seed)
        self.pop = population if population is not None else synthesize(cfg, self.streams)
        if self.pop.n != cfg.n_consumers:
            raise ValueError("population size does not match market.n_consumers")
        self.state = MarketState.initial(self.pop, cfg)
        self.obs = Observations(
            self.pop.n,
            self.pop.n_categories,
            self.pop.consent,
            self.pop.declared_tribe,
            self.pop.tribe,
        )
        seed_history(cfg, self.pop, self.obs, self.streams, self.state.last_purchase)
        seed_engagement(
            self.obs,
            self.pop.channel_pref,
            self.pop.reachable,
            self.streams.rng(Purpose.POPULATION, 34),
        )
        self.channels = ChannelArrays.from_config(cfg)
        self.ledger = Ledger()
        self.env = simpy.Environment()
        self.day_closed: simpy.Event = self.env.event()
        self.wom_log: list[TribeSignal] = []
        self.wom_override = wom_override
        self.boost_horizon = -np.inf
        self.penalty_horizon = -np.inf
        self._slices = self.pop.tribe_slices()
        self._backlash_tribe = np.zeros(self.pop.n_tribes)
        self._next_contact_id = 0
        self._next_batch = 0
        self._response_cache: dict[tuple[int, int, int], np.ndarray] = {}
        self._organic = self.env.process(self._run_organic())

    # ------------------------------------------------------------------ clock
    @property
    def now(self) -> float:
        return float(self.env.now)

    def _run_organic(self) -> Generator[simpy.Event, Any, None]:
        for k in range(self.cfg.n_steps):
            yield _urgent_timeout(self.env, self.cfg.step_days)
            organic_step(self, k)

    def after_step(self, k: int, buyers: np.ndarray, categories: np.ndarray) -> None:
        """Word of mouth for step ``k``, then wake the strategies waiting on the day."""
        own = tribe_signal(self.pop, buyers, categories, self._backlash_tribe)
        self._backlash_tribe = np.zeros(self.pop.n_tribes)
        self.wom_log.append(own)
        signal = own if self.wom_override is None else self.wom_override[k]
        spread(self.cfg, self.pop, self.state, signal, self.cfg.step_days, self._slices)
        self._response_cache.clear()
        ev, self.day_closed = self.day_closed, self.env.event()
        ev.succeed(k)

    def run(self) -> Market:
        """Run to the end of the horizon (all steps); returns self."""
        self.env.run(until=self._organic)
        return self

    # ------------------------------------------------------------------ contacts
    def contact(
        self,
        consumers: np.ndarray,
        channel: int | np.ndarray,
        category: int | np.ndarray = -1,
        discount: float | np.ndarray = 0.0,
        depth: float | np.ndarray = 0.0,
        data_kinds: int | np.ndarray = 0,
        arm: int | np.ndarray = 0,
        holdout: bool | np.ndarray = False,
    ) -> ContactResult:
        """Deliver a batch of contacts now.  The one entry point for every strategy.

        Contacts to consumers unreachable on, or opted out of, the channel are recorded
        and not delivered; ``holdout`` rows are recorded as would-be contacts kept back
        for measurement.  Consumers must be unique within a batch.
        """
        cfg, pop, st = self.cfg, self.pop, self.state
        idx = np.asarray(consumers, dtype=np.int64).ravel()
        n = idx.shape[0]
        if n and (idx.min() < 0 or idx.max() >= pop.n):
            raise ValueError(f"contact: consumer ids must lie in [0, {pop.n}).")
        # Sorted batches (the usual case) are unique when strictly increasing; otherwise
        # count in O(N), unlike np.unique.
        if n > 1 and not (idx[1:] > idx[:-1]).all() and np.bincount(idx, minlength=pop.n).max() > 1:
            raise ValueError("contact: a consumer appears twice in one batch.")

        # Per-contact settings: a scalar stays a 0-d array (one value for the batch), which
        # spares a full column and its subsets; ``at(v, rows)`` gives the values of rows.
        def col(v: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(v, dtype=dtype)
            return a if a.ndim == 0 else a.ravel()

        def at(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
            if a.ndim == 0:
                return np.full(int(rows.sum()) if rows.dtype == bool else rows.shape[0], a)
            return a[rows]

        ch = col(channel, np.int8)
        cat = col(category, np.int16)
        disc = col(discount, np.float32)
        dep = col(depth, np.float32)
        kinds = col(data_kinds, np.uint8)
        arm_a = col(arm, np.int16)
        hold = col(holdout, bool)
        for name, a in (
            ("channel", ch),
            ("category", cat),
            ("discount", disc),
            ("depth", dep),
            ("data_kinds", kinds),
            ("arm", arm_a),
            ("holdout", hold),
        ):
            if a.ndim and a.shape[0] != n:
                raise ValueError(f"contact: {name} has {a.shape[0]} entries for {n} consumers.")
        if n and (ch.min() < 0 or ch.max() >= len(CHANNELS)):
            raise ValueError(f"contact: channel codes must lie in [0, {len(CHANNELS)}).")
        if n and (cat.min() < -1 or cat.max() >= pop.n_categories):
            raise ValueError(f"contact: category codes must lie in [-1, {pop.n_categories}).")
        if n and (disc.min() < 0 or disc.max() >= 1 or dep.min() < 0 or dep.max() > 1):
            raise ValueError("contact: discount must lie in [0, 1) and depth in [0, 1].")

        now = self.now
        # Status by precedence: holdout, then unreachable, then opted out.
        status = st.opted_out[idx, ch].view(np.int8) * np.int8(2)
        status[~pop.reachable[idx, ch]] = 3
        if hold.ndim:
            status[hold] = 1
        elif hold:
            status[:] = 1
        ok = status == 0
        all_ok = bool(ok.all())
        sub = idx if all_ok else idx[ok]
        m = sub.shape[0]
        rows = slice(None) if all_ok else ok
        s_ch, s_cat, s_disc, s_dep, s_kinds = (
            a if a.ndim == 0 or all_ok else a[ok] for a in (ch, cat, disc, dep, kinds)
        )
        first_id = self._next_contact_id
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        self._next_contact_id += n
        s_ids = ids if all_ok else ids[ok]

        r = cfg.response
        step = int(np.floor(now / cfg.step_days + 1e-9))
        k = st.step_contacts[sub]
        k[st.step_stamp[sub] != step] = 0
        st.step_stamp[sub] = step
        st.step_contacts[sub] = np.minimum(k, 254) + np.uint8(1)  # saturates at 255
        fat = st.fatigue_at(sub, now, r.fatigue_half_life_days)
        ch_m = s_ch if s_ch.ndim else np.full(m, s_ch)
        dep_m = s_dep if s_dep.ndim else np.full(m, s_dep)
        intr = intrusiveness(
            cfg, self.channels, ch_m, dep_m, s_kinds if s_kinds.ndim else np.full(m, s_kinds), fat
        )
        p_back = backlash_probability(cfg, intr, pop.creepiness_threshold[sub])
        u_back = self._response_uniform(Purpose.RESPONSE_BACKLASH, step, sub, k)
        backlash = u_back < p_back
        any_back = bool(backlash.any())
        a = persuasion(
            cfg,
            pop,
            st,
            self.channels,
            sub,
            ch_m,
            s_cat if s_cat.ndim else np.full(m, s_cat),
            s_disc if s_disc.ndim else np.full(m, s_disc),
            dep_m,
            fat,
            now,
        )
        end = now + r.window_days

        no_back: np.ndarray | slice
        if any_back:
            a[backlash] = 0.0
            no_back = ~backlash
            good, a_good = sub[no_back], a[no_back]
        else:
            no_back, good, a_good = slice(None), sub, a
        active = st.boost_end[good] > now
        st.boost[good] = np.where(active, np.maximum(st.boost[good], a_good), a_good)
        st.boost_start[good[~active]] = now
        st.boost_end[good] = end
        st.boost_category[good] = s_cat if s_cat.ndim == 0 else s_cat[no_back]
        st.boost_contact[good] = s_ids[no_back]
        if good.size:
            self.boost_horizon = max(self.boost_horizon, end)

        opt = np.zeros(m, bool)
        if any_back:
            bad = sub[backlash]
            pen_active = st.penalty_end[bad] > now
            st.penalty_start[bad] = np.where(pen_active, st.penalty_start[bad], now)
            st.penalty_end[bad] = end
            self.penalty_horizon = max(self.penalty_horizon, end)
            st.attitude[bad] -= np.float32(cfg.creepiness.attitude_hit)
            u_opt = self._response_uniform(Purpose.RESPONSE_OPTOUT, step, bad, k[backlash])
            opt[backlash] = u_opt < np.float32(cfg.creepiness.optout_prob)
            opt_ch = s_ch if s_ch.ndim == 0 else s_ch[opt]
            st.opted_out[sub[opt], opt_ch] = True
            self.ledger.optouts.append(
                time=np.full(int(opt.sum()), now), consumer=sub[opt], channel=at(s_ch, opt)
            )
            self._backlash_tribe += np.bincount(pop.tribe[bad], minlength=pop.n_tribes)

        if s_disc.ndim or s_disc > 0:
            offered = s_disc > 0 if s_disc.ndim else slice(None)
            who = sub[offered]
            st.offer_discount[who] = s_disc[offered] if s_disc.ndim else s_disc
            st.offer_start[who] = now
            st.offer_end[who] = end
            st.offer_contact[who] = s_ids[offered]

        gain = self.channels.awareness_gain[s_ch]
        if s_cat.ndim:
            spec = s_cat >= 0
            specific = sub[spec], s_cat[spec], gain[spec] if gain.ndim else gain
            generic = sub[~spec], gain[~spec] if gain.ndim else gain
        elif s_cat >= 0:
            specific, generic = (sub, s_cat, gain), None
        else:
            specific, generic = None, (sub, gain)
        if specific is not None and specific[0].size:
            sp_rows, sp_cols, sp_gain = specific
            st.awareness[sp_rows, sp_cols] += sp_gain * (1.0 - st.awareness[sp_rows, sp_cols])
        if generic is not None and generic[0].size:
            st.close_awareness_gap(*generic)

        new_fat = fat + self.channels.intimacy[s_ch]  # intimate channels tire more
        st.fatigue[sub] = new_fat
        st.fatigue_time[sub] = now
        over = new_fat - np.float32(r.fatigue_annoyance)
        annoyed = over > 0  # attitude falls only where fatigue exceeds the annoyance level
        if annoyed.any():
            st.attitude[sub[annoyed]] -= np.float32(r.annoyance_attitude_cost) * over[annoyed]
        self.obs.contacts_received[sub] += 1
        self.obs.last_contact[sub] = now

        if all_ok:
            full_back, full_opt, full_intr, full_a = backlash, opt, intr, a
        else:
            full_back = np.zeros(n, bool)
            full_back[rows] = backlash
            full_opt = np.zeros(n, bool)
            full_opt[rows] = opt
            full_intr = np.zeros(n, np.float32)
            full_intr[rows] = intr
            full_a = np.zeros(n, np.float32)
            full_a[rows] = a
        self.ledger.contacts.append(
            contact_id=ids,
            batch=self._next_batch,
            time=now,
            consumer=idx,
            channel=ch,
            category=cat,
            discount=disc,
            depth=dep,
            data_kinds=kinds,
            arm=arm_a,
            status=status,
            backlash=full_back,
            opted_out=full_opt,
            intrusiveness=full_intr,
            persuasion=full_a,
        )
        self._next_batch += 1
        return ContactResult(ids, idx, status, full_back, full_opt, full_a)

    def _response_uniform(
        self, purpose: Purpose, step: int, who: np.ndarray, k: np.ndarray
    ) -> np.ndarray:
        """Uniforms keyed by (purpose, step, k) and indexed by consumer id (see streams)."""

        def table(kk: int) -> np.ndarray:
            key = (int(purpose), step, kk)
            arr = self._response_cache.get(key)
            if arr is None:
                arr = self.streams.uniform(purpose, self.pop.n, step, kk)
                self._response_cache[key] = arr
            return arr

        present = np.flatnonzero(np.bincount(k))
        if present.size == 1:  # every consumer at the same k (the usual case): no masks
            return table(int(present[0]))[who]
        out = np.empty(who.shape[0], np.float32)
        for kk in present:
            sel = k == kk
            out[sel] = table(int(kk))[who[sel]]
        return out

    def expected_uplift(
        self,
        consumers: np.ndarray,
        channel: int | np.ndarray,
        category: int | np.ndarray = -1,
        discount: float | np.ndarray = 0.0,
        depth: float | np.ndarray = 0.0,
        data_kinds: int | np.ndarray = 0,
        at: float | np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Closed-form expected effect on conversion of contacting ``consumers`` at time
        ``at`` (default now; an array gives one time per consumer, e.g. a send hour).

        Latent: only the oracle scorer and the ground truth may call it.
        """
        idx = np.asarray(consumers, dtype=np.int64).ravel()
        n = idx.shape[0]

        def col(v: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(v, dtype=dtype)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a.ravel()

        return expected_uplift(
            self.cfg,
            self.pop,
            self.state,
            self.channels,
            idx,
            col(channel, np.int8),
            col(category, np.int16),
            col(discount, np.float32),
            col(depth, np.float32),
            col(data_kinds, np.uint8),
            self.now if at is None else at,
        )

    def offer_uplift(
        self,
        consumers: np.ndarray,
        depth: float = 0.0,
        data_kinds: int = 0,
        at: float | np.ndarray | None = None,
    ) -> OfferUplift:
        """:meth:`expected_uplift` of many offers (channel, category, discount, at one
        ``depth`` and ``data_kinds``) to ``consumers`` at ``at``, sharing the terms that do
        not depend on the offer (see :class:`sim.response.OfferUplift`).

        Latent: only the oracle scorer and the ground truth may call it.
        """
        idx = np.asarray(consumers, dtype=np.int64).ravel()
        return OfferUplift(
            self.cfg,
            self.pop,
            self.state,
            self.channels,
            idx,
            self.now if at is None else at,
            depth,
            data_kinds,
        )

    def features(self, kinds: tuple[str, ...] = ("implicit", "explicit", "ambient")) -> Any:
        """The marketer's feature table now (see :meth:`sim.observe.Observations.features`)."""
        return self.obs.features(
            self.now, kinds, list(self.cfg.categories), self.pop.reachable, self.state.opted_out
        )
