"""The tuned comparison: every strategy at its own best, judged on fresh seeds, in pairs.

Stage 1, tuning (:class:`TuneJob`): for each preset, each family of
:data:`~experiments.studies.tuning.FAMILIES` is tuned with Optuna on the *training* seeds,
twice: on what a marketer measures (the holdout's incremental profit, every pilot and test
paid for) and on the truth (true total incremental profit: the family's upper bound).
Stage 2, evaluation (:func:`evaluation_jobs`): the tuned settings run on fresh seeds, all
contenders of a preset sharing each seed's market (common random numbers).
Stage 3, verdicts (:func:`verdicts`): paired differences over seeds with t-intervals:
the best one-to-one a marketer could field (learned or propensity scorer) against the best
alternative, the winner against the runner-up, and the value of perfect information (the
oracle scorer against the learned one), each with the seeds its resolution would need.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.store import provenance
from experiments.studies.jobs import CellJob, Contender, frozen, market_for, provenance_of
from experiments.studies.paired import NO_CLEAR_WINNER, paired, seeds_needed
from experiments.studies.tuning import FAMILIES, tune
from sim import presets
from sim.experiment import Cell

OBJECTIVES = ("measured", "truth")
ONE_TO_ONE = ("one_to_one_learned", "one_to_one_propensity")
"""The one-to-one families a marketer can field (the oracle is the value of perfect
information, never a contender)."""


@dataclass(frozen=True)
class TuneJob:
    """Tune one family in one preset on the training seeds, for one objective."""

    preset: str
    family: str
    objective: str
    train_seeds: tuple[int, ...]
    n_trials: int
    market: tuple[tuple[str, Any], ...] = ()
    sampler_seed: int = 0

    @property
    def key(self) -> str:
        import hashlib

        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_tune_job(job: TuneJob) -> pd.DataFrame:
    """Optuna over the family's knobs; one row per trial (``best`` marks the chosen one)."""
    tic = time.perf_counter()
    family = FAMILIES[job.family]
    market = presets.market(job.preset, **dict(job.market))
    econ_name = job.preset if job.preset in presets.options("economics") else "default"
    econ = presets.economics(econ_name)
    cells = [Cell(market, econ, seed) for seed in job.train_seeds]
    truth = "total" if job.objective == "truth" else "none"

    def objective(overrides: dict[str, Any]) -> float:
        strategy = presets.strategy(family.option, **overrides)
        values = []
        for cell in cells:
            r = cell.run(strategy, truth=truth)
            p = r.incremental_profit
            v = p.true if job.objective == "truth" else p.measured
            values.append(float("nan") if v is None else v)
        return float(np.mean(values))

    study = tune(family, objective, job.n_trials, job.sampler_seed)
    prov = provenance()
    best = study.best_trial.number
    rows = [
        {
            "preset": job.preset,
            "family": job.family,
            "option": family.option,
            "objective": job.objective,
            "trial": t.number,
            "value": t.value,
            "overrides": json.dumps(t.user_attrs["overrides"], sort_keys=True),
            "best": t.number == best,
            "train_seeds": " ".join(map(str, job.train_seeds)),
            "n_consumers": market.n_consumers,
            "config_hash": job.key,
            "git_rev": prov.get("git_rev"),
            "job_seconds": time.perf_counter() - tic,
        }
        for t in study.trials
    ]
    return pd.DataFrame(rows)


def tune_jobs(profile: dict[str, Any]) -> list[TuneJob]:
    t = profile["tuning"]
    return [
        TuneJob(
            preset=preset,
            family=family,
            objective=objective,
            train_seeds=tuple(t["train_seeds"]),
            n_trials=int(t["n_trials"]),
            market=frozen(
                market_for(
                    {**profile["market"], **t.get("market", {})},
                    preset,
                    profile.get("preset_market"),
                )
            ),
            sampler_seed=int(t.get("sampler_seed", 0)),
        )
        for preset in profile["presets"]
        for family in profile["families"]
        for objective in OBJECTIVES
    ]


def best_settings(trials: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(preset, family, objective) -> the tuned overrides."""
    best = trials[trials["best"]]
    cols = zip(best["preset"], best["family"], best["objective"], best["overrides"], strict=True)
    return {(str(p), str(f), str(o)): json.loads(str(ov)) for p, f, o, ov in cols}


def contender_name(family: str, objective: str) -> str:
    return f"{family}|{objective}"


def evaluation_jobs(profile: dict[str, Any], trials: pd.DataFrame) -> list[CellJob]:
    """Every tuned setting of a preset on each fresh seed (one job per preset and seed)."""
    settings = best_settings(trials)
    jobs = []
    for preset in profile["presets"]:
        contenders = tuple(
            Contender(contender_name(f, o), FAMILIES[f].option, frozen(settings[(preset, f, o)]))
            for f in profile["families"]
            for o in OBJECTIVES
        )
        for seed in profile["evaluation"]["seeds"]:
            jobs.append(
                CellJob(
                    study="tuned",
                    preset=preset,
                    seed=int(seed),
                    contenders=contenders,
                    market=frozen(
                        market_for(profile["market"], preset, profile.get("preset_market"))
                    ),
                )
            )
    return jobs


def summary(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per preset and contender: mean true and measured profit over seeds, t-interval."""
    from scipy import stats

    out = []
    for (preset, contender), g in rows.groupby(["preset", "contender"], sort=True):
        family, objective = str(contender).split("|")
        y = g["profit_true"].to_numpy(float)
        n = y.size
        half = (
            float(stats.t.ppf(0.5 + level / 2, n - 1) * y.std(ddof=1) / np.sqrt(n))
            if n > 1
            else float("nan")
        )
        out.append(
            {
                "preset": preset,
                "family": family,
                "objective": objective,
                "n_seeds": n,
                "n_consumers": int(g["n_consumers"].iloc[0]),
                "profit_true_mean": float(y.mean()),
                "profit_true_lo": float(y.mean() - half),
                "profit_true_hi": float(y.mean() + half),
                "profit_measured_mean": float(g["profit_measured"].mean()),
                "roi_true_mean": float(g["roi_true"].astype(float).mean()),
                "contacts_mean": float(g["contacts"].mean()),
                "response_rate_mean": float(g["response_rate"].mean()),
                "overrides": g["strategy_overrides"].iloc[0],
                **provenance_of(g),
            }
        )
    return pd.DataFrame(out)


def verdicts(rows: pd.DataFrame, families: list[str], level: float = 0.95) -> pd.DataFrame:
    """Paired verdicts per preset on the true total profit of the measured-tuned settings."""
    out = []
    for preset, g in rows.groupby("preset", sort=True):
        wide = g.pivot_table(index="seed", columns="contender", values="profit_true")

        def col(family: str, objective: str = "measured", wide: pd.DataFrame = wide) -> np.ndarray:
            return wide[contender_name(family, objective)].to_numpy(float)

        fielded = [f for f in families if f != "one_to_one_oracle"]
        means = {f: float(col(f).mean()) for f in fielded}
        one = max((f for f in fielded if f in ONE_TO_ONE), key=lambda f: means[f], default=None)
        alt = max((f for f in fielded if f not in ONE_TO_ONE), key=lambda f: means[f])
        ranked = sorted(fielded, key=lambda f: -means[f])
        comparisons = [("winner vs runner-up", ranked[0], ranked[1])]
        if one is not None:
            comparisons.insert(0, ("best one-to-one vs best alternative", one, alt))
        if "one_to_one_oracle" in families and "one_to_one_learned" in families:
            comparisons.append(("perfect information", "one_to_one_oracle", "one_to_one_learned"))
        for what, a, b in comparisons:
            pr = paired(a, b, col(a), col(b), level)
            sd = float(np.std(col(a) - col(b), ddof=1)) if len(wide) > 1 else float("nan")
            out.append(
                {
                    "preset": preset,
                    "comparison": what,
                    "a": a,
                    "b": b,
                    "n_seeds": pr.n_seeds,
                    "mean_diff": pr.mean,
                    "se": pr.se,
                    "lo": pr.lo,
                    "hi": pr.hi,
                    "verdict": pr.verdict,
                    "resolved": pr.verdict != NO_CLEAR_WINNER,
                    "seeds_needed": seeds_needed(sd, pr.mean),
                    "n_consumers": int(g["n_consumers"].iloc[0]),
                    **provenance_of(
                        g[
                            g["contender"].isin(
                                [contender_name(a, "measured"), contender_name(b, "measured")]
                            )
                        ]
                    ),
                }
            )
    return pd.DataFrame(out)
