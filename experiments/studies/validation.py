"""Validation studies: what the holdout measures against the truths, and step-size invariance.

*Estimand* (:func:`estimand_jobs`): every strategy option at its preset setting, with all
four worlds (``truth="full"``), over many seeds.  Per strategy: the holdout's difference in
means against its own estimand (own contacts removed, word of mouth as realised: it should
be unbiased, |z| <= 3) and against the total effect (campaign vs no campaign, everyone:
the marketer's bias), each with its standard error over seeds and z.

*Step size* (:func:`step_jobs`): the same strategies with ``step_days`` 1 and 0.5 on the same
seeds; halving the step must not move any strategy's true total profit by more than its
seed-to-seed standard error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.studies.jobs import CellJob, Contender, frozen, provenance_of

OPTIONS = (
    "mass",
    "segmented",
    "triggered",
    "contextual",
    "one_to_one",
    "one_to_one_propensity",
    "hybrid",
)


def estimand_jobs(preset: str, seeds: list[int], market: dict) -> list[CellJob]:
    contenders = tuple(Contender(o, o) for o in OPTIONS)
    return [
        CellJob("estimand", preset, int(s), contenders, market=frozen(market), truth="full")
        for s in seeds
    ]


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan


def estimand_summary(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for option in OPTIONS:
        g = rows[rows["contender"] == option]
        if g.empty:
            continue
        measured = g["profit_measured"].to_numpy(float)
        own = g["profit_holdout_estimand"].to_numpy(float)
        total = g["profit_true"].to_numpy(float)
        err, err_se = _mean_se(measured - own)
        bias, bias_se = _mean_se(measured - total)
        out.append(
            {
                "strategy": option,
                "preset": g["preset"].iloc[0],
                "n_seeds": len(g),
                "n_consumers": int(g["n_consumers"].iloc[0]),
                "measured_mean": float(measured.mean()),
                "holdout_estimand_mean": float(own.mean()),
                "direct_mean": float(g["profit_direct"].astype(float).mean()),
                "total_mean": float(total.mean()),
                "measured_minus_estimand": err,
                "measured_minus_estimand_se": err_se,
                "z_estimand": err / err_se if err_se else math.nan,
                "bias_vs_total": bias,
                "bias_vs_total_se": bias_se,
                "z_total": bias / bias_se if bias_se else math.nan,
                "pulled_forward_share_mean": float(g["pulled_forward_share"].astype(float).mean()),
                **provenance_of(g),
            }
        )
    return pd.DataFrame(out)


def step_jobs(preset: str, seeds: list[int], market: dict, steps: list[float]) -> list[CellJob]:
    contenders = tuple(Contender(o, o) for o in OPTIONS)
    return [
        CellJob(
            "step_size",
            preset,
            int(s),
            contenders,
            market=frozen({**market, "step_days": float(step)}),
            tags=(("step_days", float(step)),),
        )
        for step in steps
        for s in seeds
    ]


def step_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: mean true total profit per step size, their difference, the
    seed-to-seed SE at the coarser step, and whether the difference stays within it."""
    out = []
    steps = sorted(set(rows["tag.step_days"]), reverse=True)
    coarse, fine = steps[0], steps[-1]
    for option in OPTIONS:
        g = rows[rows["contender"] == option]
        if g.empty:
            continue
        a = g[g["tag.step_days"] == coarse].set_index("seed")["profit_true"].astype(float)
        b = g[g["tag.step_days"] == fine].set_index("seed")["profit_true"].astype(float)
        a, b = a.align(b, join="inner")
        mean_a, se_a = _mean_se(a.to_numpy())
        diff = float(b.mean() - a.mean())
        paired_se = _mean_se((b - a).to_numpy())[1]
        out.append(
            {
                "strategy": option,
                "preset": g["preset"].iloc[0],
                "n_seeds": len(a),
                "n_consumers": int(g["n_consumers"].iloc[0]),
                "step_coarse": coarse,
                "step_fine": fine,
                "profit_true_coarse": mean_a,
                "profit_true_fine": float(b.mean()),
                "difference": diff,
                "seed_se": se_a,
                "paired_se": paired_se,
                "within_seed_se": abs(diff) <= se_a,
                **provenance_of(g),
            }
        )
    return pd.DataFrame(out)
