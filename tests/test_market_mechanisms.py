"""Mechanisms of the market: fatigue, intrusiveness and backlash, delivery status,
persuasion, word of mouth, organic purchases and the observation layer."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import CHANNELS, DATA_KINDS, AwarenessConfig, ChannelConfig, MarketConfig
from sim.ledger import ContactStatus
from sim.market import Market
from sim.observe import NEVER
from sim.response import (
    ChannelArrays,
    backlash_probability,
    consumer_demand,
    intrusiveness,
    kinds_mask,
    persuasion,
)
from sim.strategies.base import build_strategy_config, make_strategy
from sim.word_of_mouth import TribeSignal, spread, tribe_signal

EMAIL, SMS, PHONE, DISPLAY = (CHANNELS.index(c) for c in ("email", "sms", "phone", "display"))
DELIVERED, HOLDOUT = ContactStatus.DELIVERED, ContactStatus.HOLDOUT
OPTED_OUT, UNREACHABLE = ContactStatus.OPTED_OUT, ContactStatus.UNREACHABLE
ALL_KINDS = kinds_mask(DATA_KINDS)
f32 = np.float32


def market_at(cfg: MarketConfig, seed: int, t: float) -> Market:
    """A market advanced to time ``t`` (organic steps up to floor(t) done)."""
    m = Market(cfg, seed)
    m.env.run(until=t)
    return m


# --------------------------------------------------------------------------- fatigue


def test_no_contact_means_no_fatigue_and_no_backlash(make_cfg, run_market) -> None:
    cfg = make_cfg(n=5000, days=20)
    m = run_market(cfg, 1)
    s = m.state
    assert len(m.ledger.contacts) == 0 and len(m.ledger.optouts) == 0
    assert np.all(s.fatigue == 0.0)
    assert np.all(s.fatigue_at(np.arange(m.pop.n), m.now, cfg.response.fatigue_half_life_days) == 0)
    assert np.all(s.penalty_end == NEVER) and np.all(s.boost == 0.0)
    assert not s.opted_out.any()
    # Attitude only moves through contacts, backlash and distrust: it stays exactly neutral.
    assert np.all(s.attitude == 0.0)
    assert len(m.ledger.purchases) > 0
    assert not m.ledger.purchases.frame()["induced"].any()


def test_fatigue_halves_after_its_half_life(make_cfg) -> None:
    """A contact adds its channel's fatigue increment F1 (today: the channel's intimacy);
    fatigue_at then follows F1·2^{-age/h} exactly."""
    cfg = make_cfg(n=2000, days=40)
    h = cfg.response.fatigue_half_life_days
    m = market_at(cfg, 2, 3.25)
    who = np.flatnonzero(m.pop.reachable[:, EMAIL])[:200]
    res = m.contact(who, channel=EMAIL)
    assert (res.status == DELIVERED).all()
    t0 = m.now
    f1 = m.state.fatigue_at(who, t0, h)
    assert f1[0] > 0 and np.all(f1 == f1[0])  # one increment, the same for everyone
    np.testing.assert_allclose(m.state.fatigue_at(who, t0 + h, h), f1 / 2, rtol=1e-6)
    np.testing.assert_allclose(m.state.fatigue_at(who, t0 + 2 * h, h), f1 / 4, rtol=1e-6)
    np.testing.assert_allclose(m.state.fatigue_at(who, t0 + 0.5 * h, h), f1 * 2**-0.5, rtol=1e-6)
    # A second contact one half-life later stacks on the decayed value: F1/2 + F1.
    m.env.run(until=t0 + h)
    m.contact(who, channel=EMAIL)
    np.testing.assert_allclose(m.state.fatigue_at(who, m.now, h), 1.5 * f1, rtol=1e-6)
    others = np.setdiff1d(np.arange(m.pop.n), who)
    assert np.all(m.state.fatigue[others] == 0.0)
    # Holdout rows add no fatigue.
    m.contact(others[:50], channel=EMAIL, holdout=True)
    assert np.all(m.state.fatigue[others] == 0.0)


# --------------------------------------------------------------------------- backlash


def test_backlash_probability_closed_form() -> None:
    cfg = MarketConfig()
    s = cfg.creepiness.softness
    thr = np.array([0.5, 1.0, 2.0], f32)
    p = backlash_probability(cfg, thr.copy(), thr)  # I = θ: a coin flip
    np.testing.assert_allclose(p, 0.5, atol=1e-6)
    p = backlash_probability(cfg, np.array([np.e], f32), np.array([1.0], f32))
    np.testing.assert_allclose(p, 1.0 / (1.0 + np.exp(-1.0 / s)), rtol=1e-5)
    assert backlash_probability(cfg, np.array([0.0], f32), np.array([1.0], f32))[0] == 0.0


positive = st.floats(
    min_value=2.0**-14, max_value=2.0**14, allow_nan=False, allow_infinity=False, width=32
)


@settings(max_examples=300, deadline=None)
@given(
    intr=positive, thr_a=positive, thr_b=positive, softness=st.floats(min_value=0.01, max_value=2.0)
)
def test_higher_threshold_never_raises_backlash(
    intr: float, thr_a: float, thr_b: float, softness: float
) -> None:
    """Property: p(I, θ) is non-increasing in θ (float32 rounding tolerance 1e-6) and
    non-decreasing in I."""
    cfg = MarketConfig()
    cfg.creepiness = dataclasses.replace(cfg.creepiness, softness=softness)
    lo, hi = sorted((thr_a, thr_b))
    p = backlash_probability(cfg, np.array([intr, intr], f32), np.array([lo, hi], f32))
    assert 0.0 <= p[1] <= p[0] + 1e-6 <= 1.0 + 1e-6
    q = backlash_probability(cfg, np.array([lo, hi], f32), np.array([intr, intr], f32))
    assert q[0] <= q[1] + 1e-6


def test_tolerant_copy_of_the_market_never_has_more_backlash(make_cfg) -> None:
    """Same seed, same deeply personalised phone batch; the copy whose thresholds are all
    multiplied by 10 sees backlash in a subset of the consumers the original sees it in
    (same response uniforms, lower probabilities), hence never more events."""
    cfg = make_cfg(n=8000, days=10)
    base = Market(cfg, 12)
    tolerant_pop = dataclasses.replace(
        base.pop, creepiness_threshold=base.pop.creepiness_threshold * f32(10.0)
    )
    tolerant = Market(cfg, 12, population=tolerant_pop)
    results = []
    for m in (base, tolerant):
        m.env.run(until=3.4)
        results.append(
            m.contact(
                np.arange(cfg.n_consumers),
                channel=PHONE,
                category=1,
                depth=1.0,
                data_kinds=ALL_KINDS,
            )
        )
    r0, r1 = results
    np.testing.assert_array_equal(r0.status, r1.status)
    assert r0.backlash.sum() > 100  # the batch is creepy enough to test anything
    assert r1.backlash.sum() <= r0.backlash.sum()
    assert not (r1.backlash & ~r0.backlash).any()
    assert (r1.opted_out <= r0.opted_out).all()


unit = st.floats(min_value=0.0, max_value=1.0, width=32)


@settings(max_examples=200, deadline=None)
@given(
    d1=unit,
    d2=unit,
    f1=st.floats(0.0, 20.0, width=32),
    f2=st.floats(0.0, 20.0, width=32),
    kinds=st.integers(0, 7),
    channel=st.integers(0, len(CHANNELS) - 1),
)
def test_intrusiveness_is_monotone_in_depth_and_fatigue(
    d1: float, d2: float, f1: float, f2: float, kinds: int, channel: int
) -> None:
    """Property: I is non-decreasing in depth and in fatigue (relative tolerance 1e-6)."""
    cfg = MarketConfig()
    chan = ChannelArrays.from_config(cfg)
    (d_lo, d_hi), (f_lo, f_hi) = sorted((d1, d2)), sorted((f1, f2))
    i = intrusiveness(
        cfg,
        chan,
        np.full(2, channel),
        np.array([d_lo, d_hi], f32),
        np.full(2, kinds, np.uint8),
        np.array([f_lo, f_hi], f32),
    )
    assert i[0] >= 0 and i[0] <= i[1] * (1 + 1e-6)


def test_intrusiveness_grows_with_depth_sensitivity_intimacy_and_frequency() -> None:
    cfg = MarketConfig()
    chan = ChannelArrays.from_config(cfg)

    def intr(channel: int, depth: float, kinds: int, fatigue: float = 0.0) -> float:
        return float(
            intrusiveness(
                cfg,
                chan,
                np.array([channel]),
                np.array([depth], f32),
                np.array([kinds], np.uint8),
                np.array([fatigue], f32),
            )[0]
        )

    ambient = kinds_mask(["ambient"])
    depths = [intr(EMAIL, d, ambient) for d in (0.0, 0.25, 0.5, 1.0)]
    assert depths == sorted(depths) and len(set(depths)) == 4
    by_kind = [intr(EMAIL, 1.0, kinds_mask([k])) for k in ("implicit", "explicit", "ambient")]
    assert by_kind[0] < by_kind[1] < by_kind[2]
    # Several kinds count as the most sensitive one used.
    assert intr(EMAIL, 1.0, ALL_KINDS) == by_kind[2]
    by_channel = [intr(ch, 0.5, ambient) for ch in (DISPLAY, EMAIL, SMS, PHONE)]
    assert by_channel[0] < by_channel[1] < by_channel[2] < by_channel[3]
    assert intr(PHONE, 0.5, ambient, fatigue=3.0) > intr(PHONE, 0.5, ambient, fatigue=0.0)
    # Closed form I = ι(I0 + p·σ)(1 + f F).
    cr = cfg.creepiness
    expect = (
        cfg.channels["sms"].intimacy
        * (cr.generic_intrusiveness + 0.5 * cfg.consent.sensitivity["explicit"])
        * (1 + cr.frequency_weight * 2.0)
    )
    assert intr(SMS, 0.5, kinds_mask(["explicit"]), 2.0) == pytest.approx(expect, rel=1e-6)
    # Without personalisation the data kinds do not matter.
    assert intr(EMAIL, 0.0, ALL_KINDS) == intr(EMAIL, 0.0, 0)


def test_backlash_hits_attitude_opts_out_and_cancels_persuasion(make_cfg) -> None:
    """Backlash lowers attitude by exactly ``attitude_hit`` (plus any annoyance),
    opts out at rate ``optout_prob`` among backlash events (binomial, tolerance 4 sd),
    only backlash events opt out, and backlash replaces persuasion by a penalty window."""
    cfg = make_cfg(n=10000, days=10)
    m = market_at(cfg, 13, 2.5)
    who = np.flatnonzero(m.pop.reachable[:, PHONE])
    res = m.contact(who, channel=PHONE, category=2, depth=1.0, data_kinds=ALL_KINDS)
    bad, good = who[res.backlash], who[~res.backlash & (res.status == DELIVERED)]
    n_bad = bad.size
    assert n_bad > 200 and good.size > 100
    # First contact: attitude = -hit·backlash - annoyance_cost·max(F1 - annoyance, 0).
    f1 = m.state.fatigue_at(who, m.now, cfg.response.fatigue_half_life_days)
    r = cfg.response
    annoy = r.annoyance_attitude_cost * np.maximum(f1 - r.fatigue_annoyance, 0.0)
    expect = -cfg.creepiness.attitude_hit * res.backlash - annoy
    np.testing.assert_allclose(m.state.attitude[who], expect, rtol=1e-6, atol=1e-7)
    assert (m.state.attitude[bad] < m.state.attitude[good].min()).all()
    assert not (res.opted_out & ~res.backlash).any()
    p = cfg.creepiness.optout_prob
    rate = res.opted_out.sum() / n_bad
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / n_bad)
    assert (m.state.opted_out[who[res.opted_out], PHONE]).all()
    assert m.state.opted_out.sum() == res.opted_out.sum()
    assert (res.persuasion[res.backlash] == 0).all()
    assert (res.persuasion[~res.backlash] > 0).all()
    assert m.state.penalty_end[bad] == pytest.approx(m.now + cfg.response.window_days)
    assert (m.state.penalty_end[good] == NEVER).all()
    optouts = m.ledger.optouts.frame()
    np.testing.assert_array_equal(
        np.sort(optouts["consumer"].to_numpy()), np.sort(who[res.opted_out])
    )
    assert (optouts["channel"] == PHONE).all()


def test_backlash_makes_sleeping_dogs(make_cfg, deep_blast) -> None:
    """Ground truth: consumers who suffered a backlash buy less than they would have
    without the contact (sum of their direct effects over the run is negative)."""
    from sim.truth import twin_worlds

    cfg = make_cfg(n=10000, days=20)
    gt = twin_worlds(cfg, 14, lambda: deep_blast(days=(1.0,)))
    c = gt.observed.ledger.contacts.frame()
    bad = c.loc[c["backlash"], "consumer"].to_numpy()
    assert bad.size > 500
    assert gt.direct.conversions[bad].sum() < 0


# --------------------------------------------------------------------------- delivery


def test_opted_out_consumers_never_receive_a_contact_on_that_channel(
    make_cfg, run_market, deep_blast
) -> None:
    cfg = make_cfg(n=6000, days=12)
    blast = deep_blast(days=(1.0, 2.0, 2.5, 4.0, 6.0))
    m = run_market(cfg, 15, blast)
    c = m.ledger.contacts.frame()
    o = m.ledger.optouts.frame()
    assert len(o) > 100
    first_out = o.groupby(["consumer", "channel"])["time"].min()
    later = c.join(first_out.rename("out_time"), on=["consumer", "channel"], how="inner")
    later = later[later["time"] > later["out_time"]]
    assert len(later) > 0
    assert (later["status"] == OPTED_OUT).all()
    assert not later["backlash"].any() and (later["persuasion"] == 0).all()
    # Status opted_out is only ever given to consumers who did opt out of that channel.
    flagged = c[c["status"] == OPTED_OUT]
    assert m.state.opted_out[flagged["consumer"], flagged["channel"]].all()
    # The marketer's address columns show the opt-out.
    reach_phone = m.features()["reach_phone"].to_numpy()
    np.testing.assert_array_equal(
        reach_phone == 1, m.pop.reachable[:, PHONE] & ~m.state.opted_out[:, PHONE]
    )
    # Another channel is still open to them.
    outs = o["consumer"].unique()
    r = m.contact(outs, channel=EMAIL)
    ok = m.pop.reachable[outs, EMAIL]
    np.testing.assert_array_equal(r.status == DELIVERED, ok)


def test_campaigns_do_not_address_opted_out_consumers(make_cfg, deep_blast) -> None:
    """A deep e-mail blast on day 1 opts some consumers out of e-mail; a weekly mass e-mail
    from day 2 on never records a row (not even a holdout row) for them."""
    cfg = make_cfg(n=6000, days=12)
    m = Market(cfg, 26)
    deep_blast(days=(1.0,), channel=EMAIL).start(m)
    sc = build_strategy_config(
        {"name": "mass", "channel": "email", "start_day": 2.0, "end_day": 12.0, "every_days": 3.0}
    )
    make_strategy(sc, 26).start(m)
    m.run()
    c = m.ledger.contacts.frame()
    out = m.ledger.optouts.frame()["consumer"].to_numpy()
    assert out.size > 50
    mass_rows = c[c["time"] >= 2.0]
    assert len(mass_rows) > 0
    assert not mass_rows["consumer"].isin(out).any()
    assert (mass_rows["status"].isin([DELIVERED, HOLDOUT])).all()


def test_unreachable_consumers_get_status_unreachable(make_cfg) -> None:
    cfg = make_cfg(n=4000, days=5)
    m = market_at(cfg, 16, 1.3)
    everyone = np.arange(cfg.n_consumers)
    res = m.contact(everyone, channel=SMS)
    reach = m.pop.reachable[:, SMS]
    assert (~reach).sum() > 0
    np.testing.assert_array_equal(res.status[~reach], UNREACHABLE)
    np.testing.assert_array_equal(res.status[reach], DELIVERED)
    assert np.all(m.state.fatigue[~reach] == 0)
    assert np.all(m.obs.contacts_received[~reach] == 0)
    assert np.all(m.obs.contacts_received[reach] == 1)


def test_holdout_rows_are_never_delivered_and_touch_nothing(make_cfg, get_state_arrays) -> None:
    cfg = make_cfg(n=4000, days=5)
    m = market_at(cfg, 17, 1.6)
    before = copy.deepcopy(get_state_arrays(m.state))
    everyone = np.arange(cfg.n_consumers)
    hold = (everyone % 3) == 0
    res = m.contact(
        everyone,
        channel=PHONE,
        category=0,
        discount=0.2,
        depth=1.0,
        data_kinds=ALL_KINDS,
        holdout=hold,
    )
    assert (res.status[hold] == HOLDOUT).all()
    assert (res.status[~hold] != HOLDOUT).all()
    assert not res.backlash[hold].any() and (res.persuasion[hold] == 0).all()
    after = get_state_arrays(m.state)
    for name, arr in before.items():
        np.testing.assert_array_equal(after[name][hold], arr[hold], err_msg=name)
    assert np.all(m.obs.contacts_received[hold] == 0)
    c = m.ledger.contacts.frame()
    assert ((c["status"] == HOLDOUT) == hold).all()


def test_contact_rejects_bad_batches(make_cfg) -> None:
    m = market_at(make_cfg(n=100, days=3), 0, 0.5)
    with pytest.raises(ValueError, match="twice"):
        m.contact(np.array([1, 1]), channel=EMAIL)
    with pytest.raises(ValueError, match="consumer ids"):
        m.contact(np.array([100]), channel=EMAIL)
    with pytest.raises(ValueError, match="channel"):
        m.contact(np.array([1]), channel=len(CHANNELS))
    with pytest.raises(ValueError, match="discount"):
        m.contact(np.array([1]), channel=EMAIL, discount=1.0)
    with pytest.raises(ValueError, match="category"):
        m.contact(np.array([1]), channel=EMAIL, category=m.pop.n_categories)


# --------------------------------------------------------------------------- persuasion


def _persuasion(
    m: Market,
    st_: Any,
    idx: np.ndarray,
    *,
    category: np.ndarray | int = -1,
    discount: float = 0.0,
    depth: float = 0.0,
    channel: int = EMAIL,
) -> np.ndarray:
    n = idx.size
    return persuasion(
        m.cfg,
        m.pop,
        st_,
        m.channels,
        idx,
        np.full(n, channel, np.int8),
        np.broadcast_to(np.asarray(category, np.int16), (n,)).copy(),
        np.full(n, discount, f32),
        np.full(n, depth, f32),
        np.zeros(n, f32),
        0.4,
    )


def test_persuasion_rises_with_relevance_discount_awareness_and_depth(make_cfg) -> None:
    cfg = make_cfg(n=3000, days=5)
    m = Market(cfg, 18)
    st_ = copy.deepcopy(m.state)
    st_.awareness[:] = 0.5  # equal awareness, so only relevance differs across categories
    st_.last_bought[:] = NEVER  # ... and no recent purchase (no inter-purchase dip)
    st_.dip_until[:] = NEVER
    idx = np.arange(cfg.n_consumers)
    fav = m.pop.share.argmax(axis=1)
    least = m.pop.share.argmin(axis=1)
    a_fav = _persuasion(m, st_, idx, category=fav)
    a_least = _persuasion(m, st_, idx, category=least)
    assert (a_fav > a_least).all()
    ratio = m.pop.share[idx, fav] / m.pop.share[idx, least]
    np.testing.assert_allclose(a_fav / a_least, ratio, rtol=1e-4)  # R_ic = C·s_ic
    generic = _persuasion(m, st_, idx)
    assert (a_fav >= generic).all()  # favourite share >= 1/C, generic relevance is 1

    a0 = _persuasion(m, st_, idx, category=fav)
    a3 = _persuasion(m, st_, idx, category=fav, discount=0.3)
    np.testing.assert_allclose(a3 / a0, 1 + 0.3 * m.pop.discount_sensitivity, rtol=1e-5)
    assert (a3 >= a0).all() and (a3 > a0).mean() > 0.99

    deep = _persuasion(m, st_, idx, category=fav, depth=1.0)
    np.testing.assert_allclose(deep / a0, 1 + cfg.response.depth_gain, rtol=1e-5)

    low, high = copy.deepcopy(st_), copy.deepcopy(st_)
    low.awareness[:] = 0.1
    high.awareness[:] = 0.9
    a_low = _persuasion(m, low, idx, category=fav)
    a_high = _persuasion(m, high, idx, category=fav)
    w0 = cfg.response.awareness_floor
    np.testing.assert_allclose(
        a_high / a_low, (w0 + (1 - w0) * 0.9) / (w0 + (1 - w0) * 0.1), rtol=1e-5
    )
    # Generic messages use demand-weighted awareness, which also rises.
    assert (_persuasion(m, high, idx) > _persuasion(m, low, idx)).all()


def test_relevant_offers_induce_more_purchases_in_the_market(make_cfg) -> None:
    """Same seed, email to everyone reachable at t=1.4: the favourite category induces more
    purchases over the window than the least favourite one (expected ratio ~20, asserted 3)."""
    cfg = make_cfg(n=10000, days=12)
    induced = {}
    for name in ("fav", "least"):
        m = market_at(cfg, 19, 1.4)
        who = np.flatnonzero(m.pop.reachable[:, EMAIL])
        share = m.pop.share[who]
        cat = share.argmax(axis=1) if name == "fav" else share.argmin(axis=1)
        m.contact(who, channel=EMAIL, category=cat.astype(np.int16))
        m.run()
        p = m.ledger.purchases.frame()
        induced[name] = int(p["induced"].sum())
    assert induced["fav"] > 50
    assert induced["fav"] > 3 * induced["least"]


# --------------------------------------------------------------------------- word of mouth


def _wom_setup(make_cfg) -> tuple[Market, list[slice]]:
    m = Market(make_cfg(n=6000, days=5), 20)
    m.state.attitude[:] = -0.1  # non-trivial starting point for mean reversion
    return m, m.pop.tribe_slices()


def test_tribe_purchases_raise_tribe_mates_awareness(make_cfg) -> None:
    m, slices = _wom_setup(make_cfg)
    cfg, pop = m.cfg, m.pop
    t_hot, cat = int(np.argmax(pop.tribe_sizes)), 3
    hot = np.arange(slices[t_hot].start, slices[t_hot].stop)
    buyers = hot[: hot.size // 10]  # 10 % of the tribe buys in category 3
    live = tribe_signal(pop, buyers, np.full(buyers.size, cat, np.int16), np.zeros(pop.n_tribes))
    frozen = TribeSignal(np.zeros_like(live.purchases), np.zeros(pop.n_tribes))
    assert live.purchases[t_hot, cat] == pytest.approx(buyers.size / hot.size)
    s_live, s_frozen = copy.deepcopy(m.state), copy.deepcopy(m.state)
    spread(cfg, pop, s_live, live, 1.0, slices)
    spread(cfg, pop, s_frozen, frozen, 1.0, slices)
    diff = s_live.awareness - s_frozen.awareness
    assert (diff[hot, cat] > 0).all()
    mask = np.zeros(diff.shape, bool)
    mask[hot, cat] = True
    assert np.all(diff[~mask] == 0)  # other tribes and categories as in the frozen world
    # Closed form: aw' = aw(1 - g - δ) + g + δ·floor with g = β q, δ = decay·Δt.
    aw0, a = m.state.awareness[hot, cat].astype(np.float64), cfg.awareness
    g = a.wom_gain * buyers.size / hot.size
    expect = aw0 * (1 - g - a.decay) + g + a.decay * a.floor
    np.testing.assert_allclose(s_live.awareness[hot, cat], expect, rtol=1e-5)
    assert (s_live.awareness >= 0).all() and (s_live.awareness <= 1).all()


def test_backlash_distrust_lowers_attitude_only_in_that_tribe(make_cfg) -> None:
    m, slices = _wom_setup(make_cfg)
    cfg, pop = m.cfg, m.pop
    t_bad = int(np.argsort(pop.tribe_sizes)[-2])
    counts = np.zeros(pop.n_tribes)
    counts[t_bad] = 25
    none = tribe_signal(pop, np.empty(0, np.int64), np.empty(0, np.int16), np.zeros(pop.n_tribes))
    bad = tribe_signal(pop, np.empty(0, np.int64), np.empty(0, np.int16), counts)
    s_bad, s_none = copy.deepcopy(m.state), copy.deepcopy(m.state)
    spread(cfg, pop, s_bad, bad, 1.0, slices)
    spread(cfg, pop, s_none, none, 1.0, slices)
    in_tribe = pop.tribe == t_bad
    drop = s_none.attitude - s_bad.attitude
    np.testing.assert_allclose(
        drop[in_tribe], cfg.awareness.distrust_gain * 25 / pop.tribe_sizes[t_bad], rtol=1e-5
    )
    assert np.all(drop[~in_tribe] == 0)
    # Mean reversion of attitude with half-life h_A.
    decay = 2 ** (-1.0 / cfg.response.attitude_half_life_days)
    np.testing.assert_allclose(s_none.attitude, -0.1 * decay, rtol=1e-6)
    np.testing.assert_array_equal(s_bad.awareness, s_none.awareness)


def test_backlash_in_the_market_spreads_distrust_in_the_tribe(make_cfg) -> None:
    """Market level: a deep contact to one tribe only (at t=2.5) leaves the other tribes'
    attitudes exactly neutral, while uncontacted members of the targeted tribe lose attitude
    after the day closes."""
    cfg = make_cfg(n=6000, days=5)
    m = market_at(cfg, 21, 2.5)
    t_bad = int(np.argmax(m.pop.tribe_sizes))
    sl = m.pop.tribe_slices()[t_bad]
    members = np.arange(sl.start, sl.stop)
    targets = members[m.pop.reachable[members, PHONE]]
    res = m.contact(targets, channel=PHONE, category=0, depth=1.0, data_kinds=ALL_KINDS)
    assert res.backlash.sum() > 10
    m.env.run(until=3.5)  # step 2 closes at t=3 and spreads the signal
    bystanders = np.setdiff1d(members, targets)
    assert (m.state.attitude[bystanders] < 0).all()
    assert np.all(m.state.attitude[m.pop.tribe != t_bad] == 0)


def test_awareness_stays_in_unit_interval_under_stress(make_cfg) -> None:
    """Huge word of mouth, awareness gains of 1 and daily mass contacts on every channel."""
    channels = {ch: ChannelConfig(reach=1.0, awareness_gain=1.0) for ch in CHANNELS}
    cfg = make_cfg(
        n=3000,
        days=25,
        channels=channels,
        awareness=AwarenessConfig(wom_gain=1e4, decay=0.01, floor=0.0),
    )
    m = Market(cfg, 22)
    for ch in ("email", "sms"):
        sc = build_strategy_config(
            {
                "name": "mass",
                "channel": ch,
                "every_days": 1.0,
                "end_day": 25,
                "category": "shoes" if ch == "sms" else "",
            }
        )
        make_strategy(sc, 22).start(m)
    seen: list[tuple[float, float]] = []

    def watch() -> Any:
        while True:
            yield m.day_closed
            seen.append((float(m.state.awareness.min()), float(m.state.awareness.max())))

    m.env.process(watch())
    m.run()
    assert len(seen) == cfg.n_steps
    lo = min(s[0] for s in seen)
    hi = max(s[1] for s in seen)
    assert lo >= 0.0 and hi <= 1.0
    assert hi >= 0.98  # the stress test really pushed awareness to the top (cap 1 - decay)


# --------------------------------------------------------------------------- organic demand


def interval_hazard(m: Market) -> np.ndarray:
    """Each consumer's cumulative purchase hazard over the open interval without contacts,
    computed here from the interval's plan: the organic rate ``r_i·M·D_i·e^{κA}`` (the dip
    at the midpoint) over Δ, ``r_cart`` over the time a cart is open, the abandoners'
    return ``r_ret·w·e^{-(t - t_w)/m}`` and ``r_ret·e^{-(t - A)/m}`` from each cart
    abandoned at A inside the interval."""
    iv, cfg, st, pop = m.interval, m.cfg, m.state, m.pop
    b = cfg.behaviour
    t0, t1, mem = iv.t0, iv.t1, b.abandoner_memory_days
    demand = consumer_demand(cfg, pop, st, slice(None), 0.5 * (t0 + t1)).astype(np.float64)
    lc = np.asarray(cfg.lifecycle.rate_multiplier)[st.lifecycle]
    rate = pop.base_rate * lc * demand * np.exp(cfg.response.attitude_effect * st.attitude)
    np.testing.assert_allclose(iv.rate_at_open(), rate, rtol=1e-5)
    h = rate * (t1 - t0)
    back = st.return_weight * (
        np.exp((st.last_abandon - t0) / mem) - np.exp((st.last_abandon - t1) / mem)
    )
    h += b.abandoner_return_rate * mem * back
    cp = iv.carts
    h[cp.who] += b.cart_purchase_rate * ((cp.e0 - cp.s0) + (cp.e1 - cp.s1))
    for a in (cp.a1, cp.a2):
        on = a < t1
        h[cp.who[on]] += b.abandoner_return_rate * mem * -np.expm1(-(t1 - a[on]) / mem)
    return h


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_day_purchases_match_the_interval_hazard(seed: int) -> None:
    """Day 0, no campaign, n = 100000: buyers in [0, 1) vs Σ_i (1 - e^{-H_i}) with H_i the
    day's cumulative hazard (:func:`interval_hazard`, carts filled that day included);
    tolerance 4 binomial sd (seeds 0-2)."""
    cfg = MarketConfig(n_consumers=100_000, horizon_days=1.0)
    m = Market(cfg, seed)
    p = -np.expm1(-interval_hazard(m))
    expected, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    assert expected > 50
    m.run()
    t = m.ledger.purchases.column("time")
    observed = int(((t >= 0) & (t < 1)).sum())
    assert abs(observed - expected) < 4 * sd


@pytest.mark.parametrize("step_days", [1.0, 0.25])
def test_organic_purchases_follow_the_hazard_step_by_step(make_cfg, step_days: float) -> None:
    """Ten days, no campaign: at each step the expected number of buyers is computed from
    the interval's plan (:func:`interval_hazard`); the total is within 4 sd (seed 23), for
    daily and quarter-day steps."""
    cfg = make_cfg(n=20000, days=10, step_days=step_days)
    m = Market(cfg, 23)
    expected = var = 0.0
    for k in range(cfg.n_steps):
        m.env.run(until=(k + 0.5) * step_days)  # interval k is open, none of it settled
        p = -np.expm1(-interval_hazard(m))
        expected += p.sum()
        var += (p * (1 - p)).sum()
    m.run()
    observed = len(m.ledger.purchases)
    assert expected > 200
    assert abs(observed - expected) < 4 * np.sqrt(var)
    # One purchase per consumer per step at most, each stamped inside its step.
    pf = m.ledger.purchases.frame()
    step = np.floor(pf["time"].to_numpy() / step_days).astype(int)
    assert not pf.assign(step=step).duplicated(["consumer", "step"]).any()


# --------------------------------------------------------------------------- observation

LATENT = (
    "utility",
    "share",
    "threshold",
    "creep",
    "base_rate",
    "awareness",
    "attitude",
    "fatigue",
    "persuasion",
    "induced",
    "sensitivity",
    "lifecycle",
    "active_hour",
    "boost",
)
OBSERVED_PREFIXES = (
    "frequency",
    "monetary",
    "recency_days",
    "tenure_days",
    "contacts_received",
    "days_since_contact",
    "reach_",
    "browse_",
    "bought_",
    "session_hour",
    "days_since_browse",
    "days_since_abandon",
    "likes_",
    "declared_tribe",
    "store_visits",
    "days_since_ping",
    "open_rate_",
)


def test_features_expose_no_latent_columns_and_respect_consent(make_cfg, run_market) -> None:
    cfg = make_cfg(n=5000, days=15)
    m = run_market(cfg, 24)
    f = m.features()
    assert len(f) == cfg.n_consumers
    for col in f.columns:
        assert col.startswith(OBSERVED_PREFIXES), col
        assert not any(word in col for word in LATENT), col
    assert "tribe" not in f.columns
    cats = cfg.categories
    implicit = [f"browse_{c}" for c in cats] + [f"bought_{c}" for c in cats]
    implicit += ["session_hour", "days_since_browse", "days_since_abandon"]
    implicit += [c for c in f.columns if c.startswith("open_rate_")]
    explicit = [f"likes_{c}" for c in cats]
    ambient = ["store_visits", "days_since_ping"]
    consent = m.pop.consent
    for cols, j in ((implicit, 0), (explicit, 1), (ambient, 2)):
        block = f[cols].to_numpy()
        assert np.isnan(block[~consent[:, j]]).all(), DATA_KINDS[j]
    # Counts are always known for consenting consumers (zero if nothing happened).
    counts = [f"browse_{c}" for c in cats] + [f"bought_{c}" for c in cats] + explicit
    ok = (
        consent[:, 0][:, None] & np.isin(counts, implicit)[None, :]
        | consent[:, 1][:, None] & np.isin(counts, explicit)[None, :]
    )
    assert not np.isnan(f[counts].to_numpy()[ok]).any()
    assert not np.isnan(f["store_visits"].to_numpy()[consent[:, 2]]).any()
    tribe = f["declared_tribe"].to_numpy()
    assert (tribe[~consent[:, 1]] == -1).all()
    shown = consent[:, 1] & m.pop.declared_tribe
    np.testing.assert_array_equal(tribe[shown], m.pop.tribe[shown])
    assert (tribe[consent[:, 1] & ~m.pop.declared_tribe] == -1).all()
    assert shown.sum() > 100
    # Transactional basics are visible for everyone.
    assert not f["frequency"].isna().any()
    # Asking for implicit data only hides every explicit and ambient column.
    g = m.features(kinds=("implicit",))
    assert g[explicit + ambient].isna().all().all()
    assert (g["declared_tribe"] == -1).all()
    np.testing.assert_array_equal(g[implicit].to_numpy(), f[implicit].to_numpy())
    with pytest.raises(ValueError, match="unknown data kind"):
        m.features(kinds=("latent",))


def test_event_feeds_contain_only_consenting_consumers(make_cfg) -> None:
    cfg = make_cfg(n=8000, days=15)
    m = Market(cfg, 25)
    consent = m.pop.consent
    totals = {"abandoned": 0, "browsed": 0, "pinged": 0, "context_no_implicit": 0}

    def watch() -> Any:
        while True:
            yield m.day_closed
            o = m.obs
            assert consent[o.abandoned.consumer, 0].all()
            assert consent[o.browsed.consumer, 0].all()
            assert consent[o.pinged.consumer, 2].all()
            assert np.isin(o.browsed.consumer, o.context.consumer).all()
            totals["abandoned"] += len(o.abandoned)
            totals["browsed"] += len(o.browsed)
            totals["pinged"] += len(o.pinged)
            totals["context_no_implicit"] += int((~consent[o.context.consumer, 0]).sum())

    m.env.process(watch())
    m.run()
    assert all(v > 0 for v in totals.values()), totals
