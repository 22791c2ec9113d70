"""The workshop's logic without a browser: controls mapped to the library's configs, bad
input turned into messages, the consumer types from the twin worlds, curves, exercises,
rounds and the CSV export.

Runs use small markets (2,000 customers, 30 days) and fixed seeds; figures are compared
with the library's own run of the same config, exactly (same seed, same streams).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from experiments.workshop import plans as P
from experiments.workshop.curves import GRANULARITY_K, interact
from experiments.workshop.engine import (
    Busy,
    ConsumerTypes,
    Estimate,
    Failure,
    Figures,
    Job,
    Runner,
    consumer_types,
    figures,
    run_job,
)
from experiments.workshop.exercises import EXERCISES, debrief, score
from experiments.workshop.rounds import MAX_ROUNDS, MAX_TEAMS, Rounds
from experiments.workshop.safety import InputError, clean_team, csv_cell, safe_csv
from sim import api, presets
from sim.experiment import RunConfig, run_experiment

SMALL = {"customers": 2_000, "days": 30}


def small(preset: str = "default", **changes: object) -> P.World:
    return P.World.for_preset(preset, **{**SMALL, **changes})


# ------------------------------------------------------------------ controls


@pytest.mark.parametrize("preset", list(P.MARKETS))
def test_a_preset_world_is_the_library_preset(preset: str) -> None:
    """Untouched controls give exactly the preset's configs (size and horizon aside)."""
    world = P.World.for_preset(preset)
    assert world.problems() == []  # every preset value fits the page's bounds
    market, econ = world.configs()
    base = presets.market(preset)
    assert market == presets.market(
        preset, n_consumers=min(base.n_consumers, P.DEFAULT_CUSTOMERS), horizon_days=60.0
    )
    econ_name = preset if preset in presets.options("economics") else "default"
    assert econ == presets.economics(econ_name)


def test_each_control_sets_its_config_key() -> None:
    world = P.World.for_preset(
        "default",
        tribalism=30.0,
        privacy=2.0,
        consent_ambient=10.0,
        margin=50.0,
        basket=80.0,
        data_ambient=0.5,
        content=1000.0,
        contact_sms=0.2,
    )
    market, econ = world.configs()
    base = presets.market("default")
    assert market.tribes.variance_share == pytest.approx(0.3)
    assert market.creepiness.threshold_median == pytest.approx(base.creepiness.threshold_median / 2)
    assert market.consent.share["ambient"] == pytest.approx(0.1)
    assert market.purchase.basket_mean == 80.0
    assert econ.margin_rate == pytest.approx(0.5)
    assert econ.data_cost_per_month["ambient"] == 0.5
    assert econ.content_cost_per_variant == 1000.0
    assert econ.contact_cost["sms"] == 0.2


@pytest.mark.parametrize("strategy", list(P.STRATEGIES))
def test_a_default_plan_is_the_library_strategy_preset(strategy: str) -> None:
    assert P.Plan.default(strategy).config(60) == presets.strategy(strategy, end_day=60.0)


def test_plan_knobs_reach_the_strategy_config() -> None:
    o2o = replace(
        P.Plan.default("one_to_one"),
        scorer="propensity",
        share=15.0,
        offers=(20.0, 0.0),
        channels=("sms",),
        depth=40.0,
        budget=500.0,
    ).config(30)
    assert (o2o.scorer, o2o.max_share, o2o.discounts, o2o.channels) == (
        "propensity",
        0.15,
        [0.0, 0.2],
        ["sms"],
    )
    assert (o2o.depth, o2o.budget, o2o.end_day) == (0.4, 500.0, 30.0)
    trig = replace(
        P.Plan.default("triggered"), events=("lapsed", "near_store"), delay_hours=12.0
    ).config(60)
    assert [r.event for r in trig.rules] == ["lapsed", "near_store"]
    assert trig.rules[0].delay_days == pytest.approx(0.5)


def test_bad_plans_give_readable_messages() -> None:
    o2o = P.Plan.default("one_to_one")
    assert P.Plan.default("mass").problems() == []
    (msg,) = replace(o2o, budget=0.0).problems()
    assert "budget of 0" in msg
    (msg,) = replace(P.Plan.default("triggered"), events=()).problems()
    assert "contacts nobody" in msg and "trigger event" in msg
    assert any("contacts nobody" in m for m in replace(o2o, channels=()).problems())
    assert any("offer" in m for m in replace(o2o, offers=()).problems())
    (msg,) = replace(o2o, share=250.0).problems()
    assert "Most customers contacted per wave" in msg and "1 to 100" in msg
    (msg,) = replace(P.Plan.default("mass"), every_days=float("nan")).problems()
    assert "Frequency" in msg
    with pytest.raises(ValueError, match="budget of 0"):
        replace(o2o, budget=0.0).config(60)


def test_out_of_range_world_is_refused_before_any_run() -> None:
    world = P.World.for_preset("default", customers=5_000_000, privacy=0.0)
    problems = world.problems()
    assert any("Market size" in p and "20000" in p for p in problems)
    assert any("Privacy sensitivity" in p for p in problems)
    out = run_job(Job(world, P.Plan.default("mass"), 0))
    assert isinstance(out, Failure) and "Market size" in out.message


# ------------------------------------------------------------------ engine


def test_figures_equal_the_librarys_own_run() -> None:
    """The page's run of a plan is the library's run of the same config, to the digit."""
    world = small(tribalism=70.0)
    plan = replace(P.Plan.default("one_to_one"), scorer="propensity", share=10.0)
    fig = run_job(Job(world, plan, 3))
    assert isinstance(fig, Figures)
    market = api.market(
        "default", n_consumers=2_000, horizon_days=30.0, **{"tribes.variance_share": 0.7}
    )
    strategy = api.strategy("one_to_one", scorer="propensity", max_share=0.1, end_day=30.0)
    lib = api.run(market, strategy, seed=3)
    assert fig.response_rate == lib.response_rate
    assert fig.profit.measured == lib.incremental_profit.measured
    assert fig.profit.true == lib.incremental_profit.true
    assert (fig.contacts, fig.backlash, fig.opt_outs) == (
        lib.contacts,
        lib.backlash_events,
        lib.opt_outs,
    )


def test_types_partition_the_contacted_and_match_the_library_baseline() -> None:
    """Every contacted customer gets exactly one type, and the baseline world behind the
    types is the library's (the types are shown only when their purchase counts agree)."""
    world = small()
    plan = P.Plan.default("mass")
    fig = run_job(Job(world, plan, 5))
    assert isinstance(fig, Figures) and fig.types is not None
    market, econ = world.configs()
    cfg = RunConfig(seed=5, market=market, strategy=plan.config(world.days), economics=econ)
    lib = run_experiment(cfg)
    assert fig.types.contacted == fig.treated  # a weekly e-mail reaches every treated address
    assert fig.types.contacted > 0
    assert lib.baseline_purchases is not None
    assert sum(fig.types.spend.values()) == pytest.approx(
        fig.cost["contact"] + fig.cost["offer"], rel=1e-6
    )


def test_consumer_types_by_the_book() -> None:
    """Radcliffe & Surry's table on four hand-made customers (plus one never contacted)."""
    bought_with = np.array([1, 1, 0, 0, 1], bool)
    bought_without = np.array([0, 1, 0, 1, 0], bool)
    contacted = np.array([1, 1, 1, 1, 0], bool)
    spend = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    t = consumer_types(bought_with, bought_without, contacted, spend)
    assert t.counts == {"persuadable": 1, "sure_thing": 1, "lost_cause": 1, "sleeping_dog": 1}
    assert t.spend == {
        "persuadable": 1.0,
        "sure_thing": 2.0,
        "lost_cause": 3.0,
        "sleeping_dog": 4.0,
    }


def test_uplift_ranking_reaches_more_persuadables_than_propensity() -> None:
    """Stylised fact 2 seen through the types: the oracle (true uplift) contacts a larger
    share of persuadables than the propensity model (likely buyers).  Default world, 5,000
    customers, 60 days, seed 4; direction only, as the domain states it."""
    world = P.World.for_preset("default", customers=5_000)
    o2o = P.Plan.default("one_to_one")
    oracle = run_job(Job(world, o2o, 4))
    propensity = run_job(Job(world, replace(o2o, scorer="propensity"), 4))
    assert isinstance(oracle, Figures) and isinstance(propensity, Figures)
    assert oracle.types and propensity.types
    assert oracle.types.share("persuadable") > propensity.types.share("persuadable")


def test_runner_caches_and_cancels() -> None:
    runner = Runner(workers=0)
    job = Job(small(), P.Plan.default("mass"), 1, types=False)
    first = runner.run([job])[0]
    assert runner.cached(job) is first
    assert runner.run([job])[0] is first  # a cache hit, not a second run


def test_worker_pool_gives_the_inline_result_and_bounds_its_queue() -> None:
    """The spawned workers compute what the calling thread computes; a full queue answers
    Busy instead of queueing without bound."""
    job = Job(small(), P.Plan.default("mass"), 2, types=False)
    inline = run_job(job)
    pool = Runner(workers=1, max_pending=2)
    try:
        (pooled,) = pool.run([job], owner="a")
        assert pooled == inline
        many = [Job(small(), replace(P.Plan.default("mass"), every_days=d), 2) for d in (3, 4, 5)]
        with pytest.raises(Busy):
            pool.submit(many, owner="b")
    finally:
        pool.shutdown()


# ------------------------------------------------------------------ curves


def test_curves_of_a_world_and_a_budget_cap_that_holds() -> None:
    """The ROI curve's budgeted runs spend no more than their budget (the spend the page
    shows is what the library's budget caps); the granularity curve has every k."""
    world = small()
    plan = P.Plan.default("mass")
    seen: list[tuple[int, int]] = []
    result = interact(world, plan, 1, Runner(0), progress=lambda d, t: seen.append((d, t)))
    assert list(result.granularity["k"]) == [float(k) for k in GRANULARITY_K]
    budgeted = result.roi.dropna(subset=["budget"])
    assert len(budgeted) >= 2
    assert (budgeted["spend"] <= budgeted["budget"] + 1e-6).all()
    unlimited = result.roi[result.roi["budget"].isna()]["spend"].iloc[0]
    assert budgeted["spend"].max() <= unlimited
    assert seen and seen[-1][0] == seen[-1][1]


# ------------------------------------------------------------------ exercises


@pytest.mark.parametrize("ex_id", list(EXERCISES))
def test_exercise_start_plans_and_references_are_valid(ex_id: str) -> None:
    ex = EXERCISES[ex_id]
    plan = ex.start_plan()
    assert ex.problems(plan) == []
    assert ex.world.problems() == []
    for _, ref in ex.references(plan):
        assert ref.problems() == []
    assert len(EXERCISES) >= 4


def test_exercise_locks_are_enforced() -> None:
    ex = EXERCISES["propensity_10"]
    assert any("fixes scorer" in p for p in ex.problems(replace(ex.start_plan(), scorer="oracle")))
    assert any("played with" in p for p in ex.problems(P.Plan.default("mass")))
    ex3 = EXERCISES["perfect_data"]
    assert any("among" in p for p in ex3.problems(replace(ex3.start_plan(), share=55.0)))


def _fig(measured: float, true: float, *, contacts: int = 100) -> Figures:
    types = ConsumerTypes(
        {"persuadable": 10, "sure_thing": 60, "lost_cause": 25, "sleeping_dog": 5},
        {"persuadable": 10.0, "sure_thing": 600.0, "lost_cause": 25.0, "sleeping_dog": 5.0},
    )
    est = Estimate(measured, 100.0, true)
    return Figures(
        "one_to_one",
        2000,
        contacts,
        100,
        20,
        0.1,
        est,
        est,
        est,
        1.0,
        0.5,
        {"total": 1000.0},
        50.0,
        3,
        7,
        types,
        0.1,
    )


def test_debrief_tells_the_truth_and_ranks_the_plan() -> None:
    ex = EXERCISES["perfect_data"]
    plan = ex.start_plan()
    mine = _fig(measured=5_000.0, true=1_000.0)
    oracle = _fig(measured=50_000.0, true=40_000.0)
    d = debrief(ex, plan, mine, [("Your plan with perfect knowledge (oracle)", oracle)], bid=9e4)
    text = " ".join(d.sentences)
    assert "5,000" in text and "1,000" in text  # measured score, then the truth
    assert "misses the truth" in text  # 1,000 is outside 5,000 ± 196
    assert "60 sure things" in text and "600" in text
    assert "value of perfect information is 39,000" in text
    assert "more than perfect data is worth" in text  # a bid of 90,000 > 39,000
    assert "ranks 2 of 2 on true profit" in text
    assert score(mine).profit == 5_000.0


def test_not_launching_scores_zero_and_is_compared() -> None:
    ex = EXERCISES["propensity_10"]
    fig = _fig(measured=-8_000.0, true=-9_000.0)
    d = debrief(ex, ex.start_plan(), fig, [], launched=False)
    assert score(fig, launched=False).profit == 0.0
    assert "not to launch" in d.sentences[0] and "\u22129,000" in d.sentences[0]
    assert "Not launching" in set(d.references["plan"])


# ------------------------------------------------------------------ rounds and safety


def test_team_names_are_cleaned_or_refused() -> None:
    assert clean_team("  Team\tA \n") == "Team A"
    assert clean_team("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert clean_team("a\u200bb\x00c") == "abc"  # format and control characters dropped
    for bad in ("", "   ", "\x00\x01", None, 42):
        with pytest.raises(InputError, match="team name"):
            clean_team(bad)
    with pytest.raises(InputError, match="at most 40"):
        clean_team("x" * 41)


def test_csv_cells_never_start_a_formula() -> None:
    for text in ('=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", " =1"):
        assert csv_cell(text).startswith("'")
    assert csv_cell("Team A") == "Team A"
    assert csv_cell(-12.5) == -12.5  # numbers stay numbers


def test_round_leaderboard_ranks_measured_beside_true_and_exports_inert_csv() -> None:
    rounds = Rounds()
    r = rounds.open("tribal_fmcg", 7)
    plan = P.Plan.default("mass")
    rounds.submit(r.number, '=HYPERLINK("http://evil","win")', plan, _fig(9_000, 1_000))
    rounds.submit(r.number, "<script>alert(1)</script>", plan, _fig(2_000, 6_000))
    rounds.submit(r.number, "Team C", plan, _fig(5_000, 3_000))
    rounds.submit(r.number, "team c", plan, _fig(4_000, 4_000))  # replaces Team C
    hidden = rounds.leaderboard(r.number)
    assert "true profit" not in hidden.columns and len(hidden) == 3
    rounds.reveal(r.number)
    board = rounds.leaderboard(r.number)
    by_team = board.set_index("team")
    assert list(board["team"]) == [
        '=HYPERLINK("http://evil","win")',
        "team c",
        "<script>alert(1)</script>",
    ]
    assert by_team.loc["<script>alert(1)</script>", "rank (true)"] == 1
    assert by_team.loc["<script>alert(1)</script>", "rank (measured)"] == 3
    rows = list(csv.DictReader(io.StringIO(rounds.export_csv(r.number).decode("utf-8-sig"))))
    teams = [row["team"] for row in rows]
    assert '\'=HYPERLINK("http://evil","win")' in teams
    assert "<script>alert(1)</script>" in teams
    assert all(not str(v).startswith(("=", "+", "@")) for row in rows for v in row.values())
    assert {row["true profit"] for row in rows} == {"1000", "6000", "4000"}


def test_round_input_errors_and_bounds() -> None:
    rounds = Rounds()
    r = rounds.open("granularity", 1)
    with pytest.raises(InputError, match="team name"):
        rounds.submit(r.number, "", P.Plan.default("segmented"), _fig(1, 1))
    with pytest.raises(InputError, match="played with"):
        rounds.check_entry(r.number, "A", P.Plan.default("mass"))
    with pytest.raises(InputError, match="budget of 0"):
        rounds.check_entry(r.number, "A", replace(P.Plan.default("segmented"), budget=0.0))
    for i in range(MAX_TEAMS):
        rounds.submit(r.number, f"T{i}", P.Plan.default("segmented"), _fig(i, i))
    with pytest.raises(InputError, match=f"{MAX_TEAMS} teams"):
        rounds.submit(r.number, "one more", P.Plan.default("segmented"), _fig(0, 0))
    rounds.close(r.number)
    with pytest.raises(InputError, match="closed"):
        rounds.check_entry(r.number, "T1", P.Plan.default("segmented"))
    for _ in range(MAX_ROUNDS - 1):
        rounds.open("granularity", 1)
    assert len(rounds.all()) == MAX_ROUNDS
    rounds.open("granularity", 2)  # the closed round makes room
    assert len(rounds.all()) == MAX_ROUNDS and r.number not in {x.number for x in rounds.all()}
    with pytest.raises(InputError, match="close one"):
        rounds.open("granularity", 3)
    with pytest.raises(InputError, match="seed"):
        Rounds().open("granularity", -1)


def test_safe_csv_keeps_numbers_numeric() -> None:
    import pandas as pd

    data = safe_csv(pd.DataFrame({"team": ["-x"], "profit": [-5]})).decode("utf-8-sig")
    assert data.splitlines() == ['"team","profit"', '"\'-x",-5']


def test_figures_read_typed_fields_and_ignore_added_ones() -> None:
    """Robust to a richer result: a field the library adds is ignored, an optional truth
    beside the headline (e.g. a direct effect) is picked up when present."""
    lib = api.run(api.market("default", n_consumers=1_000, horizon_days=30.0), "mass", seed=1)
    data = {f.name: getattr(lib, f.name) for f in dataclasses.fields(lib)}
    profit = lib.incremental_profit
    data["incremental_profit"] = SimpleNamespace(
        measured=profit.measured, measured_se=profit.measured_se, true=profit.true, direct=12.5
    )
    data["a_field_added_later"] = [1, 2, 3]
    fig = figures(SimpleNamespace(**data))  # type: ignore[arg-type]
    assert fig.profit.true == profit.true
    assert fig.profit.extra == {"direct": 12.5}
    assert fig.response_rate == lib.response_rate
