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
from sim.observe import Observations
from sim.population import Population, synthesize
from sim.response import (
    ChannelArrays,
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

    def __init__(self, cfg: MarketConfig, seed: int, population: Population | None = None,
                 wom_override: list[TribeSignal] | None = None) -> None:
        self.cfg = cfg
        self.seed = seed
        self.streams = Streams(seed)
        self.pop = population if population is not None else synthesize(cfg, self.streams)
        if self.pop.n != cfg.n_consumers:
            raise ValueError("population size does not match market.n_consumers")
        self.state = MarketState.initial(self.pop, cfg)
        self.obs = Observations(self.pop.n, self.pop.n_categories, self.pop.consent,
                                self.pop.declared_tribe, self.pop.tribe)
        seed_history(cfg, self.pop, self.obs, self.streams, self.state.last_purchase)
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
    def contact(self, consumers: np.ndarray, channel: int | np.ndarray, category: int | np.ndarray = -1,
                discount: float | np.ndarray = 0.0, depth: float | np.ndarray = 0.0,
                data_kinds: int | np.ndarray = 0, arm: int | np.ndarray = 0,
                holdout: bool | np.ndarray = False) -> ContactResult:
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
        if n > 1 and np.bincount(idx, minlength=pop.n).max() > 1:  # O(N), unlike np.unique
            raise ValueError("contact: a consumer appears twice in one batch.")

        def col(v: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(v, dtype=dtype)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a.ravel()

        ch = col(channel, np.int8)
        cat = col(category, np.int16)
        disc = col(discount, np.float32)
        dep = col(depth, np.float32)
        kinds = col(data_kinds, np.uint8)
        arm_a = col(arm, np.int16)
        hold = col(holdout, bool)
        for name, a in (("channel", ch), ("category", cat), ("discount", disc), ("depth", dep),
                        ("data_kinds", kinds), ("arm", arm_a), ("holdout", hold)):
            if a.shape[0] != n:
                raise ValueError(f"contact: {name} has {a.shape[0]} entries for {n} consumers.")
        if n and (ch.min() < 0 or ch.max() >= len(CHANNELS)):
            raise ValueError(f"contact: channel codes must lie in [0, {len(CHANNELS)}).")
        if n and (cat.min() < -1 or cat.max() >= pop.n_categories):
            raise ValueError(f"contact: category codes must lie in [-1, {pop.n_categories}).")
        if n and (disc.min() < 0 or disc.max() >= 1 or dep.min() < 0 or dep.max() > 1):
            raise ValueError("contact: discount must lie in [0, 1) and depth in [0, 1].")

        now = self.now
        status = np.zeros(n, np.int8)
        status[hold] = 1
        status[(status == 0) & ~pop.reachable[idx, ch]] = 3
        status[(status == 0) & st.opted_out[idx, ch]] = 2
        ok = status == 0
        sub, s_ch, s_cat, s_disc, s_dep, s_kinds = idx[ok], ch[ok], cat[ok], disc[ok], dep[ok], kinds[ok]
        ids = np.arange(self._next_contact_id, self._next_contact_id + n, dtype=np.int64)
        self._next_contact_id += n

        r = cfg.response
        step = int(np.floor(now / cfg.step_days + 1e-9))
        k = np.where(st.step_stamp[sub] == step, st.step_contacts[sub], 0).astype(np.int64)
        st.step_stamp[sub] = step
        st.step_contacts[sub] = np.minimum(k + 1, 255)
        fat = st.fatigue_at(sub, now, r.fatigue_half_life_days)
        intr = intrusiveness(cfg, self.channels, s_ch, s_dep, s_kinds, fat)
        p_back = backlash_probability(cfg, intr, pop.creepiness_threshold[sub])
        u_back = self._response_uniform(Purpose.RESPONSE_BACKLASH, step, sub, k)
        backlash = u_back < p_back
        a = persuasion(cfg, pop, st, self.channels, sub, s_ch, s_cat, s_disc, s_dep, fat, now)
        a[backlash] = 0.0
        end = now + r.window_days

        good = sub[~backlash]
        active = st.boost_end[good] > now
        st.boost[good] = np.where(active, np.maximum(st.boost[good], a[~backlash]), a[~backlash])
        st.boost_start[good] = np.where(active, st.boost_start[good], now)
        st.boost_end[good] = end
        st.boost_category[good] = s_cat[~backlash]
        st.boost_contact[good] = ids[ok][~backlash]
        if good.size:
            self.boost_horizon = max(self.boost_horizon, end)

        bad = sub[backlash]
        opt = np.zeros(sub.shape[0], bool)
        if bad.size:
            pen_active = st.penalty_end[bad] > now
            st.penalty_start[bad] = np.where(pen_active, st.penalty_start[bad], now)
            st.penalty_end[bad] = end
            self.penalty_horizon = max(self.penalty_horizon, end)
            st.attitude[bad] -= np.float32(cfg.creepiness.attitude_hit)
            u_opt = self._response_uniform(Purpose.RESPONSE_OPTOUT, step, bad, k[backlash])
            opt[backlash] = u_opt < np.float32(cfg.creepiness.optout_prob)
            st.opted_out[sub[opt], s_ch[opt]] = True
            self.ledger.optouts.append(time=np.full(int(opt.sum()), now), consumer=sub[opt],
                                       channel=s_ch[opt])
            self._backlash_tribe += np.bincount(pop.tribe[bad], minlength=pop.n_tribes)

        offered = s_disc > 0
        st.offer_discount[sub[offered]] = s_disc[offered]
        st.offer_start[sub[offered]] = now
        st.offer_end[sub[offered]] = end
        st.offer_contact[sub[offered]] = ids[ok][offered]

        gain = self.channels.awareness_gain[s_ch]
        spec = s_cat >= 0
        rows, cols = sub[spec], s_cat[spec]
        st.awareness[rows, cols] += gain[spec] * (1.0 - st.awareness[rows, cols])
        gen = sub[~spec]
        if gen.size:
            st.awareness[gen] += gain[~spec][:, None] * (1.0 - st.awareness[gen])

        new_fat = fat + self.channels.intimacy[s_ch]  # intimate channels tire more
        st.fatigue[sub] = new_fat
        st.fatigue_time[sub] = now
        over = np.maximum(new_fat - np.float32(r.fatigue_annoyance), 0.0)
        st.attitude[sub] -= np.float32(r.annoyance_attitude_cost) * over
        self.obs.contacts_received[sub] += 1
        self.obs.last_contact[sub] = now

        full_back = np.zeros(n, bool)
        full_back[ok] = backlash
        full_opt = np.zeros(n, bool)
        full_opt[ok] = opt
        full_intr = np.zeros(n, np.float32)
        full_intr[ok] = intr
        full_a = np.zeros(n, np.float32)
        full_a[ok] = a
        self.ledger.contacts.append(
            contact_id=ids, batch=np.full(n, self._next_batch), time=np.full(n, now), consumer=idx,
            channel=ch, category=cat, discount=disc, depth=dep, data_kinds=kinds, arm=arm_a,
            status=status, backlash=full_back, opted_out=full_opt, intrusiveness=full_intr,
            persuasion=full_a)
        self._next_batch += 1
        return ContactResult(ids, idx, status, full_back, full_opt, full_a)

    def _response_uniform(self, purpose: Purpose, step: int, who: np.ndarray,
                          k: np.ndarray) -> np.ndarray:
        """Uniforms keyed by (purpose, step, k) and indexed by consumer id (see streams)."""
        out = np.empty(who.shape[0], np.float32)
        for kk in np.flatnonzero(np.bincount(k)):
            key = (int(purpose), step, int(kk))
            arr = self._response_cache.get(key)
            if arr is None:
                arr = self.streams.uniform(purpose, self.pop.n, step, int(kk))
                self._response_cache[key] = arr
            sel = k == kk
            out[sel] = arr[who[sel]]
        return out

    def expected_uplift(self, consumers: np.ndarray, channel: int | np.ndarray,
                        category: int | np.ndarray = -1, discount: float | np.ndarray = 0.0,
                        depth: float | np.ndarray = 0.0,
                        data_kinds: int | np.ndarray = 0,
                        at: float | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Closed-form expected effect on conversion of contacting ``consumers`` at time
        ``at`` (default now; an array gives one time per consumer, e.g. a send hour).

        Latent: only the oracle scorer and the ground truth may call it.
        """
        idx = np.asarray(consumers, dtype=np.int64).ravel()
        n = idx.shape[0]

        def col(v: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(v, dtype=dtype)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a.ravel()

        return expected_uplift(self.cfg, self.pop, self.state, self.channels, idx,
                               col(channel, np.int8), col(category, np.int16),
                               col(discount, np.float32), col(depth, np.float32),
                               col(data_kinds, np.uint8), self.now if at is None else at)

    def features(self, kinds: tuple[str, ...] = ("implicit", "explicit", "ambient")) -> Any:
        """The marketer's feature table now (see :meth:`sim.observe.Observations.features`)."""
        return self.obs.features(self.now, kinds, list(self.cfg.categories),
                                 self.pop.reachable, self.state.opted_out)
