"""Ground truth by twin-world replay (sim.truth) and its agreement with what a marketer
measures (sim.measure) and with the closed-form expected uplift (Market.expected_uplift):
the total, direct and holdout estimands, pulled-forward purchases, tribe holdouts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import CHANNELS, CreepinessConfig, MarketConfig
from sim.ledger import ContactStatus, Ledger
from sim.market import Market
from sim.measure import diff_in_means, groups, response_flags
from sim.strategies.base import build_strategy_config, make_strategy
from sim.truth import GroundTruth, outcomes, twin_worlds

EMAIL = CHANNELS.index("email")


def mass_truth(
    cfg: MarketConfig, seed: int, window: tuple[float, float] | None = None, **strategy
) -> GroundTruth:
    sc = build_strategy_config({"name": "mass", "channel": "email", **strategy})
    return twin_worlds(cfg, seed, lambda: make_strategy(sc, seed), window=window)


@pytest.fixture(scope="module")
def mass_gt() -> GroundTruth:
    cfg = MarketConfig(n_consumers=10000, horizon_days=25)
    return mass_truth(cfg, 31, holdout_share=0.3, end_day=15, every_days=5.0, discount=0.1)


@pytest.fixture(scope="module")
def creepy_gt(deep_blast) -> GroundTruth:
    """A deeply personalised phone blast with a 30 % holdout: backlash, opt-outs and
    distrust by word of mouth, i.e. real spillover."""
    cfg = MarketConfig(
        n_consumers=10000, horizon_days=20, creepiness=CreepinessConfig(threshold_median=1.0)
    )
    return twin_worlds(cfg, 32, lambda: deep_blast(days=(1.0, 4.0), holdout_share=0.3))


@pytest.mark.parametrize("which", ["mass_gt", "creepy_gt"])
def test_direct_effect_is_zero_for_holdout_and_never_contacted(which: str, request) -> None:
    gt: GroundTruth = request.getfixturevalue(which)
    n = gt.observed.pop.n
    g = groups(gt.observed.ledger, n)
    c = gt.observed.ledger.contacts.frame()
    delivered = np.zeros(n, bool)
    delivered[c.loc[c["status"] == ContactStatus.DELIVERED, "consumer"].to_numpy()] = True
    assert g.n_holdout > 1000 and delivered.sum() > 1000
    assert not (delivered & g.holdout).any()
    d = gt.direct
    for field in ("conversions", "revenue", "discount_cost", "converted"):
        arr = getattr(d, field)
        assert np.all(arr[g.holdout] == 0), field
        assert np.all(arr[~delivered] == 0), field
    # The contacted do feel it.
    assert np.count_nonzero(d.conversions[delivered]) > 0


@pytest.mark.parametrize("which", ["mass_gt", "creepy_gt"])
def test_total_is_direct_plus_spillover(which: str, request) -> None:
    gt: GroundTruth = request.getfixturevalue(which)
    t, d, s = gt.total, gt.direct, gt.spillover
    np.testing.assert_array_equal(t.conversions, d.conversions + s.conversions)
    np.testing.assert_array_equal(t.converted, d.converted + s.converted)
    np.testing.assert_allclose(t.revenue, d.revenue + s.revenue, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        t.discount_cost, d.discount_cost + s.discount_cost, rtol=0, atol=1e-9
    )
    # And the definitions hold against the three worlds' ledgers.
    n = gt.observed.pop.n
    y1 = outcomes(gt.observed.ledger, n, *gt.window).conversions
    y0 = outcomes(gt.baseline.ledger, n, *gt.window).conversions
    np.testing.assert_array_equal(t.conversions, y1 - y0)


def test_creepy_campaign_spills_distrust_onto_the_holdout(creepy_gt: GroundTruth) -> None:
    """Holdout members never see a contact, yet in the observed world their tribes' backlash
    lowers their attitude; in the direct world (word of mouth frozen) it stays neutral."""
    n = creepy_gt.observed.pop.n
    g = groups(creepy_gt.observed.ledger, n)
    assert creepy_gt.observed.ledger.contacts.frame()["backlash"].sum() > 500
    assert np.all(creepy_gt.baseline.state.attitude == 0)
    assert np.all(creepy_gt.direct_world.state.attitude[g.holdout] == 0)
    assert (creepy_gt.observed.state.attitude[g.holdout] < 0).mean() > 0.5


def test_direct_world_replays_the_same_contacts(creepy_gt: GroundTruth) -> None:
    """Replay sends the same contacts at the same times with the same statuses, backlash and
    opt-outs (these depend only on the consumer's own contacts); only persuasion, which
    reads awareness shaped by word of mouth, may differ."""
    a = creepy_gt.observed.ledger.contacts.frame()
    b = creepy_gt.direct_world.ledger.contacts.frame()
    assert len(a) == len(b) > 0
    for col in a.columns:
        if col != "persuasion":
            np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    np.testing.assert_array_equal(
        creepy_gt.observed.ledger.optouts.frame().to_numpy(),
        creepy_gt.direct_world.ledger.optouts.frame().to_numpy(),
    )


SEEDS = (0, 1, 2, 3, 4)


def test_randomised_holdout_recovers_its_own_estimand() -> None:
    """Seeds 0-4, n = 20000, weekly generic email for three weeks, 50 % holdout, outcome =
    purchases over the 30-day horizon.  Per seed |Δ̂ - Σ_treated (y1 - yh)| < 3 se, and
    the standardised errors pooled over seeds |Σ(Δ̂ - estimand)| / sqrt(Σ se²) < 3."""
    errors, ses = [], []
    for seed in SEEDS:
        cfg = MarketConfig(n_consumers=20000, horizon_days=30)
        gt = mass_truth(cfg, seed, holdout_share=0.5, end_day=21, every_days=7.0)
        g = groups(gt.observed.ledger, cfg.n_consumers)
        y = gt.outcome("observed").conversions
        est, se = diff_in_means(y, g)
        truth = gt.holdout_gap.conversions[g.treated].sum()
        assert truth > 0
        assert np.isfinite(se) and se > 0
        assert abs(est - truth) < 3 * se, (seed, est, truth, se)
        errors.append(est - truth)
        ses.append(se)
    assert abs(sum(errors)) / np.sqrt(np.sum(np.square(ses))) < 3


def _single_wave(cfg: MarketConfig, seed: int) -> tuple[float, float, np.ndarray]:
    """Closed-form and realised mean effect on conversion of one generic email at day 0.

    The closed form is taken in the no-campaign world at the send time (the same state the
    campaign meets); the realised effect is the twin worlds' direct effect on having
    converted in steps 0-7 (the 7-day window plus the day it starts in)."""
    sc = build_strategy_config(
        {"name": "mass", "channel": "email", "end_day": 1.0, "holdout_share": 0.1}
    )
    t_send = sc.send_hour / 24.0
    before = Market(cfg, seed)
    before.env.run(until=t_send)
    gt = twin_worlds(cfg, seed, lambda: make_strategy(sc, seed), window=(0.0, 8.0))
    c = gt.observed.ledger.contacts.frame()
    sent = c[c["status"] == ContactStatus.DELIVERED]
    who = sent["consumer"].to_numpy()
    eu = before.expected_uplift(who, EMAIL, at=t_send)
    # The closed form's persuasion is exactly what the contact applied (same state, time).
    hit = ~sent["backlash"].to_numpy()
    np.testing.assert_allclose(eu["persuasion"][hit], sent["persuasion"].to_numpy()[hit], rtol=1e-6)
    return float(eu["uplift"].mean()), float(gt.direct.converted[who].mean()), eu["uplift"]


def test_expected_uplift_is_positive_and_of_the_realised_magnitude() -> None:
    """Default market, seeds 0-1, n = 20000: the mean closed-form uplift of a generic email
    is positive and within a factor of 3 of the realised mean direct effect.  (The closed
    form holds awareness fixed, so it leaves out the lift in organic demand from the
    contact's own awareness gain: with the current defaults realised/expected is about
    2.0-2.3 for these seeds; hence only a rough agreement is asserted here.)"""
    for seed in (0, 1):
        cfg = MarketConfig(n_consumers=20000, horizon_days=10)
        expected, realised, per_consumer = _single_wave(cfg, seed)
        assert (per_consumer > 0).mean() > 0.99
        assert expected > 0 and realised > 0
        assert 1 / 3 < realised / expected < 3, (seed, expected, realised)


def test_expected_uplift_matches_realised_when_awareness_is_held_fixed() -> None:
    """With the email's awareness gain set to 0 the closed form's constant-hazard premise
    holds for the contacted; pooled over seeds 0-1 (n = 40000 each, ~250 induced
    conversions, Poisson sd ~6 %) the realised mean is within 25 % of the closed form."""
    channels = dict(MarketConfig().channels)
    channels["email"] = dataclasses.replace(channels["email"], awareness_gain=0.0)
    exp_sum = real_sum = 0.0
    for seed in (0, 1):
        cfg = MarketConfig(n_consumers=40000, horizon_days=10, channels=channels)
        expected, realised, _ = _single_wave(cfg, seed)
        exp_sum += expected
        real_sum += realised
    assert exp_sum > 0
    assert abs(real_sum / exp_sum - 1) < 0.25, (exp_sum, real_sum)


def test_measured_response_counts_sure_things(mass_gt: GroundTruth) -> None:
    """The marketer's response rate (any purchase within the window after a delivered
    contact) exceeds the true incremental conversions per contact: sure things respond."""
    led = mass_gt.observed.ledger
    flags = response_flags(led, mass_gt.observed.cfg.response.window_days)
    c = led.contacts.frame()
    assert flags.shape[0] == int((c["status"] == ContactStatus.DELIVERED).sum())
    n = mass_gt.observed.pop.n
    g = groups(led, n)
    true_per_contact = mass_gt.direct.conversions[g.treated].sum() / flags.shape[0]
    assert flags.mean() > true_per_contact > 0


def test_offer_uplift_equals_expected_uplift_bit_for_bit(mass_gt: GroundTruth) -> None:
    """Market.offer_uplift (the oracle's shared-term evaluation of many offers) gives what
    Market.expected_uplift gives for each offer, exactly, after a campaign (fatigue,
    awareness, attitude, abandoned carts), for a subset of consumers with one send time
    each and for a scalar time, specific and generic categories, with and without data."""
    m = mass_gt.observed
    rng = np.random.default_rng(5)
    who = np.sort(rng.choice(m.pop.n, 3000, replace=False))
    per_consumer = m.now - 2.0 + np.floor(m.pop.active_hour[who]) / 24.0
    for at, depth, kinds in ((per_consumer, 1.0, 3), (m.now - 0.5, 0.0, 0)):
        offers = m.offer_uplift(who, depth, kinds, at=at)
        for ch in range(len(CHANNELS)):
            for cat in (-1, 0, m.pop.n_categories - 1):
                for disc in (0.0, 0.1, 0.25):
                    got = offers.offer(ch, cat, disc)
                    want = m.expected_uplift(who, ch, cat, disc, depth, kinds, at=at)
                    assert got.keys() == want.keys()
                    for key, value in want.items():
                        assert got[key].dtype == value.dtype, key
                        assert np.array_equal(got[key], value), (ch, cat, disc, key)


# ---------------------------------------------------------------------------- estimands
@pytest.mark.parametrize("which", ["mass_gt", "creepy_gt"])
def test_holdout_members_live_in_the_holdout_world(which: str, request) -> None:
    """A consumer holdout member gets no contact and the realised word of mouth: its
    outcomes in the observed world are exactly those of the holdout world.  Hence the
    holdout's difference in means minus its own estimand (the holdout gap summed over the
    treated) is n_T times the treated-minus-holdout difference *within* the holdout world:
    pure randomisation noise."""
    gt: GroundTruth = request.getfixturevalue(which)
    n = gt.observed.pop.n
    g = groups(gt.observed.ledger, n)
    y1, yh = gt.outcome("observed"), gt.outcome("holdout")
    for field in ("conversions", "revenue", "discount_cost", "converted"):
        np.testing.assert_array_equal(getattr(y1, field)[g.holdout], getattr(yh, field)[g.holdout])
    est, _ = diff_in_means(y1.conversions, g)
    estimand = gt.holdout_gap.conversions[g.treated].sum()
    noise = g.n_treated * (yh.conversions[g.treated].mean() - yh.conversions[g.holdout].mean())
    assert est - estimand == pytest.approx(noise, abs=1e-6)


def test_estimands_differ_by_what_word_of_mouth_carries(creepy_gt: GroundTruth) -> None:
    """In a campaign with spillover the three truths differ: total = direct + spillover,
    and the holdout's estimand is neither (word of mouth as realised, not as without the
    campaign; spillover onto the holdout left out)."""
    g = groups(creepy_gt.observed.ledger, creepy_gt.observed.pop.n)
    total = creepy_gt.total.conversions.sum()
    direct = creepy_gt.direct.conversions.sum()
    own = creepy_gt.holdout_gap.conversions[g.treated].sum()
    assert total != direct and own != total and own != direct


def test_tribe_holdout_measures_the_total_effect() -> None:
    """Whole tribes held out (half of 12) receive no word of mouth from the campaign: in
    the observed world their members' outcomes equal the no-campaign world's exactly, so
    the comparison's estimand is the total effect."""
    cfg = MarketConfig(n_consumers=6000, horizon_days=25)
    sc = build_strategy_config(
        {
            "name": "mass",
            "channel": "email",
            "end_day": 15,
            "holdout_share": 0.5,
            "holdout_unit": "tribe",
        }
    )
    made = []

    def make():
        made.append(make_strategy(sc, 8))
        return made[-1]

    gt = twin_worlds(cfg, 8, make, holdout_world=False)
    held = made[0].holdout_mask(gt.observed)
    assert 0 < held.sum() < cfg.n_consumers
    assert gt.holdout_world is None
    y1, y0 = gt.outcome("observed"), gt.outcome("baseline")
    np.testing.assert_array_equal(y1.conversions[held], y0.conversions[held])
    assert gt.total.conversions[held].sum() == 0
    assert gt.total.conversions[~held].sum() == gt.total.conversions.sum() != 0


def _ledger_with(purchases: list[tuple[int, float]], induced: int = 0) -> Ledger:
    led = Ledger()
    m = len(purchases)
    led.purchases.append(
        time=np.array([t for _, t in purchases], float),
        consumer=np.array([c for c, _ in purchases]),
        category=np.zeros(m),
        value=np.ones(m),
        discount=np.zeros(m),
        offer_contact=np.full(m, -1),
        induced=np.arange(m) < induced,
    )
    return led


def test_pull_forward_splits_the_bump_by_hand() -> None:
    """Consumer 0 buys on day 2 instead of day 5 (pulled forward); consumer 1 buys an
    extra time on day 3 (new); consumer 2 loses its day-4 purchase (suppressed); consumer
    3 buys on day 1 in both worlds; consumer 4 buys on day 6 instead of day 1 (delayed:
    one suppressed, one new)."""
    from types import SimpleNamespace

    from sim.truth import pull_forward

    cfg = MarketConfig(n_consumers=5, horizon_days=10)
    campaign = SimpleNamespace(
        cfg=cfg, ledger=_ledger_with([(0, 2.4), (1, 3.5), (1, 8.2), (3, 1.1), (4, 6.3)], 2)
    )
    baseline = SimpleNamespace(
        cfg=cfg, ledger=_ledger_with([(0, 5.4), (1, 8.2), (2, 4.9), (3, 1.1), (4, 1.3)])
    )
    pf = pull_forward(campaign, baseline, (0.0, 10.0))  # type: ignore[arg-type]
    assert (pf.gross, pf.displaced, pf.pulled_forward, pf.suppressed) == (3, 3, 1, 2)
    assert pf.net == 0 and pf.share == pytest.approx(1 / 3) and pf.induced == 2
    # A window that ends before the day-5 purchase sees the pull-forward as new.
    early = pull_forward(campaign, baseline, (0.0, 5.0))  # type: ignore[arg-type]
    assert (early.gross, early.displaced, early.pulled_forward) == (2, 2, 0)


@pytest.mark.parametrize("which", ["mass_gt", "creepy_gt"])
def test_pull_forward_adds_up_to_the_total_effect(which: str, request) -> None:
    gt: GroundTruth = request.getfixturevalue(which)
    pf = gt.pull_forward()
    assert pf.net == gt.total.conversions.sum()
    assert pf.gross - pf.displaced == pf.net
    assert pf.pulled_forward + pf.suppressed == pf.displaced
    assert 0 <= pf.pulled_forward <= pf.displaced and pf.gross > 0


# ---------------------------------------------------------------------------- slow: 20 seeds
ESTIMAND_SEEDS = tuple(range(20))
ESTIMAND_STRATEGIES = (
    "mass",
    "segmented",
    "triggered",
    "contextual",
    "one_to_one",
    "one_to_one_propensity",
    "hybrid",
)
#: The default world at 10,000 consumers (90 days, campaigns on days 0-60): 20 seeds x 7
#: strategies x 4 worlds take about three minutes on one core.
ESTIMAND_WORLD = {"market.n_consumers": 10000}


def estimand_runs(strategy: str, **overrides) -> dict[str, np.ndarray]:
    """Incremental conversions of ``strategy`` over the 20 seeds, by figure."""
    from sim.experiment import build_run_config, run_experiment
    from tests.facts import compose_run

    keys = ("measured", "measured_se", "holdout_estimand", "true", "direct")
    out: dict[str, list[float]] = {k: [] for k in keys}
    for seed in ESTIMAND_SEEDS:
        cfg = build_run_config(
            compose_run("default", strategy, seed, **{**ESTIMAND_WORLD, **overrides})
        )
        ic = run_experiment(cfg).incremental_conversions.to_dict()
        for k in keys:
            out[k].append(float(ic[k]))
    return {k: np.asarray(v) for k, v in out.items()}


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


@pytest.mark.slow
def test_holdout_is_unbiased_for_its_own_estimand_and_shows_its_gap_to_the_total() -> None:
    """Seeds 0-19, default world at n = 10,000, every strategy: the holdout's difference in
    means is unbiased for its own estimand, |mean(measured - estimand)| <= 3 SE with SE =
    sqrt(sum se^2) / 20 from the reported standard errors; the bias against the total
    effect is reported with its seed-to-seed SE (the table in docs/MODEL.md, "Estimand")."""
    lines = [
        "| strategy | measured | holdout estimand | total (true) | direct "
        "| measured - estimand (z) | bias vs total ± SE | z |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    failures = []
    for strategy in ESTIMAND_STRATEGIES:
        r = estimand_runs(strategy)
        diff = r["measured"] - r["holdout_estimand"]
        se = float(np.sqrt(np.square(r["measured_se"]).sum()) / len(ESTIMAND_SEEDS))
        z_own = float(diff.mean() / se)
        bias, bias_se = _mean_se(r["measured"] - r["true"])
        lines.append(
            f"| {strategy} | {r['measured'].mean():.1f} | {r['holdout_estimand'].mean():.1f} "
            f"| {r['true'].mean():.1f} | {r['direct'].mean():.1f} | {diff.mean():+.1f} "
            f"({z_own:+.2f}) | {bias:+.1f} ± {bias_se:.1f} | {bias / bias_se:+.2f} |"
        )
        if abs(diff.mean()) > 3 * se:
            failures.append((strategy, diff.mean(), se))
    print("\n" + "\n".join(lines))
    assert not failures, failures


TRIBE_STRATEGIES = ("mass", "one_to_one_propensity", "hybrid")


@pytest.mark.slow
def test_tribe_randomised_holdout_cuts_the_bias_against_the_total() -> None:
    """Seeds 0-19, default world at n = 10,000, half the market held out, by consumer and
    by tribe (6 of 12 tribes): the tribe holdout is unbiased for the total effect,
    |mean(measured - total)| <= 3 seed-to-seed SE; the consumer holdout's bias is printed
    beside it (a finding, not asserted)."""
    lines = [
        "| strategy | holdout unit | total (true) | measured | bias vs total ± SE | z "
        "| mean reported SE |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    failures = []
    for strategy in TRIBE_STRATEGIES:
        for unit in ("consumer", "tribe"):
            r = estimand_runs(
                strategy, **{"strategy.holdout_share": 0.5, "strategy.holdout_unit": unit}
            )
            bias, bias_se = _mean_se(r["measured"] - r["true"])
            lines.append(
                f"| {strategy} | {unit} | {r['true'].mean():.1f} | {r['measured'].mean():.1f} "
                f"| {bias:+.1f} ± {bias_se:.1f} | {bias / bias_se:+.2f} "
                f"| {r['measured_se'].mean():.1f} |"
            )
            if unit == "tribe" and abs(bias) > 3 * bias_se:
                failures.append((strategy, bias, bias_se))
    print("\n" + "\n".join(lines))
    assert not failures, failures
