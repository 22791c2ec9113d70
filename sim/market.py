"""The market: a SimPy environment whose clock drives vectorised population updates.

The clock runs in intervals of ``step_days`` (:mod:`sim.behaviour`).  One process opens
each interval at its start and closes it at its end, with SimPy's URGENT priority, so
that both run before any contact stamped at that time (which belongs to the interval that
starts then).  At the start of an interval the market publishes its event feeds, each
event with its own time, and fires :attr:`Market.interval_opened`; the triggered and
contextual strategies schedule their sends at event time plus delay from there.  At the
end it resolves the interval's purchases, spreads word of mouth in the tribes and fires
:attr:`Market.day_closed` (after the timeouts already due at that time).  Strategies are
ordinary SimPy processes: they read :attr:`Market.obs` and hand batches to
:meth:`Market.contact`, the single entry point through which any campaign touches a
consumer; a contact first settles its consumers' purchases up to its time, so it changes
nothing before it.  The contact transition is :mod:`sim.contact`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import simpy
from simpy.core import URGENT

from sim.behaviour import Interval, Organic
from sim.config import MarketConfig
from sim.contact import (
    Batch,
    ResponseDraws,
    add_fatigue,
    apply_backlash,
    click_through,
    count_contacts,
    eligibility,
    make_offer,
    open_boost_window,
    raise_awareness,
    respond,
)
from sim.history import seed_history
from sim.ledger import ContactStatus, Ledger
from sim.observe import Observations, seed_engagement
from sim.population import Population, synthesize
from sim.response import ChannelArrays, OfferUplift, expected_uplift
from sim.state import Horizons, MarketState
from sim.streams import Purpose, Streams
from sim.word_of_mouth import TribeSignal, spread, tribe_signal


@dataclass(frozen=True)
class ContactResult:
    """What happened to each contact of a batch (aligned with the batch)."""

    contact_id: np.ndarray
    consumer: np.ndarray
    status: np.ndarray  # int8 codes of sim.ledger.ContactStatus
    backlash: np.ndarray
    opted_out: np.ndarray
    persuasion: np.ndarray
    clicked: np.ndarray  # bool: clicked through (sim.contact.click_through)

    @property
    def delivered(self) -> np.ndarray:
        return self.status == ContactStatus.DELIVERED


def _urgent_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    ev = env.event()
    ev._ok = True
    ev._value = None
    env.schedule(ev, URGENT, delay)
    return ev


def unique_ids(ids: np.ndarray) -> np.ndarray:
    """``np.unique(ids)``, without its sort when the ids are sorted and unique already
    (the usual case: a batch or an event feed in consumer order)."""
    if ids.shape[0] < 2 or bool((ids[1:] > ids[:-1]).all()):
        return ids
    return np.unique(ids)


class Strategy(Protocol):
    """Anything that can start its SimPy processes on a market (every strategy, the
    ground truth's replay of a contact log)."""

    name: str

    def start(self, market: Market) -> None: ...


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
        seed_history(cfg, self.pop, self.obs, self.streams, self.state)
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
        self.interval_opened: simpy.Event = self.env.event()
        self.wom_log: list[TribeSignal] = []
        self.wom_override = wom_override
        self.horizons = Horizons()
        self._slices = self.pop.tribe_slices()
        self._backlash_by_tribe = np.zeros(self.pop.n_tribes)
        self._next_contact_id = 0
        self._next_batch = 0
        self._draws = ResponseDraws(self.streams, self.pop.n)
        self._world = Organic.of(
            cfg,
            self.pop,
            self.state,
            self.obs,
            self.streams,
            self.ledger.purchases,
            self.horizons,
        )
        self.interval: Interval | None = Interval(self._world, 0)
        self._organic = self.env.process(self._run_organic())

    # ------------------------------------------------------------------ clock
    @property
    def now(self) -> float:
        return float(self.env.now)

    def _run_organic(self) -> Generator[simpy.Event, Any, None]:
        """Close each interval at its end and open the next (interval 0 opens with the
        market, so strategies started before the run see its feeds)."""
        for k in range(self.cfg.n_steps):
            yield _urgent_timeout(self.env, self.cfg.step_days)
            self._close_interval(k)
            if k + 1 < self.cfg.n_steps:
                self.interval = Interval(self._world, k + 1)
                ev, self.interval_opened = self.interval_opened, self.env.event()
                ev.succeed(k + 1)

    def _close_interval(self, k: int) -> None:
        """Resolve interval ``k``'s purchases, spread word of mouth, then wake the
        strategies waiting on the day."""
        assert self.interval is not None
        buyers, categories = self.interval.close()
        self.interval = None
        own = tribe_signal(self.pop, buyers, categories, self._backlash_by_tribe)
        self._backlash_by_tribe = np.zeros(self.pop.n_tribes)
        self.wom_log.append(own)
        signal = own if self.wom_override is None else self.wom_override[k]
        self.horizons.attitude = spread(
            self.cfg,
            self.pop,
            self.state,
            signal,
            self.cfg.step_days,
            self._slices,
            self.horizons.attitude,
        )
        self._draws.new_step()
        ev, self.day_closed = self.day_closed, self.env.event()
        ev.succeed(k)

    def bought_since(self, consumers: np.ndarray, since: float | np.ndarray) -> np.ndarray:
        """Whether each consumer has bought at or after ``since`` (up to now), from the
        marketer's own transaction records, complete up to now: the consumers' purchases
        are settled to now first (exact: later contacts only add hazard after now)."""
        who = np.asarray(consumers, np.int64).ravel()
        self.settle(who)
        return self.state.last_purchase[who] >= since

    def settle(self, consumers: np.ndarray) -> None:
        """Resolve the consumers' purchases up to now, changing no number (a question about
        them follows; see :meth:`sim.behaviour.Interval.settle`)."""
        if self.interval is not None:
            self.interval.settle(unique_ids(consumers), self.now, commit=False)

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
        for measurement.  Consumers must be unique within a batch.  The transition itself
        is :mod:`sim.contact`; here the batch is checked, the steps run in order and the
        market's own records (ids, horizons, backlash per tribe, ledger) kept.
        """
        cfg, pop, st = self.cfg, self.pop, self.state
        batch = Batch.of(
            pop,
            self._next_contact_id,
            consumers,
            channel,
            category,
            discount,
            depth,
            data_kinds,
            arm,
            holdout,
        )
        self._next_contact_id += batch.size
        now = self.now

        status = eligibility(batch, pop.reachable, st.opted_out)
        delivered = status == ContactStatus.DELIVERED
        all_delivered = bool(delivered.all())
        sent = batch if all_delivered else batch.rows(delivered)
        if self.interval is not None:  # purchases before now are the no-contact world's
            self.interval.settle(sent.consumer, now)
        awake = self._awake(sent.consumer)

        response = respond(cfg, pop, st, self.channels, self._draws, sent, now, awake)

        end = now + cfg.response.window_days
        if open_boost_window(st, sent, response, now, end):
            self.horizons.boost = max(self.horizons.boost, end)
        opted_out = apply_backlash(cfg, st, self._draws, sent, response, now, end)
        if response.any_backlash:
            self.horizons.penalty = max(self.horizons.penalty, end)
            left = sent.rows(opted_out)
            self.ledger.optouts.append(time=now, consumer=left.consumer, channel=left.channel)
            hit = sent.consumer[response.backlash]
            self._backlash_by_tribe += np.bincount(pop.tribe[hit], minlength=pop.n_tribes)
        make_offer(st, sent, now, end)
        clicked = click_through(self.channels, self._draws, sent, response)
        raise_awareness(st, self.channels, sent)
        annoyed = add_fatigue(cfg, st, self.channels, sent, response.fatigue, now)
        self.horizons.attitude |= annoyed or response.any_backlash
        count_contacts(self.obs, sent.consumer, now)
        if self.interval is not None and sent.size:
            self.interval.refresh(sent.consumer)

        def on_batch(values: np.ndarray, dtype: Any) -> np.ndarray:
            """Values of the delivered rows on the whole batch (zero elsewhere)."""
            if all_delivered:
                return values
            out = np.zeros(batch.size, dtype)
            out[delivered] = values
            return out

        backlash = on_batch(response.backlash, bool)
        opted_out = on_batch(opted_out, bool)
        persuasion = on_batch(response.persuasion, np.float32)
        clicked = on_batch(clicked, bool)
        self.ledger.contacts.append(
            contact_id=batch.contact_id,
            batch=self._next_batch,
            time=now,
            consumer=batch.consumer,
            channel=batch.channel,
            category=batch.category,
            discount=batch.discount,
            depth=batch.depth,
            data_kinds=batch.data_kinds,
            arm=batch.arm,
            status=status,
            backlash=backlash,
            opted_out=opted_out,
            intrusiveness=on_batch(response.intrusiveness, np.float32),
            persuasion=persuasion,
            clicked=clicked,
        )
        self._next_batch += 1
        return ContactResult(
            batch.contact_id, batch.consumer, status, backlash, opted_out, persuasion, clicked
        )

    def deliverable(self, consumers: np.ndarray, channel: np.ndarray | int) -> np.ndarray:
        """Whether a contact on ``channel`` (one, or one per consumer) would reach each of
        ``consumers`` now: reachable on it and not opted out of it."""
        ch = np.broadcast_to(np.asarray(channel), np.shape(consumers))
        return self.pop.reachable[consumers, ch] & ~self.state.opted_out[consumers, ch]

    def expected_uplift(
        self,
        consumers: np.ndarray,
        channel: int | np.ndarray,
        category: int | np.ndarray = -1,
        discount: float | np.ndarray = 0.0,
        depth: float | np.ndarray = 0.0,
        data_kinds: int | np.ndarray = 0,
        at: float | np.ndarray | None = None,
        outcome_days: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Closed-form expected effect on conversion of contacting ``consumers`` at time
        ``at`` (default now; an array gives one time per consumer, e.g. a send hour), over
        ``outcome_days`` (default: the response window).

        Latent: only the oracle scorer and the ground truth may call it.
        """
        idx = np.asarray(consumers, dtype=np.int64).ravel()
        n = idx.shape[0]
        self.settle(idx)

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
            self._awake(idx),
            outcome_days,
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
        self.settle(idx)
        return OfferUplift(
            self.cfg,
            self.pop,
            self.state,
            self.channels,
            idx,
            self.now if at is None else at,
            depth,
            data_kinds,
            self._awake(idx),
        )

    def _awake(self, idx: np.ndarray) -> np.ndarray | None:
        """The demand factor without the dip of consumers ``idx`` (a new array), from the
        open interval's record; None between intervals."""
        return None if self.interval is None else self.interval.awake_of(idx)

    def features(self, kinds: tuple[str, ...] = ("implicit", "explicit", "ambient")) -> Any:
        """The marketer's feature table now (see :meth:`sim.observe.Observations.features`)."""
        return self.obs.features(
            self.now, kinds, list(self.cfg.categories), self.pop.reachable, self.state.opted_out
        )
