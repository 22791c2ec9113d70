"""The uplift lab on simulated pilots: potential outcomes, recovery, closed loop, entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments._common import compose, plain
from experiments.uplift import UpliftJob, parse_job, run_uplift
from sim.config import channel_code
from sim.experiment import build_run_config
from sim.population import synthesize
from sim.schema import build
from sim.streams import Streams
from sim.uplift.pilot import CONTROL, PilotConfig, PilotResult, run_pilot
from tests.facts import CONF, compose_run, run

ROOT = Path(__file__).resolve().parent.parent


def job(overrides: list[str]) -> UpliftJob:
    """The validated job of ``python -m experiments.uplift <overrides>``."""
    return parse_job(plain(compose("uplift", overrides)))


def uplift_cli(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "experiments.uplift", *overrides, f"hydra.run.dir={run_dir}"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def pilot() -> PilotResult:
    cfg = build_run_config(
        compose_run("specialty_retail", "one_to_one", 5, **{"market.n_consumers": 20000})
    )
    return run_pilot(cfg.market, 5, PilotConfig())


def test_pilot_assignment_and_consistency(pilot) -> None:
    """Arms are assigned at the configured shares (seed 5, 4 SE), and the observed outcome
    equals the potential outcome of the arm received for >= 99 % of consumers (the rest
    differ only through word of mouth, which the potential outcomes freeze)."""
    t = pilot.table
    n = len(t)
    share = float((t.arm == CONTROL).mean())
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / n)
    for arm in [CONTROL, *pilot.arms]:
        rows = t.arm == arm
        col = "y_control" if arm == CONTROL else f"y_{arm}"
        assert (t.loc[rows, "y"] == t.loc[rows, col]).mean() >= 0.99
    assert not any(c in pilot.feature_names for c in ("utility", "creepiness_threshold", "tribe"))


def test_pilot_result_to_dict_round_trips_through_json(pilot: PilotResult) -> None:
    """``to_dict()`` is JSON-ready and holds the whole pilot: the config rebuilds, the
    propensities sum to one, and the table comes back column for column."""
    back = json.loads(json.dumps(pilot.to_dict()))
    assert build(PilotConfig, back["config"]) == pilot.config
    assert back["arms"] == pilot.arms == ["email", "email_offer"]
    assert back["feature_names"] == pilot.feature_names
    assert sum(back["propensity"].values()) == pytest.approx(1.0)
    pd.testing.assert_frame_equal(pd.DataFrame(back["table"]), pilot.table, check_dtype=False)


def test_closed_form_uplift_matches_realised(pilot) -> None:
    """Mean closed-form expected uplift lies within 3 SE of the mean realised uplift."""
    t = pilot.table
    for arm in pilot.arms:
        real = t[f"tau_{arm}"].to_numpy()
        expected = t[f"tau_expected_{arm}"].to_numpy()
        se = real.std(ddof=1) / np.sqrt(len(real))
        assert abs(real.mean() - expected.mean()) < 3 * se + 0.002


def test_undeliverable_contacts_have_no_expected_or_realised_uplift(pilot) -> None:
    """Consumers the e-mail cannot reach get the arm but not the contact: their closed-form
    expected uplift is 0 and so is their realised one, exactly (seed 5; about 15 % of the
    sample, the e-mail's reach being 0.85).  Before the fix the closed form gave them a
    delivered e-mail's uplift and ran 15 % above the realised mean."""
    cfg = build_run_config(
        compose_run("specialty_retail", "one_to_one", 5, **{"market.n_consumers": 20000})
    )
    pop = synthesize(cfg.market, Streams(5))
    t = pilot.table
    unreached = ~pop.reachable[t["consumer"].to_numpy(), channel_code("email")]
    assert 0.1 < unreached.mean() < 0.2
    for arm in pilot.arms:
        assert (t.loc[unreached, f"tau_expected_{arm}"] == 0).all()
        assert (t.loc[unreached, f"tau_{arm}"] == 0).all()
        assert (t.loc[~unreached, f"tau_expected_{arm}"] != 0).mean() > 0.99


def test_difference_in_means_recovers_true_ate(pilot) -> None:
    """The pilot's difference in means is within 3 SE of the mean true uplift (seed 5)."""
    t = pilot.table
    y0 = t.loc[t.arm == CONTROL, "y"]
    for arm in pilot.arms:
        y1 = t.loc[t.arm == arm, "y"]
        se = np.sqrt(y1.var() / len(y1) + y0.var() / len(y0))
        assert abs((y1.mean() - y0.mean()) - t[f"tau_{arm}"].mean()) < 3 * se


@pytest.mark.parametrize("seed", [1, 2])
def test_causalml_scorer_beats_propensity_and_never_the_oracle(seed: int) -> None:
    """specialty_retail (seeds 1, 2): one-to-one with the CausalML scorer (trained on its own
    pilot wave) earns more true incremental profit than the propensity scorer, and the
    oracle scorer is never beaten."""
    learned = run("specialty_retail", "one_to_one_causalml", seed)["incremental_profit"]["true"]
    propensity = run("specialty_retail", "one_to_one_propensity", seed)["incremental_profit"][
        "true"
    ]
    oracle = run("specialty_retail", "one_to_one", seed)["incremental_profit"]["true"]
    assert learned > propensity
    assert oracle >= learned


def test_one_to_one_causalml_takes_its_estimator_from_the_strategy_config() -> None:
    """+estimator@strategy.estimator=<option> reaches the in-market CausalML scorer; an
    estimator with another scorer, or a bad estimator value, fails naming the key."""
    from sim.economics import EconomicsConfig
    from sim.schema import ConfigError
    from sim.strategies.one_to_one import OneToOne

    pick = {"+estimator@strategy.estimator": "x_lightgbm_fast"}
    cfg = build_run_config(compose_run("specialty_retail", "one_to_one_causalml", 0, **pick))
    scorer = OneToOne(cfg.strategy, 0, EconomicsConfig()).scorer
    assert scorer.estimator_cfg.name == "x_lightgbm_fast"
    assert scorer.estimator_cfg.n_estimators == 60
    default = build_run_config(compose_run("specialty_retail", "one_to_one_causalml", 0))
    assert (
        OneToOne(default.strategy, 0, EconomicsConfig()).scorer.estimator_cfg.name == "x_lightgbm"
    )
    with pytest.raises(ConfigError, match="only the causalml scorer"):
        build_run_config(compose_run("specialty_retail", "one_to_one", 0, **pick))
    bad = {**pick, "strategy.estimator.max_depth": 0}
    with pytest.raises(ConfigError, match=r"strategy\.estimator\.max_depth = 0"):
        build_run_config(compose_run("specialty_retail", "one_to_one_causalml", 0, **bad))


def test_uplift_entry_point_on_hillstrom(tmp_path: Path) -> None:
    """metrics.json carries per arm ate with ate_ci equal to the file's difference in means,
    and per estimator qini/auuc and fit_seconds."""
    from sim.datasets import load_hillstrom

    result = run_uplift(job(["dataset=hillstrom", "n_boot=0", "estimator=t_lightgbm"]), tmp_path)
    json.dumps(result)
    df = load_hillstrom()
    control = df.loc[df.segment == "No E-Mail", "visit"].mean()
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        ate = df.loc[df.segment == arm, "visit"].mean() - control
        assert result["arms"][arm]["ate"] == pytest.approx(ate, abs=1e-12)
        lo, hi = result["arms"][arm]["ate_ci"]
        assert lo < ate < hi
        entry = result["estimators"]["t_lightgbm"]["arms"][arm]
        assert {"qini", "auuc"} <= set(entry)
    assert result["estimators"]["t_lightgbm"]["fit_seconds"] > 0


def test_uplift_entry_point_on_simulated_pilot(tmp_path: Path) -> None:
    """dataset=sim adds qini_true, pehe and profit_at_best_depth per arm, and the closed loop."""
    result = run_uplift(
        job(
            [
                "dataset=sim",
                "n_boot=0",
                "market.n_consumers=6000",
                "estimator=t_lightgbm",
                "strategy.end_day=30",
            ]
        ),
        tmp_path,
    )
    for arm, entry in result["estimators"]["t_lightgbm"]["arms"].items():
        assert {"qini_true", "pehe", "profit_at_best_depth"} <= set(entry), arm
        best = entry["profit_at_best_depth"]
        assert best["oracle"] >= best["model"] - 1e-9 and best["oracle"] >= best["random"] - 1e-9
    loop = result["closed_loop"]
    assert loop["regret"] == pytest.approx(loop["oracle_profit"] - loop["realised_profit"])
    assert (tmp_path / "profit_curves.png").exists()


def test_uplift_job_goes_through_the_results_store(tmp_path: Path) -> None:
    """The entry point writes metrics.json and a one-row result.parquet (status ok, the
    primary.<arm>.* truth columns, the resolved config); a re-run into the same folder
    skips the work and leaves both files untouched."""
    args = [
        "dataset=sim",
        "n_boot=0",
        "closed_loop=false",
        "market.n_consumers=4000",
        "estimator=s_lightgbm",
    ]
    first = uplift_cli(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    row = pd.read_parquet(tmp_path / "result.parquet")
    assert len(row) == 1 and row["status"].iloc[0] == "ok"
    assert row["primary.estimator"].iloc[0] == "s_lightgbm"
    assert row["cfg.estimator.name"].iloc[0] == "s_lightgbm"
    for arm in ("email", "email_offer"):
        assert 0.0 < row[f"primary.{arm}.pehe_ratio"].iloc[0] < 10.0
        assert (
            row[f"primary.{arm}.profit_top20_oracle"].iloc[0]
            >= row[f"primary.{arm}.profit_top20_model"].iloc[0] - 1e-9
        )
    results = ("metrics.json", "result.parquet", "profit_curves.png")
    stamp = {n: (tmp_path / n).stat().st_mtime_ns for n in results}
    again = uplift_cli(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "skipping" in again.stdout + again.stderr
    assert {n: (tmp_path / n).stat().st_mtime_ns for n in stamp} == stamp


def test_malformed_csv_stops_the_job_before_any_work(tmp_path: Path) -> None:
    """A CSV whose outcome is not binary: exit 2 naming the column, no result written."""
    path = tmp_path / "exp.csv"
    path.write_text("group,bought,age\ncontrol,0,30\nmail,2,41\ncontrol,1,25\nmail,0,52\n")
    run_dir = tmp_path / "run"
    done = uplift_cli(
        run_dir,
        "dataset=csv",
        f"dataset.path={path}",
        "dataset.treatment_col=group",
        "dataset.control_label=control",
        "dataset.outcome_col=bought",
    )
    assert done.returncode == 2
    assert "bought" in done.stderr and "Invalid configuration" in done.stderr
    assert not (run_dir / "result.parquet").exists()


def test_uplift_sweep_with_a_bad_estimator_value_fails_before_any_job(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "experiments.uplift",
        "-m",
        "dataset=hillstrom",
        "estimator.max_depth=3,0",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "estimator.max_depth=0" in done.stderr and "no job was started" in done.stderr
    assert not sweep_dir.exists()


def test_uplift_benchmark_reports_where_time_goes(tmp_path: Path) -> None:
    """A small run of the scale benchmark: every stage timed, the loop is the sum of its
    stages, the JSON line parses, the regret is oracle minus realised profit."""
    cmd = [
        sys.executable,
        "-m",
        "experiments.bench.uplift",
        "market.n_consumers=8000",
        "pilot.sample_share=0.5",
        "strategy.end_day=21",
        f"hydra.run.dir={tmp_path}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stages = {s["stage"]: s["seconds"] for s in result["stages"]}
    assert len(stages) == 6 and all(v >= 0 for v in stages.values())
    loop = sum(v for k, v in stages.items() if not k.startswith("oracle"))
    assert result["loop_seconds"] == pytest.approx(loop)
    assert result["regret"] == pytest.approx(result["oracle_profit"] - result["realised_profit"])
    assert result["pilot_size"] == pytest.approx(4000, rel=0.1)
    assert json.loads((tmp_path / "metrics.json").read_text()) == result


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_x_learner_recovers_true_uplift(seed: int) -> None:
    """specialty_retail, pilot of 300k consumers (both e-mail arms and control, 70 % train),
    X-learner on early-stopped HistGradientBoosting (conf/estimator/x_hgb_early_stop.yaml):
    for every arm its true Qini (ranking valued with the closed-form uplift) is clearly
    above random (> 0.05) and its PEHE below that of the constant average-effect prediction.
    Measured when written (seeds 0, 1, 2): PEHE / constant 0.97, 0.93, 0.98 (e-mail) and
    0.94, 0.97, 0.97 (e-mail + offer); true Qini 0.11-0.14.  At a 100k pilot the plain
    e-mail arm, whose uplift varies least, misses that standard (ratio 0.99-1.06): see
    the estimators study (results/sweeps/estimators.csv) for PEHE against pilot size."""
    from sim.uplift.config import EstimatorConfig
    from sim.uplift.estimators import make_estimator
    from sim.uplift.evaluation import pehe, true_qini

    cfg = build_run_config(
        compose_run("specialty_retail", "one_to_one", seed, **{"market.n_consumers": 300000})
    )
    p = run_pilot(cfg.market, seed, PilotConfig(sample_share=1.0))
    t = p.table
    train = np.random.default_rng(seed).random(len(t)) < 0.7
    path = Path(CONF) / "estimator" / "x_hgb_early_stop.yaml"
    est_cfg = EstimatorConfig.from_dict({str(k): v for k, v in OmegaConf.load(path).items()})
    est = make_estimator(est_cfg, seed)
    est.fit(
        p.X[train],
        t.arm.to_numpy().astype(str)[train],
        t.y.to_numpy()[train],
        propensity=p.propensity,
    )
    pred = est.predict(p.X[~train])
    for j, arm in enumerate(est.arms_):
        tau = t[f"tau_expected_{arm}"].to_numpy()[~train]
        constant = pehe(tau, np.full(tau.shape, tau.mean()))
        assert true_qini(tau, pred[:, j]) > 0.05, arm
        assert pehe(tau, pred[:, j]) < constant, (arm, pehe(tau, pred[:, j]), constant)
