"""The named steps of the contact transition (:mod:`sim.contact`), one at a time, on a
small market's state."""

from __future__ import annotations

import dataclasses
from itertools import product

import numpy as np
import pytest

from sim.config import CHANNELS, CreepinessConfig
from sim.contact import (
    Batch,
    Response,
    ResponseDraws,
    add_fatigue,
    apply_backlash,
    count_in_step,
    eligibility,
    make_offer,
    open_boost_window,
    raise_awareness,
)
from sim.ledger import ContactStatus
from sim.market import Market
from sim.response import OrganicHazard, browsing_demand, organic_hazard, session_lag
from sim.streams import Purpose

EMAIL = CHANNELS.index("email")
f32 = np.float32


@pytest.fixture
def market(make_cfg) -> Market:
    return Market(make_cfg(n=50, days=5, creepiness=CreepinessConfig(optout_prob=1.0)), 3)


def batch(m: Market, consumers: list[int], first_id: int = 100, **settings) -> Batch:
    kw = dict(channel=EMAIL, category=-1, discount=0.0, depth=0.0, data_kinds=0, arm=0)
    kw.update(settings)
    return Batch.of(m.pop, first_id, np.array(consumers), holdout=kw.pop("holdout", False), **kw)


def response(backlash: list[bool], persuasion: list[float], step: int = 2) -> Response:
    hit = np.array(backlash)
    return Response(
        step=step,
        prior=np.zeros(hit.size, np.uint8),
        fatigue=np.zeros(hit.size, f32),
        intrusiveness=np.zeros(hit.size, f32),
        backlash=hit,
        any_backlash=bool(hit.any()),
        persuasion=np.array(persuasion, f32),
    )


def test_status_precedence_is_holdout_then_unreachable_then_opted_out(market: Market) -> None:
    combos = np.array(list(product([False, True], repeat=3)))  # holdout, unreachable, opted out
    held, unreachable, opted = combos.T
    who = np.arange(len(combos))
    reachable = np.ones_like(market.pop.reachable)
    reachable[who, EMAIL] = ~unreachable
    opted_out = np.zeros_like(market.state.opted_out)
    opted_out[who, EMAIL] = opted
    status = eligibility(batch(market, list(who), holdout=held), reachable, opted_out)
    expected = np.select(
        [held, unreachable, opted],
        [ContactStatus.HOLDOUT, ContactStatus.UNREACHABLE, ContactStatus.OPTED_OUT],
        ContactStatus.DELIVERED,
    )
    np.testing.assert_array_equal(status, expected)
    assert status.dtype == np.int8
    everyone_held = eligibility(batch(market, list(who), holdout=True), reachable, opted_out)
    assert (everyone_held == ContactStatus.HOLDOUT).all()


def test_batch_keeps_a_single_value_as_one_and_selects_rows(market: Market) -> None:
    b = batch(market, [4, 7, 9], category=[0, 1, -1], discount=0.1)
    assert b.contact_id.tolist() == [100, 101, 102]
    assert b.discount.ndim == 0 and b.column(b.discount).tolist() == [f32(0.1)] * 3
    sub = b.rows(np.array([True, False, True]))
    assert sub.consumer.tolist() == [4, 9] and sub.contact_id.tolist() == [100, 102]
    assert sub.category.tolist() == [0, -1] and sub.discount.ndim == 0


def test_count_in_step_counts_within_a_step_and_saturates(market: Market) -> None:
    st = market.state
    who = np.array([3, 5])
    assert count_in_step(st, who, 0).tolist() == [0, 0]
    assert count_in_step(st, who, 0).tolist() == [1, 1]
    assert count_in_step(st, np.array([3]), 0).tolist() == [2]
    assert count_in_step(st, who, 1).tolist() == [0, 0]  # a new step starts from zero
    st.step_contacts[3] = 255
    assert count_in_step(st, np.array([3]), 1).tolist() == [255]
    assert st.step_contacts[3] == 255


def test_response_draws_depend_on_consumer_step_and_prior_contacts_only(market: Market) -> None:
    draws = ResponseDraws(market.streams, market.pop.n)
    who, prior = np.array([9, 4, 30]), np.array([1, 0, 1], np.uint8)
    u = draws.draw(Purpose.RESPONSE_BACKLASH, 2, who, prior)
    table = [market.streams.uniform(Purpose.RESPONSE_BACKLASH, market.pop.n, 2, k) for k in (0, 1)]
    np.testing.assert_array_equal(u, [table[1][9], table[0][4], table[1][30]])
    alone = draws.draw(Purpose.RESPONSE_BACKLASH, 2, who[:1], prior[:1])
    assert alone[0] == u[0]


def test_boost_window_keeps_an_open_windows_start_and_larger_hazard(market: Market) -> None:
    st = market.state
    st.boost_start[1], st.boost_end[1], st.boost[1] = 0.5, 6.0, f32(5.0)
    sent = batch(market, [1, 2, 3], category=[0, 1, -1])
    opened = open_boost_window(st, sent, response([False, False, True], [1.0, 2.0, 0.0]), 2.0, 9.0)
    assert opened
    assert st.boost[1] == 5.0 and st.boost_start[1] == 0.5  # the larger hazard, same start
    assert st.boost[2] == 2.0 and st.boost_start[2] == 2.0
    assert st.boost_end[1] == st.boost_end[2] == 9.0
    assert st.boost_category[[1, 2]].tolist() == [0, 1]
    assert st.boost_contact[[1, 2]].tolist() == [100, 101]
    assert st.boost[3] == 0.0 and st.boost_contact[3] == -1  # backlash opens no window
    assert not open_boost_window(st, batch(market, [4]), response([True], [0.0]), 2.0, 9.0)


def test_backlash_opens_a_penalty_hits_attitude_and_opts_out(market: Market) -> None:
    st, cfg = market.state, market.cfg
    st.penalty_start[1], st.penalty_end[1] = 0.5, 6.0
    draws = ResponseDraws(market.streams, market.pop.n)
    sent = batch(market, [1, 2, 3])
    left = apply_backlash(cfg, st, draws, sent, response([True, False, True], [0, 1, 0]), 2.0, 9.0)
    assert left.tolist() == [True, False, True]  # optout_prob = 1
    assert st.penalty_start[[1, 3]].tolist() == [0.5, 2.0]  # an open penalty keeps its start
    assert st.penalty_end[[1, 3]].tolist() == [9.0, 9.0]
    hit = -f32(cfg.creepiness.attitude_hit)
    assert st.attitude[[1, 2, 3]].tolist() == [hit, 0.0, hit]
    assert st.opted_out[[1, 2, 3], EMAIL].tolist() == [True, False, True]
    assert not apply_backlash(cfg, st, draws, sent, response([False] * 3, [1, 1, 1]), 2, 9).any()


def test_an_offer_replaces_the_previous_one_only_with_a_discount(market: Market) -> None:
    st = market.state
    make_offer(st, batch(market, [1, 2], discount=0.3), 1.0, 8.0)
    make_offer(st, batch(market, [1, 2, 3], first_id=200, discount=[0.2, 0.0, 0.1]), 2.0, 9.0)
    assert st.offer_discount[[1, 2, 3]].tolist() == [f32(0.2), f32(0.3), f32(0.1)]
    assert st.offer_contact[[1, 2, 3]].tolist() == [200, 101, 202]
    assert st.offer_end[[1, 2, 3]].tolist() == [9.0, 8.0, 9.0]
    make_offer(st, batch(market, [1], first_id=300), 3.0, 10.0)  # no discount: no change
    assert st.offer_contact[1] == 200


def test_awareness_gain_closes_the_gap_in_the_category_or_a_cth_of_it_in_each(
    market: Market,
) -> None:
    """A category message closes γ of the gap in its category; a generic one γ/C in every
    category (the same float32 operations, so exact)."""
    st = market.state
    before = st.awareness.copy()
    g = market.channels.awareness_gain[EMAIL]
    n_categories = before.shape[1]
    raise_awareness(st, market.channels, batch(market, [1, 2], category=[2, -1]))
    gained = before + g * (f32(1.0) - before)
    assert st.awareness[1, 2] == gained[1, 2]
    np.testing.assert_array_equal(np.delete(st.awareness[1], 2), np.delete(before[1], 2))
    g_generic = g / f32(n_categories)
    np.testing.assert_array_equal(st.awareness[2], before[2] + g_generic * (f32(1.0) - before[2]))
    assert (st.awareness[2] < gained[2]).all()
    np.testing.assert_array_equal(st.awareness[3:], before[3:])


def test_a_generic_message_gains_the_mean_of_the_category_messages(market: Market) -> None:
    """Summed over categories, a generic message's awareness gain is that of one category
    message in a category drawn uniformly (the mean over the C category messages)."""
    st = market.state
    before = st.awareness.copy()
    g = market.channels.awareness_gain[EMAIL]
    n_categories = before.shape[1]
    raise_awareness(st, market.channels, batch(market, [5], category=-1))
    generic = float((st.awareness[5] - before[5]).sum())
    per_category = g * (1.0 - before[5].astype(np.float64))  # one message per category
    np.testing.assert_allclose(generic, per_category.mean(), rtol=1e-5)
    assert n_categories > 1


def test_attitude_falls_only_above_the_annoyance_level(market: Market) -> None:
    st, r = market.state, market.cfg.response
    fatigue = np.array([0.0, r.fatigue_annoyance + 1.0], f32)
    add_fatigue(market.cfg, st, market.channels, batch(market, [1, 2]), fatigue, 4.0)
    new = fatigue + market.channels.intimacy[EMAIL]
    assert st.fatigue[[1, 2]].tolist() == new.tolist()
    assert st.fatigue_time[[1, 2]].tolist() == [4.0, 4.0]
    over = new[1] - f32(r.fatigue_annoyance)
    assert st.attitude[1] == 0.0
    assert st.attitude[2] == -(f32(r.annoyance_attitude_cost) * over)


def test_closed_form_awareness_gain_is_the_markets(make_cfg) -> None:
    """The closed form (:func:`sim.response.expected_uplift`) raises the treated's organic
    hazard by what the market's contact does to it: e-mail without persuasion (lift 0) or
    purchase penalty, 5,000 consumers at day 3.4 (carts, returns and dips live, seed 7),
    half the contacts generic and half about a category; the hazards are read back from the
    conversion probabilities (constant hazard over the window W: h = -log(1 - p)/W), less
    the browsing hazard the sessions' lag holds back (they feel the gain from the next day,
    0.6 days after the contact: :func:`sim.response.session_lag`)."""
    base = make_cfg(n=5000, days=10)
    channels = dict(base.channels)
    channels["email"] = dataclasses.replace(channels["email"], lift=0.0)
    cfg = make_cfg(
        n=5000,
        days=10,
        channels=channels,
        creepiness=CreepinessConfig(threshold_median=1.0, purchase_penalty=0.0),
    )
    m = Market(cfg, 7)
    m.env.run(until=3.4)
    who = np.flatnonzero(m.pop.reachable[:, EMAIL])
    generic = np.arange(who.size) % 2 == 0
    category = np.where(generic, -1, who % m.pop.n_categories).astype(np.int16)
    window = cfg.response.window_days
    eu = m.expected_uplift(who, EMAIL, category, at=m.now)
    closed = (
        np.log1p(-eu["p_control"].astype(np.float64))
        - np.log1p(-eu["p_treated"].astype(np.float64))
    ) / window
    before = organic_hazard(cfg, m.pop, m.state, who, m.now).astype(np.float64)
    browsing_before = browsing_demand(cfg, m.pop, m.state, who, m.now)[0]
    res = m.contact(who, EMAIL, category)
    after = organic_hazard(cfg, m.pop, m.state, who, m.now).astype(np.float64)
    browse = OrganicHazard.of(cfg, m.pop, m.state, who, m.now).browse
    held_back = browse * (browsing_demand(cfg, m.pop, m.state, who, m.now)[0] - browsing_before)
    lag = float(session_lag(cfg, m.now))
    assert lag == pytest.approx(0.6, abs=1e-6)
    after -= held_back.astype(np.float64) * lag / window
    landed = res.delivered & ~res.backlash & (m.state.attitude[who] == 0)
    assert landed.mean() > 0.9
    for part in (generic, ~generic):
        sel = landed & part
        sim_gain = after[sel] - before[sel]
        assert sim_gain.sum() > 0
        assert closed[sel].sum() == pytest.approx(sim_gain.sum(), rel=1e-3)
        assert np.abs(closed[sel] - sim_gain).max() <= 1e-3 * sim_gain.max()
