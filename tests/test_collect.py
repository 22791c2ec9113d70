"""Tests of the sweep collector: rebuildable table, de-duplication, DuckDB query, CLI."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from experiments.collect import RESULTS_FILE, collect, main, missing_jobs, query
from experiments.store import atomic_write_parquet, make_row, run_job

REPO = Path(__file__).resolve().parents[1]
N_JOBS = 12  # more than 10, so natural order (2 before 10) is exercised
FAILING = 5


def profit(i: int) -> float:
    return 10.0 * i + 0.5


def make_sweep(root: Path) -> Path:
    """A Hydra-like multirun folder: jobs 0..N-1, job FAILING raises, one killed job."""
    sweep = root / "multirun" / "2024-05-01" / "12-00-00.123456"
    for i in range(N_JOBS):
        job = sweep / str(i)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "config.yaml").write_text(f"seed: {i}\n")
        cfg = {"seed": i, "strategy": "uplift" if i % 2 else "mass"}

        def task(i: int = i) -> dict[str, Any]:
            if i == FAILING:
                raise RuntimeError(f"job {i} broke")
            return {"incremental_profit": {"measured": profit(i)}, "arms": ["a", "b"]}

        run_job(job, cfg, i, task)
    killed = sweep / str(N_JOBS)  # started by Hydra, killed before it wrote a result
    (killed / ".hydra").mkdir(parents=True)
    (killed / ".hydra" / "config.yaml").write_text("seed: 99\n")
    return sweep


@pytest.fixture(scope="module")
def sweep_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sweep(tmp_path_factory.mktemp("template"))


@pytest.fixture
def sweep(sweep_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (tests write into it)."""
    dest = tmp_path / "sweep"
    shutil.copytree(sweep_template, dest)
    return dest


def test_collect_gives_one_row_per_job(sweep: Path) -> None:
    table = collect(sweep)
    assert len(table) == N_JOBS
    assert table["job_dir"].tolist() == [str(i) for i in range(N_JOBS)]
    assert table["status"].value_counts().to_dict() == {"ok": N_JOBS - 1, "failed": 1}
    failed = table[table["status"] == "failed"].iloc[0]
    assert failed["job_dir"] == str(FAILING)
    assert f"job {FAILING} broke" in failed["error"]
    assert pd.isna(failed["incremental_profit.measured"])
    ok = table[table["status"] == "ok"]
    assert ok["incremental_profit.measured"].tolist() == [
        profit(i) for i in range(N_JOBS) if i != FAILING
    ]
    assert table["incremental_profit.measured"].dtype == "float64"
    assert list(table.columns[:3]) == ["job_dir", "job_id", "status"]
    assert {"cfg.seed", "cfg.strategy", "config_json", "ver.numpy", "git_rev"} <= set(table)
    assert (sweep / RESULTS_FILE).is_file()
    assert missing_jobs(sweep) == [str(N_JOBS)]


def test_recollect_is_identical_and_matches_written_file(sweep: Path) -> None:
    first = collect(sweep)
    written = pd.read_parquet(sweep / RESULTS_FILE)
    second = collect(sweep)  # results.parquet now exists: it must not be read as a job
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, written)


def test_rerun_job_is_not_double_counted(sweep: Path) -> None:
    before = collect(sweep)
    job = sweep / str(FAILING)
    cfg = {"seed": FAILING, "strategy": "uplift"}
    run_job(job, cfg, FAILING, lambda: {"incremental_profit": {"measured": 1.0}})
    after = collect(sweep)
    assert len(after) == len(before) == N_JOBS
    assert (after["status"] == "ok").all()
    row = after[after["job_dir"] == str(FAILING)].iloc[0]
    assert row["incremental_profit.measured"] == 1.0


def test_duplicate_rows_keep_newest(sweep: Path) -> None:
    """A result file holding an older and a newer row of one job counts once (newest)."""
    cfg = {"seed": 0, "strategy": "mass"}
    old = make_row({"incremental_profit": {"measured": -1.0}}, cfg, 0, "ok", 1.0, None, "j")
    new = make_row({"incremental_profit": {"measured": 99.0}}, cfg, 0, "ok", 1.0, None, "j")
    old["finished_at"] = new["finished_at"] - pd.Timedelta(hours=1)
    atomic_write_parquet(sweep / "0" / "result.parquet", pd.DataFrame([new, old]))
    table = collect(sweep)
    assert len(table) == N_JOBS
    assert table.loc[table["job_dir"] == "0", "incremental_profit.measured"].tolist() == [99.0]


def test_temp_and_unreadable_files_are_skipped(
    sweep: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (sweep / "3" / ".result.abc123.parquet.tmp").write_bytes(b"half")
    (sweep / "4" / "result.parquet").write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="experiments.collect"):
        table = collect(sweep)
    assert len(table) == N_JOBS - 1
    assert "4" not in set(table["job_dir"])
    assert "unreadable" in caplog.text


def test_mixed_type_column_is_stored_as_text(tmp_path: Path) -> None:
    run_job(tmp_path / "a", {"k": 1}, 0, lambda: {"best_arm": 3})
    run_job(tmp_path / "b", {"k": 2}, 0, lambda: {"best_arm": "email"})
    table = collect(tmp_path)
    assert table["best_arm"].tolist() == ["3", "email"]
    assert pd.read_parquet(tmp_path / RESULTS_FILE)["best_arm"].tolist() == ["3", "email"]


def test_query_aggregates(sweep: Path) -> None:
    sql = (
        'SELECT "cfg.strategy" AS strategy, count(*) AS n, '
        'avg("incremental_profit.measured") AS mean_profit '
        "FROM results WHERE status = 'ok' GROUP BY 1 ORDER BY 1"
    )
    ok = [i for i in range(N_JOBS) if i != FAILING]
    expected = {
        name: [profit(i) for i in ok if (i % 2 == 1) == (name == "uplift")]
        for name in ("mass", "uplift")
    }
    for source in (sweep, collect(sweep)):
        result = query(source, sql)
        assert result["strategy"].tolist() == ["mass", "uplift"]
        assert result["n"].tolist() == [len(expected["mass"]), len(expected["uplift"])]
        for name, values in expected.items():
            got = result.loc[result["strategy"] == name, "mean_profit"].iloc[0]
            assert got == pytest.approx(sum(values) / len(values))
    total = query(sweep / RESULTS_FILE, "SELECT count(*) AS n FROM results")
    assert total["n"].iloc[0] == N_JOBS


def test_cli_summary_and_sql(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert f"{N_JOBS} rows, {N_JOBS - 1} ok, 1 failed" in out
    assert "1 job folders without a result" in out
    assert "broke" in out  # the error column is shown for the failed job
    sql = "SELECT count(*) AS n_failed FROM results WHERE status = 'failed'"
    assert main([str(sweep), "--sql", sql]) == 0
    out = capsys.readouterr().out
    assert "n_failed" in out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope", "sweep directory not found"),
        (lambda p: p, "no result.parquet files"),
    ],
)
def test_cli_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    assert main([str(make(tmp_path))]) == 2
    assert message in capsys.readouterr().err


def test_cli_bad_sql(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--sql", "SELECT nope FROM results"]) == 2
    assert "SQL failed" in capsys.readouterr().err


def test_cli_module_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "experiments.collect", str(tmp_path / "missing")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "sweep directory not found" in done.stderr
