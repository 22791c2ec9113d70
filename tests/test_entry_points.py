"""A user's first hour (issue 14): each defect reproduced through the entry points.

Every test here failed before the fix it names.  Runs are real but tiny (600 consumers,
20 days: about a second each) and started the way a user starts them (subprocesses of
``python -m experiments.<name>``), except where a failure has to be injected (then the
entry point's ``main`` runs in this process).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hydra.core.global_hydra import GlobalHydra

from experiments import callbacks as cb
from experiments.collect import collect
from experiments.collect import main as collect_main
from experiments.figures import default_out
from experiments.figures import main as figures_main
from experiments.store import STATUS_FAILED, STATUS_OK

ROOT = Path(__file__).resolve().parent.parent
TINY = ["market.n_consumers=600", "market.horizon_days=20", "strategy.end_day=20"]


def run(module: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python -m experiments.<module> <args>`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", f"experiments.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def strict_json(path: Path) -> Any:
    """Parse as a strict JSON parser does: NaN, Infinity and -Infinity are errors."""

    def refuse(name: str) -> None:
        raise ValueError(f"{path}: non-standard JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def granularity_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh tiny granularity sweep (segmented, k = 1, 4, 16; seed 0), collected."""
    sweep = tmp_path_factory.mktemp("gran") / "sweep"
    done = run(
        "run",
        "-m",
        "strategy=segmented",
        *TINY,
        "strategy.k=1,4,16",
        "seed=0",
        f"hydra.sweep.dir={sweep}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert collect_main([str(sweep)]) == 0
    return sweep


# --------------------------------------------------------------------------- defect 1


def test_readme_figures_command_leaves_results_untouched(
    granularity_sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``experiments.figures <sweep>/results.parquet`` (the README's command) used to
    overwrite the committed ``results/figures``; it now draws into the sweep's folder."""
    before = tree_digest(ROOT / "results")
    monkeypatch.chdir(ROOT)
    assert figures_main([str(granularity_sweep / "results.parquet")]) == 0
    assert tree_digest(ROOT / "results") == before
    assert (granularity_sweep / "figures" / "granularity.png").stat().st_size > 10_000
    assert (granularity_sweep / "figures" / "granularity.csv").is_file()


def test_default_outputs_are_never_the_committed_results(tmp_path: Path) -> None:
    from experiments.calibrate import parse_args

    committed = default_out(ROOT / "results" / "sweeps" / "phase.csv")
    assert committed.parts[:2] == ("outputs", "figures") and "phase" in committed.name
    assert default_out(tmp_path) == tmp_path / "figures"
    assert parse_args(["--quick"]).out.parts[:2] == ("outputs", "calibrate")
    assert parse_args(["--out", "results"]).out == Path("results")  # on purpose only


def test_publish_redraws_the_committed_figures_where_told(tmp_path: Path) -> None:
    from experiments.publish import main as publish_main

    shutil.copy(ROOT / "results" / "sweeps" / "roi_curves.csv", tmp_path)
    assert publish_main(["--results", str(tmp_path), "figures", "--study", "roi_curves"]) == 0
    assert (tmp_path / "figures" / "roi_curves.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- defect 2


def test_six_row_csv_exits_nonzero_before_fitting(tmp_path: Path) -> None:
    """A 6-row CSV used to print a traceback, write a failure row and exit 0."""
    path = tmp_path / "six.csv"
    path.write_text(
        "arm,bought,x\n"
        + "".join(f"{a},{i % 2},{i}\n" for i, a in enumerate(["c", "c", "c", "t", "t", "t"]))
    )
    out = tmp_path / "run"
    done = run(
        "uplift",
        "dataset=csv",
        f"dataset.path={path}",
        "dataset.treatment_col=arm",
        "dataset.control_label=c",
        "dataset.outcome_col=bought",
        f"hydra.run.dir={out}",
    )
    assert done.returncode == 2, done.stderr
    assert "arms too small" in done.stderr and "'c'" in done.stderr and "'t'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "result.parquet").exists()


def _single_run_main(module: Any, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a Hydra entry point's ``main`` in this process; its exit status."""
    monkeypatch.setattr(sys, "argv", [module.__name__, *argv])
    GlobalHydra.instance().clear()
    try:
        module.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        GlobalHydra.instance().clear()
    return 0


def test_failed_run_exits_1_naming_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import experiments.run as run_mod

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(run_mod, "run_experiment", broken)
    out = tmp_path / "run"
    status = _single_run_main(run_mod, [*TINY, f"hydra.run.dir={out}"], monkeypatch)
    assert status == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "failed" in ln]
    assert lines == [f"run failed: RuntimeError: injected failure (traceback: {out / 'error.txt'})"]
    assert (out / "error.txt").is_file()


def test_compare_with_a_failing_strategy_exits_1_after_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import experiments.compare as compare_mod

    real = compare_mod.run_metrics

    def flaky(run_cfg: Any, *args: Any) -> dict[str, Any]:
        if run_cfg.strategy.name == "segmented":
            raise RuntimeError("segmented broke")
        return real(run_cfg, *args)

    monkeypatch.setattr(compare_mod, "run_metrics", flaky)
    out = tmp_path / "cmp"
    argv = [*TINY, "strategies=[mass,segmented,triggered]", f"hydra.run.dir={out}"]
    assert _single_run_main(compare_mod, argv, monkeypatch) == 1
    err = capsys.readouterr().err
    assert f"strategy segmented failed: RuntimeError: segmented broke (traceback: {out}" in err
    table = collect(out)
    assert dict(zip(table["job_dir"], table["status"], strict=True)) == {
        "mass": STATUS_OK,
        "segmented": STATUS_FAILED,
        "triggered": STATUS_OK,
    }
    assert len(pd.read_csv(out / "comparison.csv")) == 2


# --------------------------------------------------------------------------- defect 3


def test_reused_sweep_folder_keys_jobs_by_config(tmp_path: Path) -> None:
    """Re-running into a sweep folder with a changed list (k = 1, 4, 16, then 4, 16, 2)
    used to give k=4's folder to another job and duplicate one row while losing another.
    Each job now keeps its own folder: finished ones are skipped, the new one added."""
    sweep = tmp_path / "sweep"
    base = ["-m", "strategy=segmented", *TINY, "seed=0", f"hydra.sweep.dir={sweep}"]
    assert run("run", *base, "strategy.k=1,4,16").returncode == 0
    first = collect(sweep, write=False).set_index("cfg.strategy.k")
    done = run("run", *base, "strategy.k=4,16,2")
    assert done.returncode == 0, done.stderr[-2000:]
    table = collect(sweep, write=False)
    assert sorted(table["cfg.strategy.k"]) == [1, 2, 4, 16]
    assert table["job_id"].is_unique and table["job_dir"].is_unique
    again = table.set_index("cfg.strategy.k")
    for k in (1, 4, 16):  # untouched: the same rows, not re-run
        assert again.loc[k, "job_id"] == first.loc[k, "job_id"]
        assert again.loc[k, "finished_at"] == first.loc[k, "finished_at"]


def test_collect_flags_or_refuses_duplicate_job_ids(
    granularity_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(granularity_sweep, sweep)
    job = next(d for d in sweep.iterdir() if "strategy.k=4," in d.name)
    shutil.copytree(job, sweep / "the_same_job_again")
    table = collect(sweep, write=False)
    assert len(table) == 3 and table["job_id"].is_unique
    assert list(table.attrs["duplicates"].values()) == [sorted([job.name, "the_same_job_again"])]
    assert collect_main([str(sweep), "--no-write"]) == 0
    assert "found in more than one folder" in capsys.readouterr().out
    assert collect_main([str(sweep), "--no-write", "--strict"]) == 2
    assert "the_same_job_again" in capsys.readouterr().err


def test_another_config_into_a_finished_run_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run("run", *TINY, "seed=1", f"hydra.run.dir={out}").returncode == 0
    before = (out / "result.parquet").read_bytes()
    done = run("run", *TINY, "seed=2", f"hydra.run.dir={out}")
    assert done.returncode == 2
    assert str(out) in done.stderr and "hydra.run.dir" in done.stderr
    assert (out / "result.parquet").read_bytes() == before
    same = run("run", *TINY, "seed=1", f"hydra.run.dir={out}")  # the same job: skipped
    assert same.returncode == 0 and (out / "result.parquet").read_bytes() == before


# --------------------------------------------------------------------------- defect 6


def test_a_campaign_that_contacts_nobody_says_why(tmp_path: Path) -> None:
    """(The README's first example contacted nobody without a word; it now contacts
    consumers, so the case is made explicit: creatives dearer than any plan's value.)"""
    out = tmp_path / "run"
    done = run(
        "run",
        "market=fmcg_tribal",
        "strategy=one_to_one",
        "seed=3",
        "economics.content_cost_per_variant=1000000",
        f"hydra.run.dir={out}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = strict_json(out / "metrics.json")
    assert metrics["contacts"] == 0
    (note,) = metrics["notes"]
    assert note.startswith("No consumer was contacted:") and "content cost" in note
    assert f"note: {note}" in done.stdout
    assert f"note: {note}" in (out / "run.log").read_text()  # the summary is in the log too


def test_every_entry_point_writes_strict_json(tmp_path: Path, granularity_sweep: Path) -> None:
    for path in granularity_sweep.glob("*/metrics.json"):
        strict_json(path)
    # no holdout: the measured figures are NaN in the run, null with a reason in the file
    nan = tmp_path / "nan"
    done = run("run", *TINY, "strategy.holdout_share=0.0001", f"hydra.run.dir={nan}")
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = strict_json(nan / "metrics.json")
    assert metrics["incremental_profit"]["measured"] is None
    assert "two consumers in the holdout" in metrics["undefined"]["incremental_profit.measured"]
    assert metrics["roi"]["measured"] is None and "roi.measured" in metrics["undefined"]
    assert "undefined: " in done.stdout
    out = tmp_path / "cmp"
    done = run("compare", *TINY, "strategies=[mass,one_to_one]", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    for path in [out / "metrics.json", *out.glob("*/metrics.json")]:
        strict_json(path)
    # a CSV experiment without any effect: the normalised Qini is undefined, said why
    rows = ["arm,bought,x"] + [f"{'ct'[i % 2]},{(i // 2) % 2},{i % 7}" for i in range(400)]
    csv = tmp_path / "null.csv"
    csv.write_text("\n".join(rows) + "\n")
    up = tmp_path / "up"
    done = run(
        "uplift",
        "dataset=csv",
        f"dataset.path={csv}",
        "dataset.treatment_col=arm",
        "dataset.control_label=c",
        "dataset.outcome_col=bought",
        "n_boot=20",
        "estimator=t_lightgbm",
        f"hydra.run.dir={up}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = strict_json(up / "metrics.json")
    arm = metrics["estimators"]["t_lightgbm"]["arms"]["t"]
    assert arm["qini"] is None and arm["qini_raw"] is not None
    why = metrics["undefined"]["estimators.t_lightgbm.arms.t.qini"]
    assert "cannot be told from zero" in why
    assert "undefined" in done.stdout and "qini_raw" in done.stdout


# --------------------------------------------------------------------------- defect 7


def test_single_value_typo_gets_the_sweeps_message_and_exit_2(tmp_path: Path) -> None:
    single = run("run", "strategy.budgett=100", f"hydra.run.dir={tmp_path / 'a'}")
    swept = run("run", "-m", "strategy.budgett=100,200", f"hydra.sweep.dir={tmp_path / 'b'}")
    for done in (single, swept):
        assert done.returncode == 2, done.stderr
        assert "Did you mean 'strategy.budget'?" in done.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_missing_csv_is_a_path_problem_and_hints_are_overrides(tmp_path: Path) -> None:
    missing = run(
        "uplift",
        "dataset=csv",
        f"dataset.path={tmp_path / 'nope.csv'}",
        "dataset.treatment_col=arm",
        "dataset.control_label=control",
        "dataset.outcome_col=bought",
        f"hydra.run.dir={tmp_path / 'a'}",
    )
    assert missing.returncode == 2
    assert "dataset.path" in missing.stderr and "does not exist" in missing.stderr
    assert "outcome_col" not in missing.stderr
    unset = run("uplift", "dataset=csv", f"hydra.run.dir={tmp_path / 'b'}")
    assert unset.returncode == 2 and "dataset.path=<file.csv>" in unset.stderr
    counts = run(
        "uplift",
        "dataset=csv",
        f"dataset.path={ROOT / 'tests/data/nonbinary_outcome.csv'}",
        "dataset.treatment_col=arm",
        "dataset.control_label=control",
        "dataset.outcome_col=bought",
        f"hydra.run.dir={tmp_path / 'c'}",
    )
    assert counts.returncode == 2
    assert "set dataset.binary_outcome=false" in counts.stderr
    assert "binary_outcome=False" not in counts.stderr


def test_documented_collect_out_works(granularity_sweep: Path, tmp_path: Path) -> None:
    """``conf/experiment/estimators.yaml`` documented ``collect <dir> --out <csv>``, which
    failed; the option now exists, and the file's commands use only options that do."""
    text = (ROOT / "conf/experiment/estimators.yaml").read_text()
    assert "experiments.collect <sweep dir> --out" in text
    assert (
        collect_main([str(granularity_sweep), "--no-write", "--out", str(tmp_path / "t.csv")]) == 0
    )
    assert len(pd.read_csv(tmp_path / "t.csv")) == 3


def test_run_times_are_stated_once(tmp_path: Path) -> None:
    """Experiment files and docs/SWEEPS.md used to disagree on run times; the files now
    point to docs/SWEEPS.md, whose study table gives one time per study."""
    import re

    sweeps = (ROOT / "docs/SWEEPS.md").read_text()
    for path in (ROOT / "conf/experiment").glob("*.yaml"):
        comments = "\n".join(ln for ln in path.read_text().splitlines() if ln.startswith("#"))
        assert not re.search(r"\d\s*(min|minutes|s)\b", comments), path.name
        assert "docs/SWEEPS.md" in comments, path.name
        assert f"| `{path.stem}`" in sweeps, path.stem


# --------------------------------------------------------------------------- feature 9


def test_compare_sweeps_collects_and_resumes_like_run(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        *TINY,
        "strategies=[mass,segmented]",
        "seed=0,1",
        "market=default,small_retailer",
        f"hydra.sweep.dir={sweep}",
    ]
    done = run("compare", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    table = collect(sweep, write=False)
    keys = table[["cfg.strategy.name", "cfg.market.name", "seed"]].apply(tuple, axis=1)
    assert len(table) == 8 and keys.is_unique and (table["status"] == STATUS_OK).all()
    # the same row as experiments.run with that config: same job id, columns and figures
    one = tmp_path / "one"
    assert (
        run(
            "run",
            *TINY,
            "strategy=segmented",
            "market=small_retailer",
            "seed=1",
            f"hydra.run.dir={one}",
        ).returncode
        == 0
    )
    single = collect(one, write=False).iloc[0]
    row = table.set_index("job_id").loc[single["job_id"]]
    assert set(single.index) - {"job_dir"} <= set(table.columns)
    assert row["incremental_profit.true"] == single["incremental_profit.true"]
    stamps = dict(zip(table["job_id"], table["finished_at"], strict=True))
    assert run("compare", *args).returncode == 0  # resumed: nothing recomputed
    again = collect(sweep, write=False)
    assert dict(zip(again["job_id"], again["finished_at"], strict=True)) == stamps


# --------------------------------------------------------------------------- feature 10


def test_sweep_prints_one_line_per_job(tmp_path: Path) -> None:
    done = run(
        "run",
        "-m",
        "strategy=segmented",
        *TINY,
        "strategy.k=1,4",
        "seed=0,1",
        f"hydra.sweep.dir={tmp_path / 's'}",
    )
    assert done.returncode == 0
    console = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    per_job = [ln for ln in console if " | job " in ln]
    assert len(per_job) == 4
    # besides: the validation line, the final count and the collect hint
    assert len(console) == len(per_job) + 3, console


def test_uplift_progress_bar(tmp_path: Path) -> None:
    import io

    import numpy as np

    from sim.datasets import ExperimentData
    from sim.uplift.config import EstimatorConfig
    from sim.uplift.real import evaluate_experiment

    rng = np.random.default_rng(0)
    n = 600
    t = rng.choice(np.array(["c", "t"]), size=n)
    data = ExperimentData(
        X=rng.normal(size=(n, 2)),
        feature_names=["a", "b"],
        treatment=t,
        y=(rng.random(n) < 0.2 + 0.2 * (t == "t")).astype(float),
        control="c",
        arms=["t"],
        outcome="y",
    )
    stream = io.StringIO()
    est = EstimatorConfig(name="t_tiny", learner="t", n_estimators=5, max_depth=2)
    evaluate_experiment(data, [est], seed=0, test_size=0.3, n_boot=10, progress=stream)
    assert "bootstrap" in stream.getvalue() and "11/11" in stream.getvalue()


# --------------------------------------------------------------------------- feature 12


def test_one2one_console_script_and_experiment_group(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", *TINY, f"hydra.run.dir={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert strict_json(out / "metrics.json")["n_consumers"] == 600
    for spelling in ("experiment=roi_curves", "+experiment=roi_curves"):
        shown = run("run", spelling, "--cfg", "job")
        assert shown.returncode == 0, shown.stderr
        assert "name: one_to_one" in shown.stdout and "n_consumers: 5000" in shown.stdout
    env = {**os.environ, "COMP_LINE": "one2one run market=spec"}
    completion = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "-sc", "query=bash"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert completion.stdout.split() == ["market=specialty_retail"]
    env["COMP_LINE"] = "one2one co"
    commands = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "-sc", "query=bash"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert commands.stdout.split() == ["compare", "collect"]


def test_sweep_counts_use_the_sweeps_own_jobs(tmp_path: Path) -> None:
    """The progress counts and the exit status cover the jobs of this sweep, not the
    results other parameter lists left in a re-used folder."""
    from experiments.jobs import job_dir_name, write_manifest

    jobs = [["seed=0"], ["seed=1"]]
    write_manifest(tmp_path, jobs)
    for job in jobs:
        (tmp_path / job_dir_name(job)).mkdir()
        (tmp_path / job_dir_name(job) / "metrics.json").write_text("{}")
    (tmp_path / "seed=9").mkdir()
    (tmp_path / "seed=9" / "error.txt").write_text("RuntimeError: an older sweep")
    counts = cb.sweep_counts(tmp_path)
    assert (counts["ok"], counts["failed"], counts["missing"]) == (2, 0, 0)
    assert cb.failure_report(tmp_path) == []
