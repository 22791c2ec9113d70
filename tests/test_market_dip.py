"""Inter-purchase dependence (sim.dip): a purchase takes weight off its category for the
replenishment time, the history seeds it consistently, the closed form carries it, and a
campaign then moves purchases forward in time instead of only creating them."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from sim.config import (
    CHANNELS,
    AwarenessConfig,
    LifecycleConfig,
    MarketConfig,
    PurchaseConfig,
)
from sim.dip import replenishment
from sim.ledger import ContactStatus
from sim.market import Market
from sim.observe import NEVER
from sim.population import Stage
from sim.response import consumer_demand, demand_factor, persuasion
from sim.strategies.base import build_strategy_config, make_strategy

EMAIL = CHANNELS.index("email")
f32 = np.float32


def test_history_sets_the_last_purchase_by_category_as_observed() -> None:
    """Seed 2, 20,000 consumers: a category has a last purchase exactly where the observed
    history counts purchases in it; all lie before day 0 (lapsed consumers' at least 60
    days before); the last purchase overall is the latest of them; ``dip_until`` is the
    latest last purchase + replenishment time."""
    m = Market(MarketConfig(n_consumers=20000), 2)
    st, obs = m.state, m.obs
    has = st.last_bought > f32(NEVER)
    np.testing.assert_array_equal(has, obs.purchases_by_category > 0)
    assert has.any(axis=1).mean() > 0.3
    assert np.all(st.last_bought[has] <= 0.0)
    lapsed = m.pop.initial_lifecycle == Stage.LAPSED
    assert np.all(st.last_bought[lapsed][has[lapsed]] <= -60.0 + 1e-3)
    any_ = has.any(axis=1)
    latest = np.where(has, st.last_bought, -np.inf).max(axis=1)
    np.testing.assert_allclose(obs.last_purchase[any_], latest[any_], atol=1e-4)
    np.testing.assert_array_equal(st.last_purchase, obs.last_purchase)
    until = np.where(has, st.last_bought + replenishment(m.cfg), -np.inf).max(axis=1)
    np.testing.assert_allclose(st.dip_until[any_], until[any_], rtol=1e-6)
    # Some dips are live at day 0, as in the steady state.
    assert (st.dip_until > 0).mean() > 0.1


def test_history_buys_at_the_rate_the_market_then_buys() -> None:
    """Seed 7, 20,000 consumers: purchases per consumer-day in the seeded history (over
    each consumer's tenure, at most ``history_days``) are within 20 % of those of the
    first 30 simulated days without a campaign (carts and dips included in both)."""
    cfg = MarketConfig(n_consumers=20000, horizon_days=30)
    m = Market(cfg, 7)
    span = np.minimum(m.pop.initial_tenure, cfg.history_days).astype(float)
    history = m.obs.n_purchases.sum() / span.sum()
    m.run()
    run = len(m.ledger.purchases) / (cfg.n_consumers * cfg.horizon_days)
    assert abs(history / run - 1) < 0.2, (history, run)


@pytest.mark.parametrize("share_of_r", [0.0, 0.25, 0.5, 1.0, 2.0])
def test_a_purchase_takes_weight_off_its_category_and_it_recovers_linearly(
    share_of_r: float,
) -> None:
    """The demand factor of consumers who bought category c ``age`` days ago is the one
    without a dip minus ``s_ic·W_ic·d·max(0, 1 - age/R_c)`` (seed 1, 3,000 consumers)."""
    m = Market(MarketConfig(n_consumers=3000), 1)
    st = copy.deepcopy(m.state)
    cfg, pop = m.cfg, m.pop
    c, now = 4, 10.0
    r_c = float(replenishment(cfg)[c])
    st.last_bought[:] = NEVER
    st.last_bought[:, c] = now - share_of_r * r_c
    st.dip_until[:] = st.last_bought[:, c] + r_c
    idx = np.arange(pop.n)
    got = consumer_demand(cfg, pop, st, idx, now)
    w0 = cfg.response.awareness_floor
    weight = pop.share[:, c] * (w0 + (1 - w0) * st.awareness[:, c])
    want = demand_factor(cfg, pop.share, st.awareness) - weight * cfg.purchase.dip_depth * max(
        0.0, 1.0 - share_of_r
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_a_recent_purchase_damps_an_offer_in_its_category() -> None:
    """Persuasion of an e-mail about category c to consumers who bought c just now is
    (1 - d) times what it is without the purchase; other categories are untouched, and the
    closed-form uplift of the offer falls (seed 5, 2,000 consumers)."""
    m = Market(MarketConfig(n_consumers=2000), 5)
    cfg, pop = m.cfg, m.pop
    idx = np.arange(pop.n)
    fresh, bought = copy.deepcopy(m.state), copy.deepcopy(m.state)
    for st in (fresh, bought):
        st.last_bought[:] = NEVER
        st.dip_until[:] = NEVER
    c, other, now = 2, 5, 3.0
    bought.last_bought[:, c] = now
    bought.dip_until[:] = now + replenishment(cfg)[c]

    def a(st: object, cat: int) -> np.ndarray:
        n = pop.n
        return persuasion(
            cfg,
            pop,
            st,  # type: ignore[arg-type]
            m.channels,
            idx,
            np.full(n, EMAIL, np.int8),
            np.full(n, cat, np.int16),
            np.zeros(n, f32),
            np.zeros(n, f32),
            np.zeros(n, f32),
            now,
        )

    np.testing.assert_allclose(a(bought, c), (1 - cfg.purchase.dip_depth) * a(fresh, c), rtol=1e-5)
    np.testing.assert_array_equal(a(bought, other), a(fresh, other))
    m.state = fresh
    up_fresh = m.expected_uplift(idx, EMAIL, c, at=now)["uplift"]
    m.state = bought
    up_bought = m.expected_uplift(idx, EMAIL, c, at=now)["uplift"]
    assert np.all(up_bought < up_fresh)


def test_the_intervals_demand_matches_the_closed_forms_after_a_campaign() -> None:
    """After 30 days with a weekly e-mail (seed 4, 20,000 consumers), the whole-population
    demand factor the interval uses (live dips kept in a flat list) equals the per-consumer
    one of the closed form (:func:`sim.response.consumer_demand`), to float32 rounding."""
    m = Market(MarketConfig(n_consumers=20000, horizon_days=40), 4)
    make_strategy(build_strategy_config({"name": "mass", "end_day": 40.0}), 4).start(m)
    m.env.run(until=30.5)
    iv = m.interval
    assert iv is not None
    live = (m.state.dip_until > iv.t_mid).mean()
    assert live > 0.1
    want = consumer_demand(m.cfg, m.pop, m.state, slice(None), iv.t_mid)
    np.testing.assert_allclose(iv._demand(), want, rtol=2e-5, atol=1e-7)


def frequent_buyers(depth: float, n: int = 20000) -> MarketConfig:
    """A world where the dip matters and nothing else carries an e-mail's effect past its
    week: two categories bought every few weeks (base rate 0.04/day at full awareness,
    awareness 0.8 on average), replenishment 21 days, no awareness gain from the e-mail,
    no word of mouth, no lapsing (no reactivation by a purchase), a strong e-mail (lift
    0.01/day)."""
    base = MarketConfig()
    channels = dict(base.channels)
    channels["email"] = dataclasses.replace(
        channels["email"], awareness_gain=0.0, lift=0.01, reach=1.0
    )
    return MarketConfig(
        n_consumers=n,
        horizon_days=40,
        categories=["staples", "treats"],
        purchase=PurchaseConfig(base_rate=0.04, dip_depth=depth, replenishment_days=[21.0]),
        awareness=AwarenessConfig(initial_mean=0.8, wom_gain=0.0),
        lifecycle=LifecycleConfig(shares=[0.0, 1.0, 0.0], lapse_rate=0.0),
        channels=channels,
    )


def effect_by_period(depth: float, seed: int = 3) -> dict[str, float]:
    """One e-mail to everyone at day 7, 10:00 (1 % holdout) vs the same world without it
    (common random numbers): the change in purchases in the week after and in the three
    weeks after that, each with its z-score over consumers (paired differences), and the
    induced purchases of the four weeks."""
    cfg = frequent_buyers(depth)
    sc = build_strategy_config(
        {"name": "mass", "start_day": 7.0, "end_day": 8.0, "holdout_share": 0.01}
    )
    mail = Market(cfg, seed)
    make_strategy(sc, seed).start(mail)
    mail.run()
    plain = Market(cfg, seed).run()
    c = mail.ledger.contacts.frame()
    assert (c["status"] == ContactStatus.DELIVERED).sum() > 0.95 * cfg.n_consumers
    t = 7.0 + 10.0 / 24.0

    def bought(m: Market, a: float, b: float) -> np.ndarray:
        p = m.ledger.purchases.frame()
        inside = p[(p["time"] >= a) & (p["time"] < b)]
        return np.bincount(inside["consumer"], minlength=cfg.n_consumers).astype(float)

    out: dict[str, float] = {}
    for name, (a, b) in {"week": (t, t + 7), "after": (t + 7, t + 28), "all": (t, t + 28)}.items():
        d = bought(mail, a, b) - bought(plain, a, b)
        out[name] = d.sum()
        out[name + "_z"] = d.sum() / np.sqrt(cfg.n_consumers * d.var(ddof=1))
        out[name + "_se"] = np.sqrt(cfg.n_consumers * d.var(ddof=1))
    p = mail.ledger.purchases.frame()
    out["induced"] = float(p[(p["time"] >= t) & (p["time"] < t + 28)]["induced"].sum())
    return out


def test_with_the_dip_an_email_borrows_purchases_from_the_weeks_after() -> None:
    """Pull-forward (seed 3, 20,000 frequent buyers): with a dip of 0.9 over 21 days one
    e-mail raises purchases in the week after it (z > 3) and lowers them in the three
    weeks after that (z < -3), so fewer purchases are gained over the four weeks than the
    ledger marks induced (pulled forward = induced - net gain > 3 se).  Without the dip
    the later weeks are not lower (z > -2) and induced purchases are all net gain (within
    3 se)."""
    dip = effect_by_period(0.9)
    assert dip["week_z"] > 3
    assert dip["after_z"] < -3
    assert dip["induced"] - dip["all"] > 3 * dip["all_se"]
    flat = effect_by_period(0.0)
    assert flat["week_z"] > 3
    assert flat["after_z"] > -2
    assert abs(flat["induced"] - flat["all"]) < 3 * flat["all_se"]
