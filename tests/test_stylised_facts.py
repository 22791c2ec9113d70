"""The stylised facts of the domain (docs/MODEL.md, "Stylised facts") hold in the presets.

Each fact is checked over several seeds at the presets' default sizes; the seeds and
tolerances are stated in each test.  Results are cached per process (tests/facts.py), so
one run serves several tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.facts import run

SEEDS = (1, 2, 3)
P = "incremental_profit"


CLICK_THROUGH_EMAIL = (
    "Finding since the e-mail's Hillstrom calibration moved from lasting awareness (gain "
    "0.998, at its bound) to a click-through and persuasion window (click_rate 0.077, lift "
    "0.0027, awareness gain 0.05 assumed): "
)


@pytest.mark.xfail(
    strict=True,
    reason=CLICK_THROUGH_EMAIL
    + "the weekly mass e-mail's measured response rate is 0.0290 / 0.0280 / 0.0288 (seeds "
    "1-3), just below the fact's 3 %; triggered (10-20 %) and the oracle's top 5 % hold.",
)
@pytest.mark.parametrize("seed", SEEDS)
def test_response_rates_rise_from_mass_to_triggered_to_one_to_one(seed: int) -> None:
    """Fact 1 (seeds 1-3): mass 3-5 %, triggered 10-20 %, the oracle's top 5 % far higher
    (at least 2.5x mass and above triggered)."""
    mass = run("default", "mass", seed)["response_rate"]
    trig = run("default", "triggered", seed)["response_rate"]
    oracle = run("default", "one_to_one", seed, **{"strategy.max_share": 0.05})["response_rate"]
    assert 0.03 <= mass <= 0.05
    assert 0.10 <= trig <= 0.20
    assert oracle >= 2.5 * mass and oracle > trig


def _fact_2_cases() -> list[object]:
    return [
        pytest.param(seed, strategy, factor)
        for seed in SEEDS
        for strategy, factor in (("triggered", 2.0), ("one_to_one_propensity", 1.5))
    ]


@pytest.mark.parametrize(("seed", "strategy", "factor"), _fact_2_cases())
def test_high_response_is_not_high_uplift(seed: int, strategy: str, factor: float) -> None:
    """Fact 2 (seeds 1-3): triggered and propensity targeting respond far above their true
    uplift per contact: measured response at least 2x (triggered) and 1.5x (propensity,
    whose 20 % discounts do persuade) the true incremental conversions per contact."""
    m = run("default", strategy, seed)
    true_uplift = m["incremental_conversions"]["true"] / m["contacts"]
    assert m["response_rate"] > factor * true_uplift, strategy


@pytest.mark.parametrize(
    "seed",
    [
        1,
        2,
        pytest.param(
            3,
            marks=pytest.mark.xfail(
                strict=True,
                reason=CLICK_THROUGH_EMAIL
                + "seed 3: the best segmented strategy earns 160 against the oracle's 2,099 "
                "(true incremental profit); the fact holds at seeds 1 and 2.",
            ),
        ),
    ],
)
def test_tribal_fmcg_segments_beat_one_to_one(seed: int) -> None:
    """Fact 3a (seeds 1-3): with tribe-dominated tastes, privacy-sensitive consumers and a
    low margin, the best segmented strategy (here RFM cells with an unpersonalised message)
    beats one-to-one even with the oracle, which finds almost nothing worth its data and
    content costs."""
    segmented = [
        run("fmcg_tribal", "segmented", seed, **ov)[P]["true"]
        for ov in (
            {"strategy.basis": "tribe"},
            {},
            {"strategy.k": 8},
            {"strategy.basis": "rfm", "strategy.k": 8, "strategy.depth": 0.0},
        )
    ]
    oracle = run("fmcg_tribal", "one_to_one", seed)[P]["true"]
    assert max(segmented) > oracle


@pytest.mark.parametrize("preset", ["specialty_retail", "b2b_high_value"])
@pytest.mark.parametrize("seed", SEEDS)
def test_one_to_one_wins_with_individual_tastes_and_high_value(preset: str, seed: int) -> None:
    """Fact 3b (seeds 1-3): with individual tastes and high value per sale, one-to-one with
    the oracle earns more true incremental profit than every other stand-alone strategy
    (the hybrid, whose follow-up *is* oracle one-to-one, is not a competitor here)."""
    oracle = run(preset, "one_to_one", seed)[P]["true"]
    others = {
        s: run(preset, s, seed)[P]["true"]
        for s in ("mass", "segmented", "triggered", "contextual", "one_to_one_propensity")
    }
    others["segmented_k8"] = run(preset, "segmented", seed, **{"strategy.k": 8})[P]["true"]
    assert all(oracle > v for v in others.values()), others


@pytest.mark.xfail(
    strict=True,
    reason="Finding (since the calibrated e-mail): display mass does not raise the one-to-one "
    "follow-up's true return: hybrid minus mass 86.6k / 88.9k / 81.1k vs the follow-up alone "
    "90.5k / 94.2k / 85.7k (seeds 1-3; with the former awareness-gain e-mail 73.4k / 72.8k / "
    "69.8k vs 79.4k / 76.7k / 74.3k).  Ablation (python -m experiments.studies.interaction, "
    "interaction = hybrid - mass - follow-up, seeds 1-3): -4.6k +- 0.4k as modelled, +5.3k +- "
    "0.8k without contact fatigue, +1.1k +- 0.2k without word of mouth: fatigue from the display "
    "contacts (and saturating spillover) make the two parts substitutes.",
)
@pytest.mark.parametrize("seed", SEEDS)
def test_mass_raises_the_return_of_the_follow_up(seed: int) -> None:
    """Fact 5 (seeds 1-3): the follow-up's true return with mass (hybrid minus mass alone)
    exceeds its return without mass (the hybrid with ``mass_enabled=false``)."""
    hybrid = run("default", "hybrid", seed)[P]["true"]
    mass_only = run("default", "mass", seed, **{"strategy.channel": "display"})[P]["true"]
    follow_up_alone = run("default", "hybrid", seed, **{"strategy.mass_enabled": False})[P]["true"]
    assert hybrid - mass_only > follow_up_alone


def test_backlash_concentrates_in_privacy_sensitive_tribes() -> None:
    """Fact 6 (seed 1): per delivered contact, backlash is at least twice as frequent in the
    tribes with below-median creepiness thresholds, and it spreads: tribe-mates' attitude
    ends lower than in the no-campaign world in the tribes with most backlash."""
    from sim.experiment import build_run_config
    from sim.population import synthesize
    from sim.strategies import make_strategy
    from sim.streams import Streams
    from sim.truth import run_world
    from tests.facts import compose_run

    cfg = build_run_config(compose_run("default", "one_to_one_propensity", 1))
    pop = synthesize(cfg.market, Streams(1))
    world = run_world(cfg.market, 1, make_strategy(cfg.strategy, 1, cfg.economics), pop)
    base = run_world(cfg.market, 1, None, pop)
    c = world.ledger.contacts.frame()
    delivered = c[c.status == 0]
    tribe = pop.tribe[delivered.consumer.to_numpy()]
    sensitive = (pop.tribe_log_threshold < np.median(pop.tribe_log_threshold))[tribe]
    back = delivered.backlash.to_numpy()
    assert back[sensitive].mean() > 2 * back[~sensitive].mean()
    per_tribe = np.bincount(tribe[back], minlength=pop.n_tribes) / pop.tribe_sizes
    worst = int(np.argmax(per_tribe))
    never = np.ones(pop.n, bool)
    never[delivered.consumer.to_numpy()] = False
    mates = never & (pop.tribe == worst)
    drop = world.state.attitude[mates].mean() - base.state.attitude[mates].mean()
    assert drop < 0
