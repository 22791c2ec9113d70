"""The uplift lab on simulated pilots: potential outcomes, recovery, closed loop, entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.experiment import build_run_config
from sim.uplift.pilot import CONTROL, PilotConfig, run_pilot
from tests.facts import CONF, compose_run, run


@pytest.fixture(scope="module")
def pilot():
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


def test_closed_form_uplift_matches_realised(pilot) -> None:
    """Mean closed-form expected uplift lies within 3 SE of the mean realised uplift."""
    t = pilot.table
    for arm in pilot.arms:
        real = t[f"tau_{arm}"].to_numpy()
        expected = t[f"tau_expected_{arm}"].to_numpy()
        se = real.std(ddof=1) / np.sqrt(len(real))
        assert abs(real.mean() - expected.mean()) < 3 * se + 0.002


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


def test_uplift_entry_point_on_hillstrom(tmp_path: Path) -> None:
    """metrics.json carries per arm ate with ate_ci equal to the file's difference in means,
    and per estimator qini/auuc and fit_seconds."""
    from experiments.uplift import run_uplift
    from sim.datasets import load_hillstrom

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("uplift", overrides=["dataset=hillstrom", "n_boot=0", "estimator=t_lightgbm"])
    result = run_uplift(cfg, tmp_path)
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
    from experiments.uplift import run_uplift

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(
            "uplift",
            overrides=[
                "dataset=sim",
                "n_boot=0",
                "market.n_consumers=6000",
                "estimator=t_lightgbm",
                "strategy.end_day=30",
            ],
        )
    result = run_uplift(cfg, tmp_path)
    for arm, entry in result["estimators"]["t_lightgbm"]["arms"].items():
        assert {"qini_true", "pehe", "profit_at_best_depth"} <= set(entry), arm
        best = entry["profit_at_best_depth"]
        assert best["oracle"] >= best["model"] - 1e-9 and best["oracle"] >= best["random"] - 1e-9
    loop = result["closed_loop"]
    assert loop["regret"] == pytest.approx(loop["oracle_profit"] - loop["realised_profit"])
    assert (tmp_path / "profit_curves.png").exists()


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
    the estimators study (results/estimators.csv) for PEHE against pilot size."""
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
