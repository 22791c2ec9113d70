"""Hydra callback for sweeps: fail-fast validation, one thread per job, progress lines.

Registered in ``conf/config.yaml`` under ``hydra.callbacks.sweep``.  What it does:

``on_multirun_start`` (in the launching process, before the sweeper creates the sweep
folder or any job starts)
    * sets ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ... to
      ``threads_per_job`` (default 1), so that worker processes started afterwards
      (joblib/loky, submitit, Ray, Slurm with its default ``--export=ALL``) do not
      oversubscribe the cores;
    * has every job of the sweep composed and validated (:mod:`experiments.sweep_validation`,
      which expands the sweep exactly as Hydra's ``BasicSweeper`` does); any error prints
      one line per distinct problem, naming the key, and exits with status 2.  Nothing is
      written.

``on_job_start`` (in the worker, before the task)
    limits the BLAS/OpenMP pools already loaded in the process (threadpoolctl), which the
    environment variables cannot reach once numpy is imported (the basic launcher runs
    jobs in the launching process itself).

``on_job_end`` (in the worker)
    prints one progress line per finished job: jobs with a result row in the sweep folder
    (ok / failed) out of the total, elapsed time and an ETA.

``on_multirun_end``
    prints the final count and the command that collects the table.  (Hydra 1.3.8 skips
    it when a job raises; jobs of ``experiments.run`` never raise, see
    :mod:`experiments.store`.)

Each job's result depends only on its composed config and seed: the callback changes
neither, and with one thread per job the numerics do not depend on the launcher or on
how many workers run side by side.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Final

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("experiments.sweep")

#: Thread-pool variables of the numeric libraries a job may load.
THREAD_ENV: Final = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: Set by ``on_multirun_start`` for the workers: total jobs and start time of the sweep.
ENV_TOTAL: Final = "ONE2ONE_SWEEP_TOTAL"
ENV_START: Final = "ONE2ONE_SWEEP_START"

RESULT_FILE: Final = "result.parquet"  # experiments.store.RESULT_FILE (no import: keep light)
ERROR_FILE: Final = "error.txt"  # experiments.store.ERROR_FILE
EXIT_INVALID: Final = 2


# --------------------------------------------------------------------------- threads


def set_thread_env(threads: int) -> None:
    """Export the thread-pool variables so processes started from now on use ``threads``."""
    for var in THREAD_ENV:
        os.environ[var] = str(threads)


_LIMITS: list[Any] = []  # keep threadpoolctl's limiter alive for the process


def limit_loaded_pools(threads: int) -> None:
    """Limit BLAS/OpenMP pools already loaded in this process (no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return
    _LIMITS[:] = [threadpool_limits(limits=threads)]


# --------------------------------------------------------------------------- progress


def _fmt_secs(s: float | None) -> str:
    if s is None or s != s or s == float("inf"):
        return "--:--"
    s = round(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def sweep_counts(sweep_dir: Path, since: float | None = None) -> dict[str, int]:
    """Job folders below ``sweep_dir`` with a result, by status, and how many of the
    results were written after ``since``.

    File checks only (no Parquet reads, so a line costs milliseconds even for thousands
    of jobs): a job folder holding ``result.parquet`` is done; it failed if it also holds
    ``error.txt`` (written beside the failure row by :func:`experiments.store.run_job`,
    removed when the job starts again).  Job folders are the sweep's subfolders, or
    found recursively if ``hydra.sweep.subdir`` nests them deeper.
    """
    sweep_dir = Path(sweep_dir)
    results = list(sweep_dir.glob(f"*/{RESULT_FILE}")) or list(sweep_dir.rglob(RESULT_FILE))
    counts = {"ok": 0, "failed": 0, "fresh": 0}
    for path in results:
        try:
            mtime = path.stat().st_mtime
        except OSError:  # being replaced right now
            continue
        counts["failed" if (path.parent / ERROR_FILE).exists() else "ok"] += 1
        if since is not None and mtime >= since:
            counts["fresh"] += 1
    return counts


def progress_line(
    sweep_dir: Path, total: int | None, start: float | None, now: float | None = None, job: str = ""
) -> str:
    """``[sweep] 12/81 done (11 ok, 1 failed) | 01:02 elapsed | ETA 03:40 | job 11 ok``."""
    now = time.time() if now is None else now
    c = sweep_counts(sweep_dir, since=start)
    done = c["ok"] + c["failed"]
    elapsed = now - start if start else None
    eta = None
    if total is not None and elapsed is not None and c["fresh"] > 0:
        eta = max(total - done, 0) * elapsed / c["fresh"]
    of = f"/{total}" if total is not None else ""
    line = (
        f"[sweep] {done}{of} done ({c['ok']} ok, {c['failed']} failed)"
        f" | {_fmt_secs(elapsed)} elapsed | ETA {_fmt_secs(eta)}"
    )
    return f"{line} | {job}" if job else line


def _job_status(job_return: Any) -> str:
    """``ok`` / ``failed`` of the finished job, from its folder (the task returns None)."""
    try:
        out = Path(str(job_return.hydra_cfg.hydra.runtime.output_dir))
    except Exception:
        return "?"
    if not (out / RESULT_FILE).exists():
        status = getattr(getattr(job_return, "status", None), "name", "?")
        return "raised" if status == "FAILED" else "no result"
    return "failed" if (out / ERROR_FILE).exists() else "ok"


# --------------------------------------------------------------------------- callback


class SweepCallback(Callback):
    """See the module docstring.  Options (``hydra.callbacks.sweep.*``):

    ``threads_per_job``: BLAS/OpenMP threads per job (1; ``null`` leaves them alone);
    ``validate``: compose and validate every job before launching (true);
    ``progress``: a progress line per finished job (true).
    """

    def __init__(
        self, threads_per_job: int | None = 1, validate: bool = True, progress: bool = True
    ) -> None:
        self.threads = threads_per_job
        self.validate = validate
        self.progress = progress
        self.total: int | None = None
        self.start: float | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if self.threads:
            set_thread_env(self.threads)
        self.start = time.time()
        os.environ[ENV_START] = repr(self.start)
        if not self.validate:
            return
        from experiments import sweep_validation

        if not sweep_validation.is_basic_sweeper(config):
            log.info("sweep validation skipped: not the basic sweeper")
            return
        tic = time.perf_counter()
        jobs, problems = sweep_validation.check_sweep(config, kwargs.get("config_name"))
        if problems:
            print(
                f"Invalid sweep: {len(problems)} problem(s); no job was started.", file=sys.stderr
            )
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
            sys.stderr.flush()
            raise SystemExit(EXIT_INVALID)
        sweep_validation.trust_validated(jobs)
        self.total = len(jobs)
        os.environ[ENV_TOTAL] = str(self.total)
        print(
            f"[sweep] {self.total} jobs validated in {time.perf_counter() - tic:.1f} s "
            f"-> {config.hydra.sweep.dir}",
            file=sys.stderr,
            flush=True,
        )

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Only jobs of a multirun (single runs may use every core): the variable is set by
        # on_multirun_start in this process or inherited from the launching process.
        if self.threads and ENV_START in os.environ:
            limit_loaded_pools(self.threads)

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if not self.progress or ENV_START not in os.environ:  # a single run: nothing to count
            return
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
            total = int(os.environ[ENV_TOTAL]) if ENV_TOTAL in os.environ else self.total
            start = float(os.environ[ENV_START]) if ENV_START in os.environ else self.start
            num = OmegaConf.select(config, "hydra.job.num", default="?")
            line = progress_line(
                sweep_dir, total, start, job=f"job {num} {_job_status(job_return)}"
            )
        except Exception as exc:  # progress must never break a job
            line = f"[sweep] progress unavailable: {exc}"
        print(line, file=sys.stderr, flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.progress:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        print(progress_line(sweep_dir, self.total, self.start), file=sys.stderr)
        print(
            f"[sweep] collect: python -m experiments.collect {sweep_dir}",
            file=sys.stderr,
            flush=True,
        )


__all__ = ["SweepCallback", "progress_line", "sweep_counts"]
