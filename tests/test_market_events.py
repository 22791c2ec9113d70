"""Event time: each interval's events carry their own times, triggers fire at event time
plus delay, purchases are resolved exactly, and neither a contact nor a question about
purchases changes anything before it (common random numbers)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.config import CHANNELS, MarketConfig
from sim.hazard import FAR, Terms, solve
from sim.ledger import ContactStatus
from sim.market import Market
from sim.observe import NEVER, EventFeed
from sim.strategies.base import build_strategy_config, make_strategy

HOUR = 1.0 / 24.0
EMAIL = CHANNELS.index("email")
FEEDS = ("abandoned", "browsed", "pinged", "context")


def run_with_feeds(
    cfg: MarketConfig, seed: int, strategy: dict[str, Any]
) -> tuple[Market, dict[str, EventFeed]]:
    """Run ``strategy`` and collect every interval's published feeds (as the strategies
    see them: consent-filtered, the context feed whole)."""
    m = Market(cfg, seed)
    seen: dict[str, list[EventFeed]] = {name: [] for name in FEEDS}

    def watch() -> Generator[Any, Any, None]:
        while True:
            for name in FEEDS:
                seen[name].append(getattr(m.obs, name))
            yield m.interval_opened

    m.env.process(watch())
    make_strategy(build_strategy_config(strategy), seed).start(m)
    m.run()
    joined = {
        name: EventFeed(*(np.concatenate([getattr(f, c) for f in feeds]) for c in EVENT_COLS))
        for name, feeds in seen.items()
    }
    return m, joined


EVENT_COLS = ("consumer", "time", "category", "since")


def latest_event(
    consumer: np.ndarray, time: np.ndarray, feed: EventFeed, delay: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each (consumer, time): the lag ``time - (t_event + delay)`` to the consumer's
    latest event of ``feed`` with ``t_event + delay <= time`` (inf if none), and that
    event's ``since``."""
    span = 1e6
    key = feed.consumer.astype(np.float64) * span + feed.time + delay
    order = np.argsort(key)
    key, since = key[order], feed.since[order]
    want = consumer.astype(np.float64) * span + time
    pos = np.searchsorted(key, want + 1e-9, side="right") - 1
    ok = (pos >= 0) & (np.floor(key[np.maximum(pos, 0)] / span) == consumer)
    lag = np.where(ok, want - key[np.maximum(pos, 0)], np.inf)
    return lag, np.where(ok, since[np.maximum(pos, 0)], np.nan)


RULES = [
    {"event": "cart_abandoned", "channel": "email", "delay_days": 0.125},
    {"event": "browsed_no_buy", "channel": "email", "delay_days": 0.5, "cooldown_days": 3.0},
    {"event": "near_store", "channel": "sms", "delay_days": 0.0, "depth": 0.0},
]
RULE_FEED = {"cart_abandoned": "abandoned", "browsed_no_buy": "browsed", "near_store": "pinged"}


@pytest.fixture(scope="module")
def triggered_run() -> tuple[Market, dict[str, EventFeed]]:
    cfg = MarketConfig(n_consumers=6000, horizon_days=20)
    strategy = {"name": "triggered", "rules": RULES, "end_day": 20.0}
    return run_with_feeds(cfg, 4, strategy)


def test_triggered_contacts_leave_within_the_delay_plus_an_hour_of_their_event(
    triggered_run: tuple[Market, dict[str, EventFeed]],
) -> None:
    """Seed 4, 6,000 consumers, 20 days, three rules: every contact row of a rule (sent,
    held out or not addressable alike) lies in [t_event + delay, t_event + delay + 1 h]
    of an event of that rule's feed for the same consumer, and cart e-mails leave at all
    hours, not at the close of the day."""
    m, feeds = triggered_run
    c = m.ledger.contacts.frame()
    for arm, rule in enumerate(RULES, start=1):
        rows = c[c["arm"] == arm]
        assert len(rows) > 100, rule["event"]
        lag, _ = latest_event(
            rows["consumer"].to_numpy(),
            rows["time"].to_numpy(),
            feeds[RULE_FEED[rule["event"]]],
            rule["delay_days"],
        )
        assert np.all(lag >= 0.0) and np.all(lag <= HOUR + 1e-9), (rule["event"], lag.max())
    cart = c[c["arm"] == 1]["time"].to_numpy()
    at_midnight = np.isclose(np.mod(cart, 1.0), 0.0, atol=1e-9)
    assert at_midnight.mean() < 0.1  # about 1/24 with event-time triggers


def test_triggers_never_message_a_consumer_who_bought_since_the_event(
    triggered_run: tuple[Market, dict[str, EventFeed]],
) -> None:
    """No delivered triggered contact follows a purchase made since its event's ``since``
    (for a cart: since it was filled); and some events were dropped for that reason, so
    the check is not vacuous."""
    m, feeds = triggered_run
    c = m.ledger.contacts.frame()
    p = m.ledger.purchases.frame()
    bought = p.groupby("consumer")["time"].apply(np.sort).to_dict()

    def bought_between(who: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.zeros(who.shape[0], bool)
        for i, (w, a, b) in enumerate(zip(who, lo, hi, strict=True)):
            t = bought.get(int(w))
            if t is not None:
                out[i] = np.any((t >= a) & (t < b))
        return out

    for arm, rule in enumerate(RULES, start=1):
        rows = c[(c["arm"] == arm) & (c["status"] == ContactStatus.DELIVERED)]
        who, when = rows["consumer"].to_numpy(), rows["time"].to_numpy()
        _, since = latest_event(who, when, feeds[RULE_FEED[rule["event"]]], rule["delay_days"])
        assert not bought_between(who, since, when).any(), rule["event"]
    events = feeds["abandoned"]
    send = np.ceil((events.time + RULES[0]["delay_days"]) * 24.0 - 1e-6) / 24.0
    voided = bought_between(events.consumer, events.since, send)
    assert voided.sum() > 10


def test_contextual_messages_go_out_within_the_sessions_hour() -> None:
    """Seed 6, 5,000 consumers, 12 days: every contextual contact lies within an hour
    after a session of the same consumer (delay 0)."""
    cfg = MarketConfig(n_consumers=5000, horizon_days=12)
    m, feeds = run_with_feeds(cfg, 6, {"name": "contextual", "end_day": 12.0})
    c = m.ledger.contacts.frame()
    assert len(c) > 300
    lag, _ = latest_event(c["consumer"].to_numpy(), c["time"].to_numpy(), feeds["context"], 0.0)
    assert np.all(lag >= 0.0) and np.all(lag <= HOUR + 1e-9), lag.max()


def sorted_purchases(m: Market, sel: Any = None) -> pd.DataFrame:
    p = m.ledger.purchases.frame()
    if sel is not None:
        p = p[sel(p)]
    return p.sort_values(["consumer", "time"]).reset_index(drop=True)


def test_a_contact_changes_no_purchase_before_it() -> None:
    """Seed 9, 20,000 consumers: one generic e-mail to everyone reachable at t_c = 3 days
    13:00.  Every purchase before t_c is the no-campaign world's, bit for bit; so is every
    purchase of the day t_c falls in by consumers the e-mail did not reach (word of mouth
    only moves at the day's close)."""
    cfg = MarketConfig(n_consumers=20000, horizon_days=6)
    strategy = {"name": "mass", "start_day": 3.0, "end_day": 4.0, "send_hour": 13.0}
    with_mail = Market(cfg, 9)
    make_strategy(build_strategy_config(strategy), 9).start(with_mail)
    with_mail.run()
    without = Market(cfg, 9).run()
    t_c = 3.0 + 13.0 / 24.0
    before = sorted_purchases(with_mail, lambda p: p["time"] < t_c)
    assert len(before) > 100
    pd.testing.assert_frame_equal(
        before, sorted_purchases(without, lambda p: p["time"] < t_c), check_exact=True
    )
    c = with_mail.ledger.contacts.frame()
    reached = c.loc[c["status"] == ContactStatus.DELIVERED, "consumer"].to_numpy()
    assert reached.size > 10000

    def that_day_unreached(p: pd.DataFrame) -> pd.Series:
        return (p["time"] >= 3.0) & (p["time"] < 4.0) & ~p["consumer"].isin(reached)

    a, b = (
        sorted_purchases(with_mail, that_day_unreached),
        sorted_purchases(without, that_day_unreached),
    )
    assert len(a) > 5
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # The e-mail does change purchases after it.
    after = sorted_purchases(with_mail, lambda p: p["time"] >= t_c)
    assert not after.equals(sorted_purchases(without, lambda p: p["time"] >= t_c))


def test_asking_about_purchases_changes_nothing(get_state_arrays) -> None:
    """Seed 12, 4,000 consumers, 12 days: a process that every 0.37 days asks whether 300
    random consumers bought in the last day (as a trigger does) and values an e-mail to
    them (as the oracle does) leaves the ledger and the state those of the world without
    it, bit for bit, although each question resolves purchases early."""
    cfg = MarketConfig(n_consumers=4000, horizon_days=12)
    asked = Market(cfg, 12)
    rng = np.random.default_rng(0)
    answers: list[int] = []

    def ask() -> Generator[Any, Any, None]:
        while True:
            yield asked.env.timeout(0.37)
            who = rng.choice(cfg.n_consumers, 300, replace=False)
            answers.append(int(asked.bought_since(who, asked.now - 1.0).sum()))
            asked.expected_uplift(who, EMAIL)

    asked.env.process(ask())
    asked.run()
    plain = Market(cfg, 12).run()
    assert sum(answers) > 0
    for name, table in asked.ledger.tables().items():
        pd.testing.assert_frame_equal(
            table.frame(), plain.ledger.tables()[name].frame(), check_exact=True
        )
    a, b = get_state_arrays(asked.state), get_state_arrays(plain.state)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name, strict=True)


# --------------------------------------------------------------------------- the hazard


def random_terms(rng: np.random.Generator, m: int, t0: float = 0.0, t1: float = 1.0) -> Terms:
    """m consumers with every kind of term, windows and carts starting and ending inside
    or outside [t0, t1) at random, each present for about half of them."""

    def maybe(lo: np.ndarray, hi: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
        on = rng.random(m) < 0.5
        return np.where(on, lo, fill), np.where(on, hi, fill)

    def window() -> tuple[np.ndarray, np.ndarray]:
        a = rng.uniform(t0 - 0.5, t1, m)
        return maybe(a, a + rng.uniform(0.0, 1.5, m), NEVER)

    s0, e0 = maybe(np.full(m, t0), rng.uniform(t0, t1 + 0.5, m), t1)
    s1, e1 = maybe(rng.uniform(t0, t1, m), np.full(m, t1), t1)
    e1 = np.where(e1 > s1, np.minimum(e1, s1 + rng.uniform(0, 1, m)), e1)
    ps, pe = window()
    bs, be = window()
    a1 = np.where(rng.random(m) < 0.3, np.minimum(e0, t1 - 1e-3), FAR)
    a1 = np.where(a1 > t0, a1, FAR)
    a2 = np.where(rng.random(m) < 0.3, rng.uniform(t0, t1, m), FAR)
    return Terms(
        h=rng.gamma(1.0, 0.01, m),
        ret_w=np.where(rng.random(m) < 0.5, rng.uniform(0, 2, m), 0.0),
        ret_t=t0 - rng.uniform(0, 30, m),
        s0=s0,
        e0=e0,
        s1=s1,
        e1=e1,
        a1=a1,
        a2=a2,
        ps=ps,
        pe=pe,
        level=rng.uniform(0, 0.05, m),
        bs=bs,
        be=be,
        r_cart=0.2,
        r_ret=0.3,
        memory=0.5,
        penalty=0.5,
    )


def rate_at(terms: Terms, t: np.ndarray) -> np.ndarray:
    """The hazard of each consumer at times ``t`` (m, k), from the module's equation."""
    T = terms.column()

    def on(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ((a <= t) & (t < b)).astype(float)

    back = T.ret_w * np.exp(-(t - T.ret_t) / T.memory)
    for a in (T.a1, T.a2):
        back = back + np.where(a <= t, np.exp(-(t - np.minimum(a, t)) / T.memory), 0.0)
    base = T.h + T.r_cart * (on(T.s0, T.e0) + on(T.s1, T.e1)) + T.r_ret * back
    return (1 - T.penalty * on(T.ps, T.pe)) * base + T.level * on(T.bs, T.be)


def test_the_hazard_integral_is_exact() -> None:
    """Terms.total over [0, t) at random t agrees to 1e-10 with Gauss-Legendre quadrature
    (12 nodes) of the hazard between consecutive breakpoints, where it is smooth (2,000
    random consumers, seed 3)."""
    rng = np.random.default_rng(3)
    m = 2000
    terms = random_terms(rng, m)
    t = rng.uniform(0.0, 1.0, m)
    cuts = np.minimum(np.maximum(terms.breakpoints(), 0.0), t[:, None])
    edges = np.concatenate([np.zeros((m, 1)), np.sort(cuts, axis=1), t[:, None]], axis=1)
    lo, hi = edges[:, :-1], edges[:, 1:]
    x, wts = np.polynomial.legendre.leggauss(12)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    pts = (mid[:, :, None] + half[:, :, None] * x).reshape(m, -1)
    values = rate_at(terms, pts).reshape(m, lo.shape[1], 12)
    numeric = (values * wts * half[:, :, None]).sum(axis=(1, 2))
    np.testing.assert_allclose(terms.total(np.zeros(m), t), numeric, rtol=1e-10, atol=1e-13)


def test_purchase_times_invert_the_cumulative_hazard() -> None:
    """For random terms and thresholds reached within [a, 1), Terms.invert returns τ in
    [a, 1) with cum + ∫_a^τ h = E to 1e-9; a constant hazard is inverted exactly."""
    rng = np.random.default_rng(8)
    terms = random_terms(rng, 5000)
    a = rng.uniform(0.0, 0.6, 5000)
    cum = rng.uniform(0.0, 0.05, 5000)
    reach = cum + terms.total(a, np.ones(5000))
    e = cum + rng.uniform(0.0, 1.0, 5000) * (reach - cum)
    tau = terms.invert(a, cum, e, 1.0)
    assert np.all((tau >= a) & (tau < 1.0))
    np.testing.assert_allclose(cum + terms.total(a, tau), e, rtol=1e-9, atol=1e-12)
    x = solve(np.full(3, 0.3), np.zeros(3), 0.5, np.array([0.0, 0.03, 0.15]), np.ones(3))
    np.testing.assert_array_equal(x, np.array([0.0, 0.03, 0.15]) / 0.3)
