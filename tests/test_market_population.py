"""Population synthesis (sim.population): tribes, preferences, consent and other traits
compared with the config values that generate them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from scipy.stats import spearmanr

from sim.config import (
    CHANNELS,
    DATA_KINDS,
    LIFECYCLE,
    CreepinessConfig,
    MarketConfig,
    PurchaseConfig,
    TribeConfig,
)
from sim.population import Population, Stage, synthesize
from sim.streams import Streams


def population(n: int = 20000, seed: int = 0, n_categories: int = 8, **fields) -> Population:
    cfg = MarketConfig(
        n_consumers=n,
        categories=[f"c{j}" for j in range(n_categories)],
        purchase=PurchaseConfig(replenishment_days=[60.0]),
        **fields,
    )
    return synthesize(cfg, Streams(seed))


def tribe_variance_share(pop: Population) -> float:
    """Between-tribe variance of utility over total variance (pooled over categories)."""
    u = pop.utility.astype(np.float64)
    grand = u.mean(axis=0)
    means = np.stack([u[sl].mean(axis=0) for sl in pop.tribe_slices()])
    between = (pop.tribe_sizes[:, None] * (means - grand) ** 2).sum() / u.size
    total = ((u - grand) ** 2).mean()
    return float(between / total)


def test_tribes_are_contiguous_and_sizes_sum_to_n() -> None:
    pop = population(n=9999, seed=3)
    assert pop.tribe_sizes.sum() == pop.n == 9999
    assert len(pop.tribe_sizes) == TribeConfig().n
    np.testing.assert_array_equal(pop.tribe_sizes, np.bincount(pop.tribe, minlength=pop.n_tribes))
    assert np.all(np.diff(pop.tribe) >= 0)  # stored tribe by tribe
    for t, sl in enumerate(pop.tribe_slices()):
        assert np.all(pop.tribe[sl] == t)
        assert sl.stop - sl.start == pop.tribe_sizes[t]


def test_variance_share_one_gives_identical_tastes_inside_a_tribe() -> None:
    pop = population(n=5000, seed=1, tribes=TribeConfig(n=10, variance_share=1.0))
    for sl in pop.tribe_slices():
        block = pop.utility[sl]
        if block.shape[0]:
            np.testing.assert_array_equal(block, np.broadcast_to(block[0], block.shape))
    # ... but tribes differ from each other.
    firsts = np.stack([pop.utility[sl][0] for sl in pop.tribe_slices() if sl.stop > sl.start])
    assert np.unique(firsts, axis=0).shape[0] == firsts.shape[0]


def test_variance_share_zero_gives_no_tribe_effect() -> None:
    """With ρ = 0, u = ε ~ N(0, 1): tribe means are sample means of iid unit normals, so
    |mean|·sqrt(size) is a |N(0, 1)|; over 12 x 8 cells none exceeds 5 (p ≈ 6e-5)."""
    pop = population(n=20000, seed=2, tribes=TribeConfig(n=12, variance_share=0.0))
    u = pop.utility.astype(np.float64)
    assert abs(u.std() - 1.0) < 0.02
    for t, sl in enumerate(pop.tribe_slices()):
        if pop.tribe_sizes[t] < 2:
            continue
        z = u[sl].mean(axis=0) * np.sqrt(pop.tribe_sizes[t])
        assert np.abs(z).max() < 5.0, (t, z)
    assert tribe_variance_share(pop) < 0.01


@pytest.mark.parametrize("rho", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tribe_explains_the_configured_variance_share(rho: float, seed: int) -> None:
    """Between-tribe / total utility variance within 0.05 of ρ.  With 100 tribes x 16
    categories the sampling sd of the ratio is about ρ(1-ρ)·sqrt(2/1600) ≈ 0.01, so 0.05
    is a ~5 sd tolerance (seeds 0-2, n = 20000, near-equal tribe sizes)."""
    pop = population(
        n=20000,
        seed=seed,
        n_categories=16,
        tribes=TribeConfig(n=100, size_concentration=50.0, variance_share=rho),
    )
    assert abs(tribe_variance_share(pop) - rho) < 0.05


def test_category_shares_are_a_softmax_of_utility() -> None:
    cfg = MarketConfig(n_consumers=5000)
    pop = synthesize(cfg, Streams(4))
    assert pop.share.shape == (5000, cfg.n_categories)
    assert (pop.share > 0).all()
    np.testing.assert_allclose(pop.share.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pop.share.argmax(axis=1), pop.utility.argmax(axis=1))
    # Closed form: log-share differences are τ times utility differences.
    tau = cfg.purchase.preference_temperature
    d_log = np.log(pop.share[:, 1]) - np.log(pop.share[:, 0])
    np.testing.assert_allclose(d_log, tau * (pop.utility[:, 1] - pop.utility[:, 0]), atol=1e-3)


def test_consent_rates_match_config_without_tribe_privacy_effect() -> None:
    """With creepiness.tribe_sd = 0 consent is Bernoulli(share): n = 20000, binomial sd
    <= 0.0036, tolerance 0.015 (> 4 sd), seed 5."""
    pop = population(n=20000, seed=5, creepiness=CreepinessConfig(tribe_sd=0.0))
    shares = MarketConfig().consent.share
    for j, kind in enumerate(DATA_KINDS):
        assert abs(pop.consent[:, j].mean() - shares[kind]) < 0.015, kind


@pytest.mark.parametrize("median", [0.6, 2.5])
def test_consent_rates_without_tribe_effect_do_not_depend_on_threshold_median(
    median: float,
) -> None:
    """tribe_sd = 0 means no tribe differs in privacy tolerance, so consent must be
    Bernoulli(share) whatever the threshold median (n = 20000, seed 5, tolerance 0.015 as
    above).  The population standardises the tribe's log threshold by max(tribe_sd, 1e-9),
    which turns float32 rounding of log(median) into a logit shift of order ±10."""
    pop = population(
        n=20000, seed=5, creepiness=CreepinessConfig(tribe_sd=0.0, threshold_median=median)
    )
    shares = MarketConfig().consent.share
    for j, kind in enumerate(DATA_KINDS):
        assert abs(pop.consent[:, j].mean() - shares[kind]) < 0.015, (kind, pop.consent.mean(0))


def test_consent_rates_match_their_tribe_adjusted_expectation() -> None:
    """With tribe privacy effects consent is Bernoulli(expit(logit(share) + 0.5·z_tribe)) with
    z_tribe the tribe's standardised log threshold; the realised rate is within 0.015 of
    the mean of that probability (seed 6, n = 20000) and within 0.1 of the raw share."""
    cfg = MarketConfig(n_consumers=20000)
    pop = synthesize(cfg, Streams(6))
    cr = cfg.creepiness
    z = (pop.tribe_log_threshold.astype(np.float64) - np.log(cr.threshold_median)) / cr.tribe_sd
    for j, kind in enumerate(DATA_KINDS):
        p = expit(logit(cfg.consent.share[kind]) + 0.5 * z[pop.tribe])
        rate = pop.consent[:, j].mean()
        assert abs(rate - p.mean()) < 0.015, kind
        assert abs(rate - cfg.consent.share[kind]) < 0.1, kind


def test_privacy_tolerant_tribes_consent_more() -> None:
    """Tribes with higher thresholds consent more: rank correlation across 40 tribes of the
    tribe log threshold and the tribe's explicit-consent rate > 0.6 (seed 7)."""
    pop = population(
        n=20000,
        seed=7,
        tribes=TribeConfig(n=40, size_concentration=50.0),
        creepiness=CreepinessConfig(tribe_sd=1.0),
    )
    rate = np.array([pop.consent[sl, 1].mean() for sl in pop.tribe_slices()])
    rho = spearmanr(pop.tribe_log_threshold, rate).statistic
    assert rho > 0.6


def test_stage_codes_follow_the_config_order_of_stages() -> None:
    """Per-stage config values are indexed by stage code, so the codes must follow
    ``LIFECYCLE``."""
    assert [s.name.lower() for s in Stage] == list(LIFECYCLE)
    assert [int(s) for s in Stage] == list(range(len(LIFECYCLE)))


def test_declared_tribe_lifecycle_and_reach_rates_match_config() -> None:
    """Bernoulli/categorical rates within 0.015 of their config values (n = 20000, seed 8;
    binomial sd <= 0.0036)."""
    cfg = MarketConfig(n_consumers=20000)
    pop = synthesize(cfg, Streams(8))
    assert abs(pop.declared_tribe.mean() - cfg.tribes.declared_share) < 0.015
    stage = np.bincount(pop.initial_lifecycle, minlength=len(Stage)) / pop.n
    np.testing.assert_allclose(stage, cfg.lifecycle.shares, atol=0.015)
    for j, ch in enumerate(CHANNELS):
        assert abs(pop.reachable[:, j].mean() - cfg.channels[ch].reach) < 0.015, ch
    # Channel preferences lie in (0, 1) with the configured ordering of means.
    assert ((pop.channel_pref > 0) & (pop.channel_pref < 1)).all()
    means = pop.channel_pref.mean(axis=0)
    assert means[CHANNELS.index("email")] > means[CHANNELS.index("phone")]


def test_scalar_traits_match_their_distributions() -> None:
    """Gamma base rate with mean ``base_rate`` (relative tolerance 5 %, ~8 sd at n=20000),
    basket mean ``basket_mean`` (5 %), thresholds log-normal with median
    ``threshold_median`` and log-sd ``individual_sd`` when tribe_sd = 0 (tolerance 0.03),
    active hours in [0, 24), new customers with tenure below ``new_days``."""
    cfg = MarketConfig(
        n_consumers=20000, creepiness=CreepinessConfig(tribe_sd=0.0, threshold_median=2.0)
    )
    pop = synthesize(cfg, Streams(9))
    assert abs(pop.base_rate.mean() / cfg.purchase.base_rate - 1.0) < 0.05
    assert abs(pop.basket_mean.mean() / cfg.purchase.basket_mean - 1.0) < 0.05
    log_thr = np.log(pop.creepiness_threshold.astype(np.float64))
    assert abs(np.median(log_thr) - np.log(2.0)) < 0.03
    assert abs(log_thr.std() - cfg.creepiness.individual_sd) < 0.03
    assert ((pop.active_hour >= 0) & (pop.active_hour < 24)).all()
    new = pop.initial_lifecycle == Stage.NEW
    assert (pop.initial_tenure[new] <= cfg.lifecycle.new_days).all()
    assert (pop.initial_tenure[~new] >= cfg.lifecycle.new_days).all()
    assert ((pop.initial_awareness >= 0) & (pop.initial_awareness <= 1)).all()
    assert abs(pop.initial_awareness.mean() - cfg.awareness.initial_mean) < 0.01


def test_each_trait_has_its_own_stream() -> None:
    """Changing one trait's distribution leaves the others' draws untouched."""
    a = population(n=3000, seed=10)
    b = population(n=3000, seed=10, creepiness=CreepinessConfig(individual_sd=0.9))
    np.testing.assert_array_equal(a.utility, b.utility)
    np.testing.assert_array_equal(a.reachable, b.reachable)
    np.testing.assert_array_equal(a.base_rate, b.base_rate)
    assert not np.array_equal(a.creepiness_threshold, b.creepiness_threshold)
