"""Reproducibility and common random numbers: same config and seed give bit-identical runs,
campaigns that send nothing leave the world untouched, streams are pure functions of keys."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.config import CHANNELS
from sim.ledger import ContactStatus
from sim.market import Market
from sim.strategies.base import NoCampaign, build_strategy_config, make_strategy
from sim.streams import Purpose, Streams

PHONE = CHANNELS.index("phone")


def assert_ledgers_equal(a: Market, b: Market) -> None:
    ta, tb = a.ledger.tables(), b.ledger.tables()
    assert set(ta) == set(tb) == {"contacts", "purchases", "optouts"}
    for name in ta:
        pd.testing.assert_frame_equal(ta[name].frame(), tb[name].frame(), check_exact=True)


def assert_states_equal(a: Market, b: Market, get_state_arrays) -> None:
    sa, sb = get_state_arrays(a.state), get_state_arrays(b.state)
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name, strict=True)


def test_same_seed_is_bit_identical(make_cfg, run_market, deep_blast, get_state_arrays) -> None:
    cfg = make_cfg(n=4000, days=20)
    a = run_market(cfg, 11, deep_blast(days=(1.0, 3.0, 3.5)))
    b = run_market(cfg, 11, deep_blast(days=(1.0, 3.0, 3.5)))
    # The campaign must exercise every table, or the comparison would be vacuous.
    for name, table in a.ledger.tables().items():
        assert len(table) > 0, name
    assert_ledgers_equal(a, b)
    assert_states_equal(a, b, get_state_arrays)
    np.testing.assert_array_equal(a.obs.purchases_by_category, b.obs.purchases_by_category)
    np.testing.assert_array_equal(a.obs.likes_by_category, b.obs.likes_by_category)
    pd.testing.assert_frame_equal(a.features(), b.features())


def test_same_seed_mass_campaign_is_bit_identical(make_cfg, run_market, get_state_arrays) -> None:
    cfg = make_cfg(n=4000, days=20)
    sc = build_strategy_config(
        {
            "name": "mass",
            "channel": "email",
            "end_day": 15,
            "every_days": 4.0,
            "discount": 0.1,
            "category": "shoes",
        }
    )
    a = run_market(cfg, 5, make_strategy(sc, 5))
    b = run_market(cfg, 5, make_strategy(sc, 5))
    assert len(a.ledger.contacts) > 0
    assert_ledgers_equal(a, b)
    assert_states_equal(a, b, get_state_arrays)


def test_different_seeds_differ(make_cfg, run_market) -> None:
    cfg = make_cfg(n=4000, days=20)
    a, b = run_market(cfg, 1), run_market(cfg, 2)
    assert not np.array_equal(a.pop.utility, b.pop.utility)
    pa, pb = a.ledger.purchases.frame(), b.ledger.purchases.frame()
    assert len(pa) > 0 and len(pb) > 0
    assert not pa.equals(pb)
    assert not np.array_equal(a.state.awareness, b.state.awareness)


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param({"name": "mass", "start_day": 5.0, "end_day": 5.0}, id="mass-empty-window"),
        pytest.param({"name": "none"}, id="none"),
    ],
)
def test_campaign_that_sends_nothing_is_the_baseline(
    make_cfg, run_market, get_state_arrays, strategy
) -> None:
    cfg = make_cfg(n=4000, days=20)
    sc = build_strategy_config(strategy)
    with_empty = run_market(cfg, 3, make_strategy(sc, 3))
    without = run_market(cfg, 3, None)
    assert len(with_empty.ledger.contacts) == 0
    assert_ledgers_equal(with_empty, without)
    assert_states_equal(with_empty, without, get_state_arrays)
    assert isinstance(make_strategy(build_strategy_config({"name": "none"}), 0), NoCampaign)


def test_holdout_only_campaign_is_the_baseline(
    make_cfg, run_market, deep_blast, get_state_arrays
) -> None:
    """Contacts recorded as holdout touch nobody: purchases, opt-outs and state are those of
    the world without a campaign; only the contact table holds the ghost rows."""
    cfg = make_cfg(n=4000, days=15)
    ghost = run_market(cfg, 8, deep_blast(days=(1.0, 4.0), holdout_share=1.0))
    base = run_market(cfg, 8, None)
    contacts = ghost.ledger.contacts.frame()
    assert len(contacts) == 2 * cfg.n_consumers
    assert (contacts["status"] == ContactStatus.HOLDOUT).all()
    assert not contacts["backlash"].any()
    for name in ("purchases", "optouts"):
        pd.testing.assert_frame_equal(
            ghost.ledger.tables()[name].frame(),
            base.ledger.tables()[name].frame(),
            check_exact=True,
        )
    assert_states_equal(ghost, base, get_state_arrays)


def test_response_uniform_does_not_depend_on_the_batch(make_cfg) -> None:
    """A consumer's backlash draw is keyed by (step, k) and indexed by consumer id: sending the
    same contact alone, in a small batch or to everyone gives the same backlash outcome."""
    cfg = make_cfg(n=3000, days=5)
    everyone = Market(cfg, 21)
    few = Market(cfg, 21)
    for m in (everyone, few):
        m.env.run(until=2.4)
    subset = np.arange(5, 3000, 7)
    r_all = everyone.contact(
        np.arange(cfg.n_consumers), channel=PHONE, category=0, depth=1.0, data_kinds=7
    )
    r_few = few.contact(subset[::-1], channel=PHONE, category=0, depth=1.0, data_kinds=7)
    assert r_all.backlash.sum() > 0
    order = np.argsort(r_few.consumer)
    np.testing.assert_array_equal(r_few.backlash[order], r_all.backlash[subset])
    np.testing.assert_array_equal(r_few.status[order], r_all.status[subset])
    np.testing.assert_array_equal(r_few.persuasion[order], r_all.persuasion[subset])


def test_streams_are_pure_functions_of_their_key() -> None:
    s = Streams(42)
    a = s.uniform(Purpose.PURCHASE, 1000, 3)
    _ = s.uniform(Purpose.BROWSE, 5000, 3)  # other draws in between change nothing
    _ = s.rng(Purpose.PURCHASE, 4).random(10)
    b = s.uniform(Purpose.PURCHASE, 1000, 3)
    c = Streams(42).uniform(Purpose.PURCHASE, 1000, 3)
    assert a.dtype == np.float32 and a.shape == (1000,)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert ((a >= 0) & (a < 1)).all()
    # Any change of seed, purpose or step gives different numbers.
    assert not np.array_equal(a, Streams(43).uniform(Purpose.PURCHASE, 1000, 3))
    assert not np.array_equal(a, s.uniform(Purpose.BROWSE, 1000, 3))
    assert not np.array_equal(a, s.uniform(Purpose.PURCHASE, 1000, 4))
    assert not np.array_equal(
        s.uniform(Purpose.RESPONSE_BACKLASH, 100, 3, 0),
        s.uniform(Purpose.RESPONSE_BACKLASH, 100, 3, 1),
    )
    assert s.child_seed(Purpose.PILOT, 1) == Streams(42).child_seed(Purpose.PILOT, 1)
    assert s.child_seed(Purpose.PILOT, 1) != s.child_seed(Purpose.PILOT, 2)


def test_uniform_is_numpys_float32_draw() -> None:
    """The fast conversion of raw words gives numpy's own float32 uniforms (odd n too)."""
    s = Streams(5)
    for n in (1, 999, 4096):
        expected = s.rng(Purpose.LAPSE, 7).random(n, dtype=np.float32)
        np.testing.assert_array_equal(s.uniform(Purpose.LAPSE, n, 7), expected)


@pytest.mark.parametrize("n", [1, 999, 20_000])
def test_below_is_the_set_of_uniforms_below_a_threshold(n: int) -> None:
    """``Streams.below`` compares raw words: exactly ``flatnonzero(uniform < x)`` for any
    float32 x, including the grid values themselves and their neighbours, 0, 1 and above."""
    s = Streams(9)
    u = s.uniform(Purpose.LAPSE, n, 3)
    grid = np.unique(u)
    xs = [0.0, 2.0**-24, 0.002, 0.5, 1.0, 1.5, *grid[:20], *grid[-20:], *grid[:: max(1, n // 50)]]
    for x in map(np.float32, xs):
        for t in (x, np.nextafter(x, np.float32(-1)), np.nextafter(x, np.float32(2))):
            np.testing.assert_array_equal(s.below(Purpose.LAPSE, n, t, 3), np.flatnonzero(u < t))


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Streams(-1)


def test_shared_population_is_not_mutated(make_cfg, run_market, deep_blast) -> None:
    """Twin worlds share one Population; running a campaign must leave it as it was."""
    cfg = make_cfg(n=3000, days=10)
    pop = Market(cfg, 4).pop
    before = {f.name: getattr(pop, f.name).copy() for f in dataclasses.fields(pop)}
    run_market(cfg, 4, deep_blast(days=(1.0, 2.0)), population=pop)
    for name, arr in before.items():
        np.testing.assert_array_equal(getattr(pop, name), arr, err_msg=name)
