"""Study jobs: one market and seed (a *cell*) with its contenders, run once, stored, resumed.

A :class:`CellJob` names a market preset with overrides, an economics preset with
overrides, the contenders (strategy options with overrides) and a seed; running it gives one
row per contender with what the marketer measured and what was true, plus provenance
(git commit, the job's config hash, seed, consumers).  Jobs are keyed by the hash of their
whole config, so a study folder can be reused and a cut-off run resumes from what finished:
each job's rows are written atomically to ``<work>/<study>/<hash>.parquet`` and a job whose
file exists is not run again.  :meth:`JobRunner.run` runs the missing jobs with joblib (one thread
per worker), or on a Ray cluster through joblib's Ray backend; results do not depend on the
launcher or the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from joblib import Parallel, delayed

from experiments.store import atomic_write_parquet, provenance
from sim import presets
from sim.experiment import RunConfig, RunResult, run_cell

Overrides = tuple[tuple[str, Any], ...]


def market_for(
    base: dict[str, Any], preset: str, per_preset: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """A study's market overrides for ``preset``: the study's, then the preset's own (e.g. a
    B2B market keeps its few buyers whatever size the retail worlds run at)."""
    return {**base, **(per_preset or {}).get(preset, {})}


def frozen(overrides: dict[str, Any] | None) -> Overrides:
    """Overrides as a sorted tuple (hashable, order-free)."""
    return tuple(sorted((overrides or {}).items()))


@dataclass(frozen=True)
class Contender:
    """A strategy option with overrides, under a display name."""

    name: str
    option: str
    overrides: Overrides = ()

    def config(self) -> Any:
        return presets.strategy(self.option, **dict(self.overrides))


@dataclass(frozen=True)
class CellJob:
    """Contenders on one market and seed.  ``tags`` label the row (trait, level, ...)."""

    study: str
    preset: str
    seed: int
    contenders: tuple[Contender, ...]
    market: Overrides = ()
    economics: Overrides = ()
    truth: str = "total"
    tags: Overrides = ()

    @property
    def key(self) -> str:
        """Hash of the whole job: its identity in the study folder."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def configs(self) -> dict[str, RunConfig]:
        market = presets.market(self.preset, **dict(self.market))
        econ_name = self.preset if self.preset in presets.options("economics") else "default"
        econ = presets.economics(econ_name, **dict(self.economics))
        return {
            c.name: RunConfig(seed=self.seed, market=market, strategy=c.config(), economics=econ)
            for c in self.contenders
        }


def result_row(result: RunResult) -> dict[str, Any]:
    """The columns a study keeps of one contender's result (truth columns None where the
    cell did not run the worlds they need)."""
    p, c = result.incremental_profit, result.incremental_conversions
    pf = result.pull_forward
    return {
        "profit_measured": p.measured,
        "profit_measured_se": p.measured_se,
        "profit_true": p.true,
        "profit_direct": p.direct,
        "profit_holdout_estimand": p.holdout_estimand,
        "pulled_forward_share": None if pf is None else pf.share,
        "conversions_measured": c.measured,
        "conversions_true": c.true,
        "roi_measured": result.roi.measured,
        "roi_true": result.roi.true,
        "cost": result.cost["total"],
        "contacts": result.contacts,
        "response_rate": result.response_rate,
        "opt_outs": result.opt_outs,
        "backlash_events": result.backlash_events,
    }


def run_cell_job(job: CellJob) -> pd.DataFrame:
    """Run one job: every contender on the cell, sharing population and baseline world."""
    tic = time.perf_counter()
    configs = job.configs()
    results = run_cell(configs, truth=job.truth)
    seconds = time.perf_counter() - tic
    prov = provenance()
    n = next(iter(configs.values())).market.n_consumers
    rows = []
    for c in job.contenders:
        rows.append(
            {
                "study": job.study,
                "preset": job.preset,
                **{f"tag.{k}": v for k, v in job.tags},
                "contender": c.name,
                "option": c.option,
                "strategy_overrides": json.dumps(dict(c.overrides), sort_keys=True),
                "seed": job.seed,
                "n_consumers": n,
                **result_row(results[c.name]),
                "config_hash": job.key,
                "git_rev": prov.get("git_rev"),
                "job_seconds": seconds,
            }
        )
    return pd.DataFrame(rows)


def provenance_of(rows: pd.DataFrame) -> dict[str, str]:
    """What produced a summary row: the seeds, config hashes and git revisions of the job
    rows it was computed from (each set sorted, space-separated)."""

    def joined(col: str) -> str:
        if col not in rows:
            return ""
        return " ".join(str(v) for v in sorted({v for v in rows[col].tolist() if v == v}))

    return {
        "seeds": joined("seed"),
        "config_hashes": joined("config_hash"),
        "git_rev": joined("git_rev"),
    }


def stamped(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the :func:`provenance_of` ``rows`` and their market sizes on every row."""
    sizes = " ".join(str(n) for n in sorted(set(rows["n_consumers"].tolist())))
    return table.assign(n_consumers=sizes, **provenance_of(rows))


@dataclass
class JobRunner:
    """Runs jobs into a study folder, skipping those already stored (resume)."""

    work: Path
    n_jobs: int = 1
    backend: str = "loky"
    progress: Callable[[str], None] = field(default=print)

    def path(self, study: str, key: str) -> Path:
        return self.work / study / f"{key}.parquet"

    def run(
        self, jobs: Sequence[Any], run_one: Callable[[Any], pd.DataFrame], study: str
    ) -> pd.DataFrame:
        todo = [j for j in jobs if not self.path(study, j.key).exists()]
        done = len(jobs) - len(todo)
        self.progress(f"{study}: {len(jobs)} jobs, {done} already stored, {len(todo)} to run")
        if todo:
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            if self.backend == "ray":  # joblib's Ray backend must be registered first
                from ray.util.joblib import register_ray

                register_ray()
            tasks = (delayed(_run_and_store)(j, run_one, self.path(study, j.key)) for j in todo)
            with Parallel(n_jobs=self.n_jobs, backend=self.backend, return_as="generator") as par:
                for i, label in enumerate(par(tasks), 1):
                    self.progress(f"  {study} [{done + i}/{len(jobs)}] {label}")
        return pd.concat(
            [pd.read_parquet(self.path(study, j.key)) for j in jobs], ignore_index=True
        )


def _run_and_store(job: Any, run_one: Callable[[Any], pd.DataFrame], path: Path) -> str:
    tic = time.perf_counter()
    rows = run_one(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(path, rows)
    return f"{job.key} ({time.perf_counter() - tic:.1f} s)"
