"""What the marketer sees: observed data by kind and consent, never latent traits.

The market writes every observable trace here as it happens (vectorised, per step);
:meth:`Observations.features` reads them back *masked by consent*:

* transactional basics (purchases, spend, recency, tenure, addresses and opt-outs) are
  first-party records every retailer keeps and are always visible;
* *implicit* data (browsing and purchases by category, session hours, carts) only for
  consumers who consent to implicit data;
* *explicit* data (declared tribe, wish lists and reviews by category) only with
  explicit consent (the tribe only if declared);
* *ambient* data (store visits, location pings near a store) only with ambient consent.

Event feeds (carts abandoned, sessions without a cart, pings near a store) are published
when an interval opens, for the triggered strategies, already filtered by consent: they
list the interval's events with their own times (each event is known to the strategies
from its time on: a strategy acts on an event at its time plus a delay, never before).
An event carries ``since``: it stands only if the consumer has not bought since then (a
purchase empties the cart it was about; for other events ``since`` is the event's time),
which :meth:`sim.market.Market.bought_since` answers.  The ``context`` feed holds every
session's category as the site sees it while the session lasts: contextual targeting may
use it without consent because nothing is stored about the consumer (like a search ad
that keeps no cookie).  The stored profile (sessions, wish lists, carts abandoned, store
visits, pings) is recorded when the interval closes, a batch latency of at most one
interval; purchases are recorded as they are resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.config import CHANNELS, DATA_KINDS

IMPLICIT, EXPLICIT, AMBIENT = 0, 1, 2
ENGAGEMENT_SENDS = 20
"""Past service messages per reachable channel whose opens reveal channel preference."""
NEVER = -1e9


@dataclass
class EventFeed:
    """Events of one kind in one interval: who, when, in which category (-1: none), and
    since when a purchase voids the event (see the module doc)."""

    consumer: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    time: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))
    category: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    since: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))

    def __len__(self) -> int:
        return int(self.consumer.shape[0])


class Observations:
    """Observed traces of N consumers; read through :meth:`features`."""

    def __init__(
        self,
        n: int,
        n_categories: int,
        consent: np.ndarray,
        declared: np.ndarray,
        tribe: np.ndarray,
    ) -> None:
        c = n_categories
        self.consent = consent
        self.declared_tribe = np.where(declared, tribe, -1).astype(np.int16)
        self.n_purchases = np.zeros(n, np.int32)
        self.spend = np.zeros(n, np.float32)
        self.first_purchase = np.full(n, NEVER)
        self.last_purchase = np.full(n, NEVER)
        self.purchases_by_category = np.zeros((n, c), np.uint16)
        self.browse_by_category = np.zeros((n, c), np.uint16)
        self.last_browse = np.full(n, NEVER)
        self.session_hour = np.full(n, np.nan, np.float32)
        self.last_abandon = np.full(n, NEVER)
        self.likes_by_category = np.zeros((n, c), np.uint8)
        self.store_visits = np.zeros(n, np.uint16)
        self._last_ping = np.full(n, NEVER)
        self._pings: list[Callable[[], tuple[np.ndarray, np.ndarray]]] = []
        self.contacts_received = np.zeros(n, np.int32)
        self.channel_opens = np.zeros((n, len(CHANNELS)), np.uint8)  # of ENGAGEMENT_SENDS
        self.last_contact = np.full(n, NEVER)
        self._source: Callable[[], tuple[EventFeed, ...]] | None = None
        self._feeds: tuple[EventFeed, ...] | None = (EventFeed(),) * 4

    # ------------------------------------------------------------------ writers
    def record_purchases(
        self, who: np.ndarray, time: np.ndarray, category: np.ndarray, value: np.ndarray
    ) -> None:
        self.n_purchases[who] += 1
        self.spend[who] += value
        first = self.first_purchase[who]
        self.first_purchase[who] = np.where(first <= NEVER, time, first)
        self.last_purchase[who] = time
        self.purchases_by_category[who, category] += 1

    def record_sessions(
        self, who: np.ndarray, time: np.ndarray, category: np.ndarray, hour: np.ndarray
    ) -> None:
        self.browse_by_category[who, category] += 1
        self.last_browse[who] = time
        self.session_hour[who] = hour

    def publish(
        self, source: Callable[[], tuple[EventFeed, EventFeed, EventFeed, EventFeed]]
    ) -> None:
        """Publish an interval's event feeds: ``source()`` gives (carts abandoned, sessions
        without a cart, pings, every session), built when a strategy first reads one;
        the readers keep only what consent lets the marketer see (the stored profile is
        recorded at the interval's close)."""
        self._source, self._feeds = source, None

    def _feed(self, which: int) -> EventFeed:
        if self._feeds is None:
            assert self._source is not None
            abandoned, browsed, pinged, context = self._source()
            self._feeds = (
                _mask(abandoned, self.consent[abandoned.consumer, IMPLICIT]),
                _mask(browsed, self.consent[browsed.consumer, IMPLICIT]),
                _mask(pinged, self.consent[pinged.consumer, AMBIENT]),
                context,
            )
        return self._feeds[which]

    @property
    def abandoned(self) -> EventFeed:
        """Carts abandoned in the interval (implicit data)."""
        return self._feed(0)

    @property
    def browsed(self) -> EventFeed:
        """Sessions that added nothing to a cart (implicit data)."""
        return self._feed(1)

    @property
    def pinged(self) -> EventFeed:
        """Location pings (ambient data)."""
        return self._feed(2)

    @property
    def context(self) -> EventFeed:
        """Every session, as the site sees it while it lasts (no consent needed)."""
        return self._feed(3)

    def record_pings(self, pings: Callable[[], tuple[np.ndarray, np.ndarray]]) -> None:
        """Record an interval's location pings, given as a function returning (who, when):
        pings do not depend on the market's state, so they are drawn only when read."""
        self._pings.append(pings)

    @property
    def last_ping(self) -> np.ndarray:
        """Time of each consumer's latest location ping (ambient data)."""
        for pings in self._pings:
            who, when = pings()
            self._last_ping[who] = when
        self._pings.clear()
        return self._last_ping

    # ------------------------------------------------------------------ readers
    def features(
        self,
        now: float,
        kinds: tuple[str, ...] = DATA_KINDS,
        categories: list[str] | None = None,
        reachable: np.ndarray | None = None,
        opted_out: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """One row per consumer of what the marketer may use at time ``now``.

        Columns of a data kind not in ``kinds``, or of a consumer without consent for
        it, are NaN (the declared tribe is -1).  ``reachable``/``opted_out`` (N, K) add
        per-channel address columns, which every marketer knows.
        """
        for k in kinds:
            if k not in DATA_KINDS:
                raise ValueError(f"unknown data kind {k!r}; valid choices: {', '.join(DATA_KINDS)}")
        c = self.purchases_by_category.shape[1]
        names = categories or [f"c{j}" for j in range(c)]
        never = self.last_purchase <= NEVER
        cols: dict[str, np.ndarray] = {
            "frequency": self.n_purchases.astype(np.float32),
            "monetary": self.spend,
            "recency_days": np.where(never, np.nan, now - self.last_purchase).astype(np.float32),
            "tenure_days": np.where(
                self.first_purchase <= NEVER, np.nan, now - self.first_purchase
            ).astype(np.float32),
            "contacts_received": self.contacts_received.astype(np.float32),
            "days_since_contact": np.where(
                self.last_contact <= NEVER, np.nan, now - self.last_contact
            ).astype(np.float32),
        }
        if reachable is not None:
            for j, ch in enumerate(CHANNELS):
                ok = reachable[:, j] & ~(opted_out[:, j] if opted_out is not None else False)
                cols[f"reach_{ch}"] = ok.astype(np.float32)

        def masked(values: np.ndarray, kind: int) -> np.ndarray:
            if DATA_KINDS[kind] not in kinds:
                return np.full(values.shape, np.nan, np.float32)
            ok = self.consent[:, kind]
            v = values.astype(np.float32)
            mask = ~ok if v.ndim == 1 else ~ok[:, None]
            return np.where(mask, np.float32(np.nan), v)

        for j, name in enumerate(names):
            cols[f"browse_{name}"] = masked(self.browse_by_category[:, j], IMPLICIT)
        for j, name in enumerate(names):
            cols[f"bought_{name}"] = masked(self.purchases_by_category[:, j], IMPLICIT)
        cols["session_hour"] = masked(self.session_hour, IMPLICIT)
        for j, ch in enumerate(CHANNELS):
            cols[f"open_rate_{ch}"] = masked(
                self.channel_opens[:, j] / np.float32(ENGAGEMENT_SENDS), IMPLICIT
            )
        cols["days_since_browse"] = masked(
            np.where(self.last_browse <= NEVER, np.nan, now - self.last_browse), IMPLICIT
        )
        cols["days_since_abandon"] = masked(
            np.where(self.last_abandon <= NEVER, np.nan, now - self.last_abandon), IMPLICIT
        )
        for j, name in enumerate(names):
            cols[f"likes_{name}"] = masked(self.likes_by_category[:, j], EXPLICIT)
        tribe = self.declared_tribe
        if "explicit" in kinds:
            tribe = np.where(self.consent[:, EXPLICIT], tribe, -1).astype(np.int16)
        else:
            tribe = np.full_like(tribe, -1)
        cols["declared_tribe"] = tribe
        cols["store_visits"] = masked(self.store_visits, AMBIENT)
        cols["days_since_ping"] = masked(
            np.where(self.last_ping <= NEVER, np.nan, now - self.last_ping), AMBIENT
        )
        return pd.DataFrame(cols)


def seed_engagement(
    obs: Observations, channel_pref: np.ndarray, reachable: np.ndarray, rng: np.random.Generator
) -> None:
    """Opens of the last ENGAGEMENT_SENDS service messages on each reachable channel:
    Binomial(ENGAGEMENT_SENDS, channel preference).  Implicit data: it reveals, noisily,
    which channels a consumer answers on ("reply by SMS, not Twitter")."""
    opens = rng.binomial(ENGAGEMENT_SENDS, channel_pref)
    obs.channel_opens[:] = np.where(reachable, opens, 0).astype(np.uint8)


def interest(obs: Observations, kinds: tuple[str, ...]) -> np.ndarray:
    """Observed interest profile (N, C): sessions + 2 x purchases by category (implicit)
    plus likes (explicit), only where the data kind is used and consented; rows sum to
    1, or to 0 for a consumer with no usable data."""
    n, c = obs.purchases_by_category.shape
    out = np.zeros((n, c), np.float32)
    if "implicit" in kinds:
        ok = obs.consent[:, IMPLICIT][:, None]
        out += np.where(ok, obs.browse_by_category + 2.0 * obs.purchases_by_category, 0.0)
    if "explicit" in kinds:
        ok = obs.consent[:, EXPLICIT][:, None]
        out += np.where(ok, obs.likes_by_category.astype(np.float32), 0.0)
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out


def _mask(feed: EventFeed, keep: np.ndarray) -> EventFeed:
    return EventFeed(feed.consumer[keep], feed.time[keep], feed.category[keep], feed.since[keep])
