"""The naive one-process-per-consumer market (experiments.bench.naive) implements the
engine's model.

It is the baseline of ``python -m experiments.bench.engine``, so it must simulate the same
market as the vectorised engine (equal in distribution, not bit for bit).

Statistical tolerance: both worlds share one population (same seed), so we compare the
total purchases per consumer-day through the *paired* per-consumer differences
``d_i = purchases_naive_i - purchases_engine_i``: ``z = Σd / sqrt(N·var(d))``.  Under
the null (same model) z is approximately standard normal (12 seeds of 5,000 consumers
x 30 days gave mean z -0.2 / -0.04 and sd 1.2 without / with the campaign; word of mouth
correlates tribe-mates a little); we require |z| < 4, i.e. a relative tolerance of about
10 % of the rate at the sizes used here.  Seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.bench.naive import NaiveMarket, NaiveMass, draw_category
from sim.config import CHANNELS, MarketConfig
from sim.market import Market
from sim.strategies import build_strategy_config, make_strategy

N_CONSUMERS = 4000
DAYS = 30
SEED = 3
Z_TOLERANCE = 4.0


def _mass_cfg(days: float, **kw: object) -> object:
    return build_strategy_config({"name": "mass", "end_day": days, **kw})


def _paired_z(engine: Market, naive: NaiveMarket) -> tuple[float, float, float]:
    n = engine.pop.n
    pv = np.bincount(engine.ledger.purchases.column("consumer"), minlength=n)
    pn = np.bincount(np.array([p.consumer for p in naive.purchases], np.int64), minlength=n)
    d = (pn - pv).astype(np.float64)
    z = d.sum() / np.sqrt(n * d.var(ddof=1))
    days = engine.cfg.n_steps * engine.cfg.step_days
    return float(z), pv.sum() / (n * days), pn.sum() / (n * days)


def test_organic_purchase_rate_agrees_with_engine() -> None:
    cfg = MarketConfig(n_consumers=N_CONSUMERS, horizon_days=DAYS)
    engine = Market(cfg, SEED).run()
    naive = NaiveMarket(cfg, SEED, population=engine.pop).run()
    z, rate_engine, rate_naive = _paired_z(engine, naive)
    assert rate_engine > 0 and rate_naive > 0
    assert abs(z) < Z_TOLERANCE, (
        f"organic purchase rate: engine {rate_engine:.5f}, naive {rate_naive:.5f} "
        f"per consumer-day (z = {z:.2f})"
    )
    # no campaign: nothing is induced
    assert not any(p.induced for p in naive.purchases)


def test_purchase_rate_with_mass_campaign_agrees_with_engine() -> None:
    cfg = MarketConfig(n_consumers=N_CONSUMERS, horizon_days=DAYS)
    engine = Market(cfg, SEED)
    make_strategy(_mass_cfg(DAYS), SEED).start(engine)
    engine.run()
    naive = NaiveMarket(cfg, SEED, population=engine.pop)
    NaiveMass(_mass_cfg(DAYS), SEED).start(naive)
    naive.run()
    z, rate_engine, rate_naive = _paired_z(engine, naive)
    assert abs(z) < Z_TOLERANCE, (
        f"purchase rate with a weekly mass e-mail: engine {rate_engine:.5f}, "
        f"naive {rate_naive:.5f} per consumer-day (z = {z:.2f})"
    )
    assert any(p.induced for p in naive.purchases)


@pytest.mark.parametrize("threshold_median", [1.0, 0.02])
def test_mass_wave_delivers_to_every_reachable_non_holdout_consumer(
    threshold_median: float,
) -> None:
    # threshold 0.02: generic e-mails are creepy, so backlash opts consumers out between waves.
    cfg = MarketConfig(n_consumers=3000, horizon_days=22)
    cfg.creepiness.threshold_median = threshold_median
    naive = NaiveMarket(cfg, seed=5)
    mass = NaiveMass(_mass_cfg(22.0), seed=5)
    mass.start(naive)
    ch = CHANNELS.index("email")
    n = cfg.n_consumers
    for w, day in enumerate((0.0, 7.0, 14.0, 21.0)):
        send = day + mass.cfg.send_hour / 24.0
        naive.env.run(until=send - 1e-6)
        expected = sum(
            c.reachable[ch] and not c.opted_out[ch] and not mass.holdout[c.i]
            for c in naive.consumers
        )
        naive.env.run(until=send + 1e-6)
        log = mass.waves[w]
        assert log.time == pytest.approx(send)
        assert log.delivered == expected
        assert log.delivered + log.holdout + log.opted_out + log.unreachable + log.capped == n
        assert log.unreachable == n - sum(c.reachable[ch] for c in naive.consumers)
    if threshold_median < 0.1:
        assert naive.n_optouts > 0 and mass.waves[-1].opted_out > 0
    holdout_share = np.mean(mass.holdout)
    assert abs(holdout_share - mass.cfg.holdout_share) < 4 * np.sqrt(0.1 * 0.9 / n)


def test_naive_is_reproducible_and_uses_no_global_state() -> None:
    cfg = MarketConfig(n_consumers=300, horizon_days=10)
    a = NaiveMarket(cfg, seed=11)
    NaiveMass(_mass_cfg(10.0), seed=11).start(a)
    np.random.seed(0)  # noqa: NPY002  (global state must not matter)
    a.run()
    b = NaiveMarket(cfg, seed=11)
    NaiveMass(_mass_cfg(10.0), seed=11).start(b)
    np.random.seed(12345)  # noqa: NPY002
    b.run()
    assert [(p.consumer, p.time, p.category) for p in a.purchases] == [
        (p.consumer, p.time, p.category) for p in b.purchases
    ]


def test_draw_category_follows_weights() -> None:
    w = [1.0, 0.0, 3.0]
    assert draw_category(w, 0.0) == 0
    assert draw_category(w, 0.2) == 0
    assert draw_category(w, 0.26) == 2
    assert draw_category(w, 0.999999) == 2
