"""Hydra sweeps: config groups compose, launchers agree, kills resume, bad sweeps fail fast.

(How a sweep is expanded and validated is tested in ``tests/test_sweep_validation.py``.)
Sweeps run as subprocesses (``python -m experiments.run -m ...``) on a tiny market
(600 customers, 20 days: well under a second a job), so the default run stays short;
the Ray launcher test is marked slow (and skipped unless hydra-ray-launcher is installed).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from experiments import callbacks as cb
from experiments._common import plain
from experiments.bench.sweeps import VOLATILE_COLUMNS, comparable, tables_equal
from experiments.collect import collect
from experiments.store import STATUS_FAILED, STATUS_OK
from sim.experiment import build_run_config
from sim.report import strategy_key

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
#: A 6-job sweep on a tiny market (segmented, k x seed).
TINY = [
    "strategy=segmented",
    "market.n_consumers=600",
    "market.horizon_days=20",
    "strategy.end_day=20",
]
SWEEP = [*TINY, "strategy.k=1,4,16", "seed=0,1"]
N_JOBS = 6


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def run_sweep(
    sweep_dir: Path, *overrides: str, timeout: float = 240, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        *overrides,
        f"hydra.sweep.dir={sweep_dir}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"sweep failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def clean_sweep(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The reference: the 6-job sweep, basic launcher, run once from scratch."""
    sweep_dir = tmp_path_factory.mktemp("clean") / "sweep"
    run_sweep(sweep_dir, *SWEEP)
    return collect(sweep_dir)


# --------------------------------------------------------------------------- conf groups


@pytest.mark.parametrize("market", options("market"))
def test_market_option_composes_and_validates(market: str) -> None:
    econ = market if (CONF / "economics" / f"{market}.yaml").exists() else "default"
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"market={market}", f"economics={econ}"])
    run = build_run_config(plain(cfg))
    assert run.market.name == market


@pytest.mark.parametrize("market", options("market"))
def test_market_default_economics_exists(market: str) -> None:
    assert (CONF / "economics" / f"{market}.yaml").exists()


def option_yaml(group: str, option: str) -> dict[str, Any]:
    """An option's settings as its YAML file says, read without Hydra: the options of the
    same group it extends (its defaults list) merged in order, ``_self_`` where listed."""
    own = OmegaConf.load(CONF / group / f"{option}.yaml")
    assert isinstance(own, DictConfig)
    defaults = list(own.pop("defaults", ["_self_"]))
    merged = OmegaConf.create()
    for entry in defaults:
        merged = OmegaConf.merge(merged, own if entry == "_self_" else option_yaml(group, entry))
    data = OmegaConf.to_container(merged)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def leaves(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every setting in a nested mapping (lists are values)."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


@pytest.mark.parametrize("strategy", options("strategy"))
def test_strategy_option_composes_and_validates(strategy: str) -> None:
    """The validated strategy config carries every setting the option's YAML gives (name,
    scorer, basis, follow-up, ...), and it describes the option it came from: its variant
    key (what tables and figures label it by) is the option's name."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"strategy={strategy}"])
    built = dataclasses.asdict(build_run_config(plain(cfg)).strategy)
    expected = option_yaml("strategy", strategy)
    assert built["name"] == expected["name"]
    for key, value in leaves(expected):
        node: Any = built
        for part in key.split("."):
            node = node[part]
        assert node == value, f"strategy={strategy}: {key} is {node!r}, the YAML says {value!r}"
    assert strategy_key(built) == strategy


@pytest.mark.parametrize("economics", options("economics"))
def test_economics_option_composes_and_validates(economics: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"economics={economics}"])
    assert build_run_config(plain(cfg)).economics.name == economics


@pytest.mark.parametrize(
    "launcher", ["joblib", "local_procs", "submitit_local", "submitit_slurm", "slurm"]
)
def test_launcher_option_composes(launcher: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert "Launcher" in cfg.hydra.launcher._target_
    assert cfg.hydra.callbacks.sweep._target_ == "experiments.callbacks.SweepCallback"


def test_ray_launcher_option_composes() -> None:
    # The `ray` launcher option is the plugin's own config (not in conf/hydra/launcher/).
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                "hydra/launcher=ray",
                "+hydra.launcher.ray.init.num_cpus=2",
                "+hydra.launcher.ray.remote.num_cpus=1",
            ],
            return_hydra_config=True,
        )
    assert cfg.hydra.launcher._target_.endswith("RayLauncher")
    assert cfg.hydra.launcher.ray.init.num_cpus == 2
    assert cfg.hydra.callbacks.sweep._target_ == "experiments.callbacks.SweepCallback"


# --------------------------------------------------------------------------- launchers


def test_basic_and_joblib_launchers_give_identical_tables(
    clean_sweep: pd.DataFrame, tmp_path: Path
) -> None:
    assert len(clean_sweep) == N_JOBS
    assert (clean_sweep["status"] == STATUS_OK).all()
    run_sweep(tmp_path / "joblib", *SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    same, msg = tables_equal(clean_sweep, collect(tmp_path / "joblib"))
    assert same, msg
    # the metrics really vary across jobs (the comparison is not vacuous)
    assert clean_sweep["incremental_profit.true"].nunique() == N_JOBS


def test_submitit_local_runs_two_jobs(clean_sweep: pd.DataFrame, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "submitit"
    run_sweep(
        sweep_dir,
        *TINY,
        "strategy.k=1,4",
        "seed=0",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
    )
    table = collect(sweep_dir)
    assert len(table) == 2 and (table["status"] == STATUS_OK).all()
    # same job (config + seed) -> same job id and the same metrics as the basic launcher
    ref = comparable(clean_sweep).drop(columns="job_dir").set_index("job_id")
    got = comparable(table).drop(columns="job_dir").set_index("job_id")
    # columns only other jobs of the clean sweep fill (e.g. the reason of a figure that
    # is undefined in one of them) are empty for these two
    ref = ref.loc[got.index].dropna(axis=1, how="all")
    pd.testing.assert_frame_equal(got.dropna(axis=1, how="all"), ref, check_exact=True)


@pytest.mark.slow
def test_ray_launcher_matches_basic(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    # Skipped unless `pip install hydra-ray-launcher` (or the pyproject extra "ray"): Ray
    # is a large optional install, not part of the default environment; slow because
    # starting a local Ray instance takes seconds to tens of seconds.
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    clean_sweep = request.getfixturevalue("clean_sweep")
    run_sweep(
        tmp_path / "ray",
        *SWEEP,
        "hydra/launcher=ray",
        "+hydra.launcher.ray.init.num_cpus=2",
        timeout=600,
    )
    same, msg = tables_equal(clean_sweep, collect(tmp_path / "ray"))
    assert same, msg


# --------------------------------------------------------------------------- kill / resume


def test_killed_sweep_resumes_to_the_clean_table(clean_sweep: pd.DataFrame, tmp_path: Path) -> None:
    """SIGKILL the whole sweep (launcher and workers) once results appear; re-running the
    same command into the same folder completes it: same table as a clean run, row for
    row, finished jobs not redone."""
    sweep_dir = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        *SWEEP,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(sweep_dir.glob("*/result.parquet"))) >= 2:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep's own process group
        proc.wait(timeout=30)
    before = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/result.parquet")}
    assert 0 < len(before) < N_JOBS, "the kill should leave the sweep part-way"

    run_sweep(sweep_dir, *SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    table = collect(sweep_dir)
    assert table["job_dir"].is_unique and len(table) == N_JOBS
    same, msg = tables_equal(clean_sweep, table)
    assert same, msg
    after = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/result.parquet")}
    assert all(after[d] == t for d, t in before.items()), "finished jobs must be skipped"
    assert not list(sweep_dir.rglob("*.tmp")), "no temp files left behind"


# --------------------------------------------------------------------------- fail fast


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("market.n_consumerz=1,2", "market.n_consumerz"),
        ("market.tribes.variance_share=0.5,1.5", "market.tribes.variance_share"),
    ],
)
def test_bad_sweep_fails_before_any_job(override: str, key: str, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "bad"
    done = run_sweep(sweep_dir, *TINY, "seed=0,1", override, check=False, timeout=120)
    assert done.returncode != 0
    assert key in done.stderr
    assert "no job was started" in done.stderr
    assert not sweep_dir.exists(), "nothing may be written"


# --------------------------------------------------------------------------- failing job


def test_failing_job_leaves_a_failure_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No valid config fails at run time, so the failure is injected: experiments.run's
    run_experiment raises for seed 1.  The sweep (basic launcher, in this process) goes
    on, and the job leaves a ``failed`` row with the error; the others are ``ok``.
    Issue 14, defect 2: the sweep used to exit 0; it now exits 1 once every job has
    finished, with one line naming the failed job and its traceback file."""
    import experiments.run as run_mod

    real = run_mod.run_experiment

    def flaky(cfg: Any, **kw: Any) -> dict[str, Any]:
        if cfg.seed == 1:
            raise RuntimeError("injected failure for seed 1")
        return real(cfg, **kw)

    monkeypatch.setattr(run_mod, "run_experiment", flaky)
    for var in (*cb.THREAD_ENV, cb.ENV_START, cb.ENV_TOTAL):  # restored after the test
        monkeypatch.setenv(var, os.environ.get(var, ""))
        monkeypatch.delenv(var)
    sweep_dir = tmp_path / "flaky"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "experiments.run",
            "-m",
            *TINY,
            "strategy.k=4",
            "seed=0,1,2",
            f"hydra.sweep.dir={sweep_dir}",
        ],
    )
    GlobalHydra.instance().clear()
    try:
        with pytest.raises(SystemExit) as info:
            run_mod.main()
    finally:
        GlobalHydra.instance().clear()
        for limiter in cb._LIMITS:
            limiter.restore_original_limits()
        cb._LIMITS.clear()
    assert info.value.code == 1
    table = collect(sweep_dir).set_index("seed")
    assert list(table["status"]) == [STATUS_OK, STATUS_FAILED, STATUS_OK]
    assert "injected failure for seed 1" in table.loc[1, "error"]
    failed_dir = sweep_dir / table.loc[1, "job_dir"]
    assert (failed_dir / "error.txt").is_file() and "seed=1" in failed_dir.name
    counts = cb.sweep_counts(sweep_dir)
    assert (counts["ok"], counts["failed"], counts["missing"]) == (2, 1, 0)
    err = capsys.readouterr().err
    summary = [ln for ln in err.splitlines() if ln.startswith("[sweep] failed:")]
    assert len(summary) == 1, err
    assert (
        "injected failure for seed 1" in summary[0] and str(failed_dir / "error.txt") in summary[0]
    )
    # one line per job: three progress lines, nothing else per job on the console
    assert len([ln for ln in err.splitlines() if " | job " in ln]) == 3


# --------------------------------------------------------------------------- progress


def test_progress_line_counts_rows(tmp_path: Path) -> None:
    from experiments.jobs import write_manifest

    jobs = [[f"seed={i}"] for i in range(6)]
    write_manifest(tmp_path, jobs)
    for i, status in enumerate([STATUS_OK, STATUS_OK, STATUS_FAILED]):
        job = tmp_path / f"seed={i}"
        job.mkdir()
        if status == STATUS_FAILED:  # run_job writes error.txt beside a failure row
            (job / "error.txt").write_text("Traceback ...")
        else:  # and metrics.json, last, beside an ok row
            (job / "metrics.json").write_text("{}")
    (tmp_path / "seed=3").mkdir()  # a job still running: no result yet
    (tmp_path / "other").mkdir()  # a job of another sweep into the same folder
    (tmp_path / "other" / "metrics.json").write_text("{}")
    start = time.time() - 30
    line = cb.progress_line(tmp_path, total=6, start=start, now=start + 30)
    assert line.startswith("[sweep] 3/6 done (2 ok, 1 failed)")
    assert "00:30 elapsed" in line and "ETA 00:30" in line


def test_volatile_columns_are_only_timings(clean_sweep: pd.DataFrame) -> None:
    """Everything but timing columns is compared between launchers."""
    assert set(VOLATILE_COLUMNS) <= set(clean_sweep.columns)
    assert "incremental_profit.true" in comparable(clean_sweep).columns
