"""Tests of the per-job results store: atomic writes, rows, failure capture, resume, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from experiments import store
from experiments.store import (
    ResultConflict,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    is_done,
    job_id_for,
    make_row,
    provenance,
    run_job,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG: dict[str, Any] = {"market": {"n_customers": 100, "arms": ["a", "b"]}, "seed": 7}
METRICS: dict[str, Any] = {"incremental_profit": {"measured": 12.5, "true": 13.0}, "n": 3}


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- atomic writes


def test_atomic_json_serialiser_crash_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"version": "old"})
    # The encoder streams "{"a": 1, "b": " into the temp file, then fails on object().
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": 1, "b": object()})
    assert json.loads(target.read_text()) == {"version": "old"}
    assert temp_files(tmp_path) == []


def test_atomic_parquet_writer_crash_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.parquet"
    old = pd.DataFrame({"x": [1, 2]})
    atomic_write_parquet(target, old)

    def half_write(self: pd.DataFrame, fh: Any, **kwargs: Any) -> None:
        fh.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_write)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_parquet(target, pd.DataFrame({"x": [9]}))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(pd.read_parquet(target), old)
    assert temp_files(tmp_path) == []


def test_atomic_bytes_replace_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "error.txt"
    atomic_write_bytes(target, b"old")

    def boom(*args: Any) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


# --------------------------------------------------------------------------- rows


def test_make_row_flattens_metrics_and_config() -> None:
    metrics = {
        "incremental_profit": {"measured": np.float64(1.5), "ci": [1.0, 2.0]},
        "arms": ("a", "b"),
        "count": np.int64(4),
    }
    row = make_row(metrics, CONFIG, 7, "ok", 0.25, None, "abc")
    assert row["incremental_profit.measured"] == 1.5
    assert type(row["incremental_profit.measured"]) is float
    assert type(row["count"]) is int
    assert json.loads(row["incremental_profit.ci"]) == [1.0, 2.0]
    assert json.loads(row["arms"]) == ["a", "b"]
    assert row["cfg.market.n_customers"] == 100
    assert json.loads(row["cfg.market.arms"]) == ["a", "b"]
    assert json.loads(row["config_json"]) == CONFIG
    assert row["config_json"] == json.dumps(CONFIG, sort_keys=True, separators=(",", ":"))
    assert (row["status"], row["error"], row["seed"], row["job_id"]) == ("ok", None, 7, "abc")
    assert row["finished_at"].tz is not None
    for key, value in provenance().items():
        assert row[key] == value
    assert row["ver.pandas"] == pd.__version__


def test_make_row_rejects_bad_status_and_reserved_metric_names() -> None:
    with pytest.raises(ValueError, match="status"):
        make_row({}, CONFIG, 1, "done", 0.0, None, "x")
    with pytest.raises(ValueError, match="reserved"):
        make_row({"status": 1}, CONFIG, 1, "ok", 0.0, None, "x")
    with pytest.raises(ValueError, match="same key"):
        make_row({"a.b": 1, "a": {"b": 2}}, CONFIG, 1, "ok", 0.0, None, "x")


def test_provenance_has_versions_and_is_cached() -> None:
    prov = provenance()
    assert prov["ver.numpy"] == np.__version__
    assert set(prov) >= {f"ver.{d}" for d in store.PROVENANCE_PACKAGES} | {
        "python_version",
        "platform",
        "git_rev",
    }
    prov["ver.numpy"] = "mutated"
    assert provenance()["ver.numpy"] == np.__version__  # the cache is not exposed
    assert store._provenance_cached.cache_info().currsize == 1


def test_job_id_is_stable_and_seed_sensitive() -> None:
    reordered = {"seed": 7, "market": {"arms": ["a", "b"], "n_customers": 100}}
    assert job_id_for(CONFIG, 7) == job_id_for(reordered, 7)
    assert job_id_for(CONFIG, 7) != job_id_for(CONFIG, 8)
    assert job_id_for(CONFIG, 7) != job_id_for({**CONFIG, "seed": 8}, 7)


# --------------------------------------------------------------------------- run_job


def test_run_job_writes_ok_row(tmp_path: Path) -> None:
    out = tmp_path / "job"
    result = run_job(out, CONFIG, 7, lambda: METRICS)
    assert result == METRICS
    assert json.loads((out / "metrics.json").read_text()) == METRICS
    df = pd.read_parquet(out / "result.parquet")
    assert len(df) == 1
    row = df.iloc[0]
    assert row["status"] == "ok"
    assert row["incremental_profit.measured"] == 12.5
    assert row["job_id"] == job_id_for(CONFIG, 7)
    assert row["wall_seconds"] >= 0
    assert not (out / "error.txt").exists()
    assert is_done(out)


def test_failing_task_leaves_failure_row_and_does_not_raise(tmp_path: Path) -> None:
    out = tmp_path / "job"

    def task() -> dict[str, Any]:
        raise ValueError("market too small: n_customers=3")

    row = run_job(out, CONFIG, 7, task)
    assert row["status"] == "failed"
    assert "ValueError: market too small: n_customers=3" in row["error"]
    assert "traceback" in row["error"]
    df = pd.read_parquet(out / "result.parquet")
    assert df["status"].tolist() == ["failed"]
    assert df["error"].iloc[0] == row["error"]
    assert "market too small" in (out / "error.txt").read_text()
    assert not (out / "metrics.json").exists()
    assert not is_done(out)


def test_task_returning_non_mapping_is_a_failure(tmp_path: Path) -> None:
    row = run_job(tmp_path, CONFIG, 7, lambda: 42)  # type: ignore[arg-type,return-value]
    assert row["status"] == "failed"
    assert "TypeError" in row["error"]


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_interrupts_propagate(tmp_path: Path, exc_type: type[BaseException]) -> None:
    def task() -> dict[str, Any]:
        raise exc_type()

    with pytest.raises(exc_type):
        run_job(tmp_path / "job", CONFIG, 7, task)
    assert not (tmp_path / "job" / "result.parquet").exists()


def test_done_job_is_skipped(tmp_path: Path) -> None:
    calls = []

    def task() -> dict[str, Any]:
        calls.append(1)
        return METRICS

    out = tmp_path / "job"
    first = run_job(out, CONFIG, 7, task)
    mtime = (out / "result.parquet").stat().st_mtime_ns
    second = run_job(out, CONFIG, 7, task)
    assert len(calls) == 1
    assert first == second == METRICS
    assert (out / "result.parquet").stat().st_mtime_ns == mtime


def test_failed_job_is_rerun(tmp_path: Path) -> None:
    calls = []

    def flaky() -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")
        return METRICS

    out = tmp_path / "job"
    assert run_job(out, CONFIG, 7, flaky)["status"] == "failed"
    assert run_job(out, CONFIG, 7, flaky) == METRICS
    assert len(calls) == 2
    assert not (out / "error.txt").exists()  # stale failure text removed


def test_other_config_in_a_finished_folder_is_refused_or_kept(tmp_path: Path) -> None:
    """Issue 14, defect 3: re-running another config into a finished folder used to
    delete the old result without a word.  A single run refuses (naming the folder and
    how to proceed) and touches nothing; a sweep job keeps the old result beside it."""
    out = tmp_path / "job"
    run_job(out, CONFIG, 7, lambda: METRICS)
    before = (out / "result.parquet").read_bytes()
    other = {**CONFIG, "seed": 8}
    with pytest.raises(ResultConflict) as info:
        run_job(out, other, 8, lambda: {"x": 2.0})
    assert str(out) in str(info.value) and "hydra.run.dir" in str(info.value)
    assert (out / "result.parquet").read_bytes() == before
    old_id = job_id_for(CONFIG, 7)
    assert run_job(out, other, 8, lambda: {"x": 2.0}, on_conflict="keep") == {"x": 2.0}
    assert pd.read_parquet(out / "result.parquet")["seed"].tolist() == [8]
    kept = out / "superseded" / old_id
    assert (kept / "result.parquet").read_bytes() == before
    assert json.loads((kept / "metrics.json").read_text()) == METRICS


def test_metrics_json_is_strict_with_reasons(tmp_path: Path) -> None:
    """Issue 14, defect 6: a NaN used to reach metrics.json as a bare NaN (invalid JSON).
    Now null, with the producer's reason or a default one under ``undefined``."""
    metrics = {
        "a": float("nan"),
        "b": {"c": float("inf"), "d": [1.0, float("nan")]},
        "e": 1.5,
        "undefined": {"a": "no holdout: nothing to compare"},
    }
    run_job(tmp_path, CONFIG, 7, lambda: metrics)
    text = (tmp_path / "metrics.json").read_text()

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    loaded = json.loads(text, parse_constant=refuse)
    assert loaded["a"] is None and loaded["b"]["c"] is None and loaded["b"]["d"] == [1.0, None]
    assert loaded["undefined"]["a"] == "no holdout: nothing to compare"
    assert set(loaded["undefined"]) == {"a", "b.c", "b.d.1"}
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"v": float("nan")})


# --------------------------------------------------------------------------- SIGKILL

KILL_SNIPPET = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from experiments import store

    out, started, phase = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def task():
        if phase == "task":
            started.touch()
            time.sleep(60)
        return {"x": 1.0}

    if phase == "write":
        real_replace = store.os.replace
        def slow_replace(src, dst):
            if Path(dst).name == "result.parquet":
                started.touch()  # temp file written and fsynced; the rename is pending
                time.sleep(60)
            real_replace(src, dst)
        store.os.replace = slow_replace

    store.run_job(out, {"k": 1}, 0, task)
    """
)


def _run_and_kill(out: Path, phase: str, tmp_path: Path) -> None:
    started = tmp_path / f"started-{phase}"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SNIPPET, str(out), str(started), phase],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 15
        while not started.exists():
            assert proc.poll() is None, "child exited before reaching the kill point"
            assert time.monotonic() < deadline, "child never reached the kill point"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("phase", ["task", "write"])
def test_sigkill_leaves_no_row_and_rerun_completes(tmp_path: Path, phase: str) -> None:
    out = tmp_path / "job"
    _run_and_kill(out, phase, tmp_path)
    assert not (out / "result.parquet").exists()
    assert not is_done(out)
    names = sorted(p.name for p in out.iterdir())
    # Nothing under a final name is torn: each file present parses.
    if (out / "metrics.json").exists():
        assert json.loads((out / "metrics.json").read_text()) == {"x": 1.0}
    if phase == "write":
        assert (out / "metrics.json").exists()  # written first, but no row: not done
        assert any(n.endswith(".parquet.tmp") for n in names)  # SIGKILL cannot clean up

    calls = []

    def task() -> dict[str, Any]:
        calls.append(1)
        return {"x": 1.0}

    assert run_job(out, {"k": 1}, 0, task) == {"x": 1.0}
    assert calls == [1]
    assert pd.read_parquet(out / "result.parquet")["status"].tolist() == ["ok"]
    assert temp_files(out) == []  # stale temp files are swept on the re-run


def test_git_rev_ignores_what_runs_write_but_not_code() -> None:
    """A study writing its tables into ``results/`` does not mark the rows that follow as
    made by modified code; an untracked file beside the code does."""
    import uuid

    from experiments.store import _git_rev

    root = Path(__file__).resolve().parents[1]
    before = _git_rev()
    if before is None:
        pytest.skip("not a git checkout")
    name = f"_probe_{uuid.uuid4().hex}"
    output, code = root / "results" / f"{name}.csv", root / f"{name}.py"
    try:
        output.write_text("a\n1\n")
        assert _git_rev() == before
        code.write_text("x = 1\n")
        assert _git_rev() == before.removesuffix("-dirty") + "-dirty"
    finally:
        output.unlink(missing_ok=True)
        code.unlink(missing_ok=True)
