"""Every study, from tuning to the claims table: ``python -m experiments.reproduce profile=full``.

``profile`` (``conf/profile/<name>.yaml``) fixes the sizes, seeds and trial counts; ``tiny``
runs everything in a few minutes and writes ``results/tiny/``, ``full`` writes the
committed ``results/``.  Each job is stored under the profile's ``work`` folder as soon as
it finishes, keyed by its whole config, so a run that is cut off resumes from what
finished, and re-running changes nothing that is done.  Other keys (``key=value``):
``out`` and ``work`` (folders), ``n_jobs`` (parallel workers, default 2), ``backend``
(``loky``; ``ray`` runs the jobs on a Ray cluster through joblib, ``ray.init()`` from the
environment), ``studies`` (a comma list, default all, in dependency order).

Stages: estimand (the holdout against the truths) -> step size -> tuning -> tuned
comparison -> phase diagram -> attribution (one trait at a time, mechanisms off) ->
sensitivity (Morris, Sobol, decision map) -> granularity -> claims.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from experiments.store import atomic_write_bytes
from experiments.studies import plots as figs
from experiments.studies import sensitivity as sens
from experiments.studies.claims import claims_table
from experiments.studies.jobs import JobRunner, run_cell_job, stamped
from experiments.studies.tuned import (
    evaluation_jobs,
    run_tune_job,
    summary,
    tune_jobs,
    verdicts,
)
from experiments.studies.validation import (
    estimand_jobs,
    estimand_summary,
    step_jobs,
    step_summary,
)
from experiments.studies.variants import (
    flips,
    mechanism_variants,
    phase_variants,
    trait_variants,
    variant_jobs,
    variant_summary,
)

CONF = Path(__file__).resolve().parent.parent / "conf" / "profile"
STUDIES = (
    "estimand",
    "step_size",
    "tuning",
    "tuned",
    "phase",
    "attribution",
    "sensitivity",
    "granularity",
    "claims",
)

MECHANISMS: dict[str, dict[str, Any]] = {
    "word of mouth": {"awareness.wom_gain": 0.0, "awareness.distrust_gain": 0.0},
    "creepiness and backlash": {"creepiness.threshold_median": 1e6},
    "awareness from contacts": {
        f"channels.{c}.awareness_gain": 0.0
        for c in ("email", "sms", "push", "social", "direct_mail", "phone", "display")
    },
    "pull-forward": {"purchase.dip_depth": 0.0},
}
"""Mechanisms switched off in the attribution study (market overrides)."""


class UsageError(ValueError):
    """A bad command line; the message names the key and the valid choices."""


def load_profile(argv: Sequence[str]) -> dict[str, Any]:
    """The profile named by ``profile=`` with the other ``key=value`` overrides."""
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise UsageError(f"arguments must be key=value, got {bad}")
    name = args.pop("profile", "tiny")
    names = sorted(p.stem for p in CONF.glob("*.yaml"))
    if name not in names:
        raise UsageError(f"profile={name!r} is not a profile; valid choices: {', '.join(names)}")
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    known = {"out", "work", "n_jobs", "backend", "studies"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise UsageError(
            f"unknown key(s) {unknown}; valid keys: profile, {', '.join(sorted(known))}"
        )
    profile: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    profile["out"] = args.get("out", profile["out"])
    profile["work"] = args.get("work", profile["work"])
    profile["n_jobs"] = int(args.get("n_jobs", 2))
    profile["backend"] = args.get("backend", "loky")
    studies = args.get("studies", ",".join(STUDIES)).split(",")
    wrong = [s for s in studies if s not in STUDIES]
    if wrong:
        raise UsageError(f"studies: {wrong} unknown; valid choices: {', '.join(STUDIES)}")
    profile["studies"] = studies
    return profile


#: Columns kept in the job store but not in the committed tables (they vary run to run).
VOLATILE = ("job_seconds",)


def write_csv(out: Path, name: str, table: pd.DataFrame) -> None:
    """Write a study table (atomically); timing columns stay in the job store."""
    out.mkdir(parents=True, exist_ok=True)
    table = table.drop(columns=[c for c in VOLATILE if c in table.columns])
    atomic_write_bytes(out / name, table.to_csv(index=False, float_format="%.6g").encode())


def sub(profile: dict[str, Any], study: str) -> dict[str, Any]:
    """The market size of a study: its own ``market`` over the profile's."""
    return {**profile["market"], **profile[study].get("market", {})}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(args):
        print(__doc__)
        return 0
    try:
        profile = load_profile(args)
    except UsageError as exc:
        print(f"Invalid command: {exc}", file=sys.stderr)
        return 2
    out, work = Path(profile["out"]), Path(profile["work"])
    runner = JobRunner(work, n_jobs=profile["n_jobs"], backend=profile["backend"])
    families = list(profile["families"])
    todo = profile["studies"]
    tic = time.perf_counter()
    print(f"profile {profile['name']}: studies {', '.join(todo)} -> {out} (jobs in {work})")

    if "estimand" in todo:
        e = profile["estimand"]
        jobs = estimand_jobs(e["preset"], e["seeds"], sub(profile, "estimand"))
        write_csv(out, "estimand.csv", estimand_summary(runner.run(jobs, run_cell_job, "estimand")))

    if "step_size" in todo:
        st = profile["step_size"]
        jobs = step_jobs(st["preset"], st["seeds"], sub(profile, "step_size"), st["steps"])
        write_csv(out, "step_size.csv", step_summary(runner.run(jobs, run_cell_job, "step_size")))

    trials = runner.run(tune_jobs(profile), run_tune_job, "tuning")
    if "tuning" in todo:
        write_csv(out, "tuning.csv", trials)

    if "tuned" in todo:
        rows = runner.run(evaluation_jobs(profile, trials), run_cell_job, "tuned")
        write_csv(out, "tuned_rows.csv", rows)
        write_csv(out, "tuned_comparison.csv", summary(rows))
        write_csv(out, "verdicts.csv", verdicts(rows, families))
        figs.tuned_figure(summary(rows), out / "figures" / "tuned_comparison.png")

    if "phase" in todo:
        p = profile["phase"]
        jobs = variant_jobs(
            "phase",
            phase_variants(p["preset"], p["tribalism"], p["tolerance"]),
            p["seeds"],
            families,
            trials,
            sub(profile, "phase"),
            profile.get("preset_market"),
        )
        table = variant_summary(runner.run(jobs, run_cell_job, "phase"))
        write_csv(out, "phase.csv", table)
        figs.phase_figure(table, out / "figures" / "phase.png")

    if "attribution" in todo:
        a = profile["attribution"]
        variants = []
        for preset in a["presets"]:
            variants += trait_variants(preset) if a["traits"] else trait_variants(preset)[:1]
            variants += mechanism_variants(preset, MECHANISMS)
        jobs = variant_jobs(
            "attribution",
            variants,
            a["seeds"],
            families,
            trials,
            sub(profile, "attribution"),
            profile.get("preset_market"),
        )
        rows = runner.run(jobs, run_cell_job, "attribution")
        write_csv(out, "attribution_rows.csv", rows)
        write_csv(out, "attribution.csv", flips(variant_summary(rows)))

    if "sensitivity" in todo:
        run_sensitivity(profile, runner, trials, families, out)

    if "granularity" in todo:
        run_granularity(profile, runner, trials, out)

    if "claims" in todo:
        write_csv(out, "claims.csv", claims_table(out))

    print(f"done in {time.perf_counter() - tic:.0f} s; tables in {out}")
    return 0


def run_sensitivity(
    profile: dict[str, Any], runner: JobRunner, trials: pd.DataFrame, families: list[str], out: Path
) -> None:
    s = profile["sensitivity"]
    market = sub(profile, "sensitivity")

    def at_points(
        study: str, params: tuple[sens.Parameter, ...], X: np.ndarray
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The job rows at the points ``X`` of ``params`` and Δ at each point, in order."""
        labels = [f"{study[0]}{i:05d}" for i in range(len(X))]
        variants = [
            sens.point_variant(s["preset"], params, x, lab)
            for x, lab in zip(X, labels, strict=True)
        ]
        rows = runner.run(
            variant_jobs(study, variants, [s["seed"]], families, trials, market),
            run_cell_job,
            study,
        )
        return rows, sens.delta(rows).reindex(labels).to_numpy(float)

    params = sens.PARAMETERS
    X = sens.morris_points(params, s["morris_trajectories"], s["seed"])
    rows, y = at_points("morris", params, X)
    morris = sens.morris_table(params, X, y, s["seed"])
    write_csv(out, "morris.csv", stamped(morris, rows))

    top = tuple(p for p in params if p.name in set(morris["parameter"].head(s["top"])))
    rows, ys = at_points("sobol", top, sens.sobol_points(top, s["sobol_n"], s["seed"]))
    sobol = sens.sobol_table(top, ys, s["seed"])
    write_csv(out, "sobol.csv", stamped(sobol, rows))

    first, second = (next(p for p in top if p.name == n) for n in sobol["parameter"].head(2))
    grid = s["map_grid"]
    points = []
    (a0, a1), (b0, b1) = first.bounds(), second.bounds()
    for i, a in enumerate(np.linspace(a0, a1, grid)):
        for j, b in enumerate(np.linspace(b0, b1, grid)):
            v = sens.point_variant(s["preset"], (first, second), np.array([a, b]), f"g{i}-{j}")
            points.append(
                sens.Variant(
                    v.preset,
                    v.label,
                    v.market,
                    v.economics,
                    (("x", first.value(a)), ("y", second.value(b))),
                )
            )
    jobs = variant_jobs("decision_map", points, s["map_seeds"], families, trials, market)
    table = variant_summary(runner.run(jobs, run_cell_job, "decision_map"))
    table["x_parameter"], table["y_parameter"] = first.name, second.name
    write_csv(out, "decision_map.csv", table)
    figs.morris_figure(morris, out / "figures" / "morris.png")
    figs.decision_map_figure(table, out / "figures" / "decision_map.png")


def run_granularity(
    profile: dict[str, Any], runner: JobRunner, trials: pd.DataFrame, out: Path
) -> None:
    from experiments.studies.segments import granularity_jobs, granularity_summary

    g = profile["granularity"]
    jobs = granularity_jobs(
        g["presets"],
        g["k"],
        g["seeds"],
        trials,
        sub(profile, "granularity"),
        profile.get("preset_market"),
    )
    table = granularity_summary(runner.run(jobs, run_cell_job, "granularity"))
    write_csv(out, "granularity.csv", table)
    figs.granularity_figure(table, out / "figures" / "granularity.png")


if __name__ == "__main__":
    raise SystemExit(main())
