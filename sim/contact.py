"""The contact transition: what one batch of contacts does to the consumers it reaches.

:meth:`sim.market.Market.contact` validates a batch (:meth:`Batch.of`), then runs these
steps, each vectorised over the batch:

1. **eligibility** (:func:`eligibility`): the status of every contact, by precedence
   holdout, unreachable, opted out; only delivered contacts go on;
2. **response** (:func:`respond`): each consumer's count of contacts within the step
   (which keys the draws), fatigue decayed to now, intrusiveness, the backlash draw and
   the persuasion hazard (zero under backlash), all read before the batch changes the
   state;
3. **state changes**, in this order: the persuasion window (:func:`open_boost_window`),
   backlash (:func:`apply_backlash`: penalty window, attitude hit, opt-out), the offer
   (:func:`make_offer`), the click-through (:func:`click_through`), the awareness gain
   (:func:`raise_awareness`: γ of the gap in the contact's category, γ/C in each
   category for a generic message), fatigue and annoyance (:func:`add_fatigue`) and
   the marketer's counters (:func:`count_contacts`).

The equations are those of :mod:`sim.response`.  The order is part of the numbers:
attitude takes the backlash hit before the annoyance cost, in float32.  Every function
assumes a validated batch whose consumers are unique.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sim.config import CHANNELS, MarketConfig
from sim.ledger import ContactStatus
from sim.observe import Observations
from sim.population import Population
from sim.response import (
    ChannelArrays,
    backlash_probability,
    generic_awareness_gain,
    intrusiveness,
    persuasion,
)
from sim.state import MarketState
from sim.streams import Purpose, Streams


def pick(setting: np.ndarray, keep: np.ndarray | slice) -> np.ndarray:
    """The rows ``keep`` of a per-contact setting; a 0-d setting (one value for the whole
    batch) stays as it is."""
    return setting if setting.ndim == 0 else setting[keep]


@dataclass(frozen=True)
class Batch:
    """The contacts of one batch, one row per consumer.

    Each setting is a column aligned with ``consumer`` or a 0-d array (one value for the
    whole batch), which spares a full column and its subsets.
    """

    contact_id: np.ndarray  # (n,) int64
    consumer: np.ndarray  # (n,) int64, unique
    channel: np.ndarray  # int8 code of sim.config.CHANNELS
    category: np.ndarray  # int16, -1 = a generic message
    discount: np.ndarray  # float32 in [0, 1), 0 = no offer
    depth: np.ndarray  # float32 personalisation depth in [0, 1]
    data_kinds: np.ndarray  # uint8 bit mask of the data kinds used (sim.response.kinds_mask)
    arm: np.ndarray  # int16 label for the analyst, no effect on the consumer
    holdout: np.ndarray  # bool: kept back for measurement

    @classmethod
    def of(
        cls,
        pop: Population,
        first_id: int,
        consumers: np.ndarray,
        channel: int | np.ndarray,
        category: int | np.ndarray,
        discount: float | np.ndarray,
        depth: float | np.ndarray,
        data_kinds: int | np.ndarray,
        arm: int | np.ndarray,
        holdout: bool | np.ndarray,
    ) -> Batch:
        """A batch with contact ids from ``first_id``, checked against ``pop``: consumer
        ids in range and unique, one value or one per consumer for each setting, codes and
        levels in range.  Raises ValueError otherwise."""
        consumer = np.asarray(consumers, dtype=np.int64).ravel()
        n = consumer.shape[0]
        if n and (consumer.min() < 0 or consumer.max() >= pop.n):
            raise ValueError(f"contact: consumer ids must lie in [0, {pop.n}).")
        # Sorted batches (the usual case) are unique when strictly increasing; otherwise
        # count in O(N), unlike np.unique.
        if (
            n > 1
            and not (consumer[1:] > consumer[:-1]).all()
            and np.bincount(consumer, minlength=pop.n).max() > 1
        ):
            raise ValueError("contact: a consumer appears twice in one batch.")

        def setting(name: str, value: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(value, dtype=dtype)
            if a.ndim == 0:
                return a
            a = a.ravel()
            if a.shape[0] != n:
                raise ValueError(f"contact: {name} has {a.shape[0]} entries for {n} consumers.")
            return a

        batch = cls(
            np.arange(first_id, first_id + n, dtype=np.int64),
            consumer,
            setting("channel", channel, np.int8),
            setting("category", category, np.int16),
            setting("discount", discount, np.float32),
            setting("depth", depth, np.float32),
            setting("data_kinds", data_kinds, np.uint8),
            setting("arm", arm, np.int16),
            setting("holdout", holdout, bool),
        )
        if not n:
            return batch
        if batch.channel.min() < 0 or batch.channel.max() >= len(CHANNELS):
            raise ValueError(f"contact: channel codes must lie in [0, {len(CHANNELS)}).")
        if batch.category.min() < -1 or batch.category.max() >= pop.n_categories:
            raise ValueError(f"contact: category codes must lie in [-1, {pop.n_categories}).")
        if (
            batch.discount.min() < 0
            or batch.discount.max() >= 1
            or batch.depth.min() < 0
            or batch.depth.max() > 1
        ):
            raise ValueError("contact: discount must lie in [0, 1) and depth in [0, 1].")
        return batch

    @property
    def size(self) -> int:
        return int(self.consumer.shape[0])

    def rows(self, keep: np.ndarray) -> Batch:
        """The contacts where the boolean mask ``keep`` is set."""
        return Batch(*(pick(getattr(self, f.name), keep) for f in fields(self)))

    def column(self, setting: np.ndarray) -> np.ndarray:
        """A setting of this batch as a full column (a 0-d setting repeated)."""
        return setting if setting.ndim else np.full(self.size, setting)


class ResponseDraws:
    """Uniforms of the contact responses (backlash, opt-out).

    The uniform of a consumer's contact in step ``step`` after ``prior`` earlier contacts
    in that step is entry ``consumer`` of a population-wide table keyed by
    (purpose, step, prior) (see :mod:`sim.streams`), so it does not depend on which other
    consumers share the batch.  Tables are cached until :meth:`new_step`.
    """

    def __init__(self, streams: Streams, n: int) -> None:
        self.streams = streams
        self.n = n
        self._tables: dict[tuple[int, int, int], np.ndarray] = {}

    def new_step(self) -> None:
        """Forget the tables of the step that just closed."""
        self._tables.clear()

    def _table(self, purpose: Purpose, step: int, prior: int) -> np.ndarray:
        key = (int(purpose), step, prior)
        table = self._tables.get(key)
        if table is None:
            table = self.streams.uniform(purpose, self.n, step, prior)
            self._tables[key] = table
        return table

    def draw(
        self, purpose: Purpose, step: int, consumer: np.ndarray, prior: np.ndarray
    ) -> np.ndarray:
        """One uniform per contact of ``consumer`` (float32)."""
        present = np.flatnonzero(np.bincount(prior))
        if present.size == 1:  # every consumer at the same count (the usual case): no masks
            return self._table(purpose, step, int(present[0]))[consumer]
        out = np.empty(consumer.shape[0], np.float32)
        for p in present:
            sel = prior == p
            out[sel] = self._table(purpose, step, int(p))[consumer[sel]]
        return out


# ---------------------------------------------------------------------- 1. eligibility
def eligibility(batch: Batch, reachable: np.ndarray, opted_out: np.ndarray) -> np.ndarray:
    """Status of each contact (int8 :class:`ContactStatus` codes) by precedence: holdout,
    then unreachable on the channel, then opted out of it, else delivered.

    ``reachable`` and ``opted_out`` are the (N, K) masks of the population and the state.
    """
    who, channel = batch.consumer, batch.channel
    status = opted_out[who, channel].view(np.int8) * np.int8(ContactStatus.OPTED_OUT)
    status[~reachable[who, channel]] = ContactStatus.UNREACHABLE
    if batch.holdout.ndim:
        status[batch.holdout] = ContactStatus.HOLDOUT
    elif batch.holdout:
        status[:] = ContactStatus.HOLDOUT
    return status


# ---------------------------------------------------------------------- 2. response
@dataclass(frozen=True)
class Response:
    """How the delivered contacts of a batch land, aligned with the batch."""

    step: int  # the step the contact time falls in
    prior: np.ndarray  # uint8 earlier contacts of the consumer within the step
    fatigue: np.ndarray  # float32 fatigue just before the contact
    intrusiveness: np.ndarray  # float32
    backlash: np.ndarray  # bool
    any_backlash: bool
    persuasion: np.ndarray  # float32 hazard the contact adds (0 under backlash)


def count_in_step(st: MarketState, who: np.ndarray, step: int) -> np.ndarray:
    """Earlier contacts of each consumer within ``step`` (uint8); counts this contact in the
    state's counter, which saturates at 255."""
    prior = st.step_contacts[who]
    prior[st.step_stamp[who] != step] = 0
    st.step_stamp[who] = step
    st.step_contacts[who] = np.minimum(prior, 254) + np.uint8(1)
    return prior


def respond(
    cfg: MarketConfig,
    pop: Population,
    st: MarketState,
    channels: ChannelArrays,
    draws: ResponseDraws,
    sent: Batch,
    now: float,
    awake: np.ndarray | None = None,
) -> Response:
    """Fatigue, intrusiveness, the backlash draw and the persuasion of the delivered
    contacts ``sent`` at ``now`` (``awake``: their demand factor without the dip, if
    known; see :func:`sim.response.consumer_demand`).

    Only the step counter changes (:func:`count_in_step`); fatigue, attitude and awareness
    are read as they were before the batch.
    """
    step = int(np.floor(now / cfg.step_days + 1e-9))
    who = sent.consumer
    prior = count_in_step(st, who, step)
    fatigue = st.fatigue_at(who, now, cfg.response.fatigue_half_life_days)
    # A setting with one value for the batch stays 0-d: the equations broadcast it, with the
    # same float32 operations per contact, and no column of it is built.
    channel, depth = sent.channel, sent.depth
    intrusive = intrusiveness(cfg, channels, channel, depth, sent.data_kinds, fatigue)
    p_backlash = backlash_probability(cfg, intrusive, pop.creepiness_threshold[who])
    backlash = draws.draw(Purpose.RESPONSE_BACKLASH, step, who, prior) < p_backlash
    any_backlash = bool(backlash.any())
    a = persuasion(
        cfg,
        pop,
        st,
        channels,
        who,
        channel,
        sent.category,
        sent.discount,
        depth,
        fatigue,
        now,
        awake,
    )
    if any_backlash:
        a[backlash] = 0.0
    return Response(step, prior, fatigue, intrusive, backlash, any_backlash, a)


# ---------------------------------------------------------------------- 3. state changes
def open_boost_window(
    st: MarketState, sent: Batch, response: Response, now: float, end: float
) -> bool:
    """Open a persuasion window until ``end`` for each contact without backlash.

    A window still open keeps its start and the larger hazard; its category and contact
    become this contact's.  Returns whether any window opened.
    """
    if response.any_backlash:
        landed = ~response.backlash
        who, a = sent.consumer[landed], response.persuasion[landed]
        category, contact_id = pick(sent.category, landed), sent.contact_id[landed]
    else:
        who, a = sent.consumer, response.persuasion
        category, contact_id = sent.category, sent.contact_id
    active = st.boost_end[who] > now
    st.boost[who] = np.where(active, np.maximum(st.boost[who], a), a)
    st.boost_start[who[~active]] = now
    st.boost_end[who] = end
    st.boost_category[who] = category
    st.boost_contact[who] = contact_id
    return bool(who.size)


def apply_backlash(
    cfg: MarketConfig,
    st: MarketState,
    draws: ResponseDraws,
    sent: Batch,
    response: Response,
    now: float,
    end: float,
) -> np.ndarray:
    """For each contact with backlash: a purchase-penalty window until ``end`` (one still
    open keeps its start), the attitude hit, and an opt-out of the channel with probability
    ``optout_prob`` (a draw of its own).  Returns the opt-out mask, aligned with ``sent``.
    """
    opted_out = np.zeros(sent.size, bool)
    if not response.any_backlash:
        return opted_out
    hit = response.backlash
    who = sent.consumer[hit]
    active = st.penalty_end[who] > now
    st.penalty_start[who] = np.where(active, st.penalty_start[who], now)
    st.penalty_end[who] = end
    st.attitude[who] -= np.float32(cfg.creepiness.attitude_hit)
    u = draws.draw(Purpose.RESPONSE_OPTOUT, response.step, who, response.prior[hit])
    opted_out[hit] = u < np.float32(cfg.creepiness.optout_prob)
    st.opted_out[sent.consumer[opted_out], pick(sent.channel, opted_out)] = True
    return opted_out


def make_offer(st: MarketState, sent: Batch, now: float, end: float) -> None:
    """Each contact with a discount replaces the consumer's offer by its own, valid until
    ``end``; a contact without one leaves the offer as it was."""
    discount = sent.discount
    if discount.ndim == 0 and not discount > 0:
        return
    offered = discount > 0 if discount.ndim else slice(None)
    who = sent.consumer[offered]
    st.offer_discount[who] = pick(discount, offered)
    st.offer_start[who] = now
    st.offer_end[who] = end
    st.offer_contact[who] = sent.contact_id[offered]


def raise_awareness(st: MarketState, channels: ChannelArrays, sent: Batch) -> None:
    """Close the share γ (the channel's ``awareness_gain``) of the awareness gap in the
    contact's category; a generic message closes γ/C of it in each of the C categories
    (:func:`sim.response.generic_awareness_gain`: in expectation, a message about a
    category drawn uniformly)."""
    gain = channels.awareness_gain[sent.channel]
    who, category = sent.consumer, sent.category
    if category.ndim:
        spec = category >= 0
        specific = who[spec], category[spec], gain[spec] if gain.ndim else gain
        generic = who[~spec], gain[~spec] if gain.ndim else gain
    elif category >= 0:
        specific, generic = (who, category, gain), None
    else:
        specific, generic = None, (who, gain)
    if specific is not None and specific[0].size:
        rows, cols, g = specific
        st.awareness[rows, cols] += g * (1.0 - st.awareness[rows, cols])
    if generic is not None and generic[0].size:
        rows, g = generic
        st.close_awareness_gap(rows, generic_awareness_gain(g, st.awareness.shape[1]))


def add_fatigue(
    cfg: MarketConfig,
    st: MarketState,
    channels: ChannelArrays,
    sent: Batch,
    fatigue: np.ndarray,
    now: float,
) -> bool:
    """Add the channel's intimacy to each consumer's ``fatigue`` (as decayed to ``now``:
    intimate channels tire more), and lower attitude by ``annoyance_attitude_cost`` per
    unit of fatigue above ``fatigue_annoyance``.  Returns whether anyone was annoyed."""
    r = cfg.response
    who = sent.consumer
    new_fatigue = fatigue + channels.intimacy[sent.channel]
    st.fatigue[who] = new_fatigue
    st.fatigue_time[who] = now
    over = new_fatigue - np.float32(r.fatigue_annoyance)
    annoyed = over > 0
    if not annoyed.any():
        return False
    st.attitude[who[annoyed]] -= np.float32(r.annoyance_attitude_cost) * over[annoyed]
    return True


def click_through(
    channels: ChannelArrays, draws: ResponseDraws, sent: Batch, response: Response
) -> np.ndarray:
    """Which delivered contacts click through to the site (a draw of their own against
    the channel's ``click_rate``; none under backlash).  A click is a short-lived visit:
    it is logged with the contact, and its purchase effect is the persuasion window."""
    rate = channels.click_rate[sent.channel]
    if not (rate > 0).any():
        return np.zeros(sent.size, bool)
    u = draws.draw(Purpose.RESPONSE_CLICK, response.step, sent.consumer, response.prior)
    clicked: np.ndarray = u < rate
    if response.any_backlash:
        clicked &= ~response.backlash
    return clicked


def count_contacts(obs: Observations, who: np.ndarray, now: float) -> None:
    """The marketer's record of contacts received: a count and the latest time."""
    obs.contacts_received[who] += 1
    obs.last_contact[who] = now
