"""The uplift lab on simulated pilots: estimators scored against the truth, and the
closed loop from pilot to campaign.

:func:`evaluate_pilot` fits estimators on a simulated randomised pilot (train part) and
scores them on the test part both as on real data (Qini, AUUC with bootstrap intervals,
:func:`sim.uplift.real.evaluate_experiment`) and against the truth only a simulator has:
the true Qini (targeting by score, valued with the expected uplift), PEHE against the
closed-form expected uplift (and against the realised, noisy one), uplift in the top 10 %,
and the profit curve: true incremental profit of targeting the top x % by score versus
the oracle ordering and random targeting.

:func:`closed_loop` trains the CausalML scorer on the whole pilot, runs a fresh
one-to-one campaign with it (new random future, same population), and reports predicted
against realised incremental profit and the regret against the oracle scorer.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from sim.datasets import ExperimentData
from sim.economics import EconomicsConfig
from sim.experiment import RunConfig, run_experiment
from sim.population import Population
from sim.strategies.causalml import CausalMLScorer
from sim.strategies.one_to_one import OneToOne, OneToOneConfig
from sim.uplift.config import EstimatorConfig
from sim.uplift.evaluation import (
    best_depth_profit,
    depth_profit,
    pehe,
    profit_curve,
    true_qini,
    uplift_at_top_k,
)
from sim.uplift.pilot import CONTROL, PilotResult
from sim.uplift.real import evaluate_experiment

#: Targeting depth of the fixed-budget profit comparison: the one-to-one strategy's default
#: ``max_share`` (a fifth of the market per wave).
TARGET_DEPTH = 0.2


def pilot_experiment(pilot: PilotResult) -> ExperimentData:
    """The pilot as an :class:`ExperimentData` (what a marketer would analyse)."""
    t = pilot.table
    return ExperimentData(
        X=pilot.X,
        feature_names=pilot.feature_names,
        treatment=t["arm"].to_numpy().astype(str),
        y=t["y"].to_numpy(),
        control=CONTROL,
        arms=sorted(pilot.arms),
        outcome="conversion",
    )


def evaluate_pilot(
    pilot: PilotResult,
    estimators: list[EstimatorConfig],
    econ: EconomicsConfig,
    seed: int,
    test_size: float = 0.3,
    n_boot: int = 200,
    figure_dir: str | None = None,
) -> dict[str, Any]:
    """Observed and true metrics per estimator and arm (see module doc)."""
    t = pilot.table
    data = pilot_experiment(pilot)
    spend = t["monetary"].to_numpy(np.float64)
    freq = t["frequency"].to_numpy(np.float64)
    basket = np.where(freq > 0, spend / np.maximum(freq, 1), spend.sum() / max(freq.sum(), 1))
    arm_cfg = {a.name: a for a in pilot.config.arms}
    curves: dict[tuple[str, str], Any] = {}

    def truth(estimator: str, arm: str, rows: np.ndarray, score: np.ndarray) -> dict[str, Any]:
        treated_rows = rows  # all test rows of control or this arm: every consumer has a truth
        tau_exp = t[f"tau_expected_{arm}"].to_numpy()[treated_rows]
        tau_real = t[f"tau_{arm}"].to_numpy()[treated_rows]
        a = arm_cfg[arm]
        unit = econ.contact_cost[a.channel] + econ.personalisation_cost_per_contact * a.depth
        b = basket[treated_rows]
        # Value in currency: margin x incremental revenue (expected uplift x basket), minus
        # the contact's unit cost, minus the discount on every redemption under treatment.
        curve = profit_curve(
            score,
            tau_exp * b,
            econ.margin_rate,
            unit,
            offer_cost_per_redemption=1.0,
            p_redeem=a.discount * b * t[f"y_{arm}"].to_numpy()[treated_rows],
        )
        curves[(estimator, arm)] = curve
        return {
            "qini_true": true_qini(tau_exp, score),
            "qini_true_realised": true_qini(tau_real, score),
            "pehe": pehe(tau_exp, score),
            "pehe_constant": pehe(tau_exp, np.full(score.shape, tau_exp.mean())),
            "pehe_realised": pehe(tau_real, score),
            "uplift_top10_true": uplift_at_top_k(score, 0.1, true_uplift=tau_exp),
            "profit_at_best_depth": best_depth_profit(curve),
            "profit_at_depth": depth_profit(curve, TARGET_DEPTH),
        }

    out = evaluate_experiment(
        data, estimators, seed, test_size, n_boot=n_boot, figure_dir=figure_dir, score_hook=truth
    )
    out["true_ate"] = {a: float(t[f"tau_{a}"].mean()) for a in pilot.arms}
    out["expected_ate"] = {a: float(t[f"tau_expected_{a}"].mean()) for a in pilot.arms}
    out["profit_curves"] = {f"{e}|{a}": c.to_dict(orient="list") for (e, a), c in curves.items()}
    return out


def closed_loop(
    run_cfg: RunConfig,
    pilot: PilotResult,
    estimator: EstimatorConfig,
    population: Population,
    campaign_seed: int,
) -> dict[str, Any]:
    """Pilot -> CausalML scorer -> fresh one-to-one campaign, against the oracle."""
    base = run_cfg.strategy
    if not isinstance(base, OneToOneConfig):
        raise ValueError("closed_loop needs a one_to_one strategy config")
    if not run_cfg.truth:
        raise ValueError("closed_loop needs the true profit (a run config with truth=true)")
    kinds = tuple(pilot.config.data_kinds)
    t0 = time.perf_counter()
    scorer = CausalMLScorer(kinds, run_cfg.seed, estimator=estimator, pilot=pilot.config)
    t = pilot.table
    scorer.fit(
        pilot.X,
        t["arm"].to_numpy().astype(str),
        t["y"].to_numpy(),
        pilot.feature_names,
        pilot.propensity,
    )
    fit_s = time.perf_counter() - t0
    learned_cfg = dataclasses.replace(base, scorer="causalml")
    cfg = dataclasses.replace(run_cfg, seed=campaign_seed, strategy=learned_cfg)
    econ = run_cfg.economics

    def make_learned() -> OneToOne:
        return OneToOne(learned_cfg, campaign_seed, econ, scorer=scorer)

    t1 = time.perf_counter()
    learned = run_experiment(cfg, strategy_factory=make_learned, population=population)
    campaign_s = time.perf_counter() - t1
    oracle_cfg = dataclasses.replace(cfg, strategy=dataclasses.replace(base, scorer="oracle"))
    t2 = time.perf_counter()
    oracle = run_experiment(oracle_cfg, population=population)
    oracle_s = time.perf_counter() - t2
    strategy = learned.campaign
    assert isinstance(strategy, OneToOne)
    predicted = 0.0
    for plan, chosen in zip(strategy.plans, strategy.selected, strict=True):
        predicted += float(plan.value[chosen].sum())
    fixed = sum(learned.cost[k] for k in ("platform", "data")) + float(learned.cost["content"])
    realised = learned.incremental_profit.true
    oracle_profit = oracle.incremental_profit.true
    assert realised is not None and oracle_profit is not None  # truth=true
    return {
        "fit_seconds": fit_s,
        "campaign_seconds": campaign_s,  # includes scoring and the twin-world truth
        "score_seconds": scorer.score_seconds,
        "n_scored": scorer.n_scored,
        "oracle_seconds": oracle_s,
        "predicted_profit_before_fixed_costs": predicted,
        "realised_profit_before_fixed_costs": realised + fixed,
        "realised_profit": realised,
        "oracle_profit": oracle_profit,
        "regret": oracle_profit - realised,
        "causalml_contacts": learned.contacts,
        "oracle_contacts": oracle.contacts,
    }
