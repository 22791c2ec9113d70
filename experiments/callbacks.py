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

``on_job_start`` also quiets the job's console (warnings only; its log file keeps
everything) and the launcher's per-job listing, so that a sweep prints one line per job.

``on_job_end`` (in the worker)
    prints that line: the sweep's jobs finished (ok / failed) out of the total, elapsed
    time, an ETA, and the job's status and overrides.

``on_multirun_end``
    prints the final count, one line per failed job (its error and where its traceback
    is) and the command that collects the table, and exits with status 1 if any job of
    the sweep failed or left no result.  (Hydra 1.3.8 skips it when a job raises; jobs
    of the entry points never raise, see :mod:`experiments.store`.)

The sweep's job folders are named by their overrides (:mod:`experiments.jobs`); the
launching process records them in the sweep folder, and a job's status is read from
its folder, so the counts hold across processes, launchers and resumed sweeps.

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

from experiments import jobs as J

J.register_resolver()  # ${job_dir:...} in hydra.sweep.subdir

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

EXIT_INVALID: Final = 2
EXIT_FAILED: Final = 1
#: Loggers of the launchers' "#<n> : <overrides>" listing, quieted in a sweep (the
#: progress line names each job instead).
LAUNCHER_LOGGERS: Final = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher",
    "hydra_plugins.hydra_ray_launcher._core",
)


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
    """The sweep's jobs by status (``ok``, ``failed``, ``missing``: no result yet) and how
    many finished after ``since`` (``fresh``).

    The jobs are those the launching process recorded in the sweep folder (else every
    job folder found there, see :func:`experiments.jobs.job_dirs`); file checks only, so
    a line costs milliseconds even for thousands of jobs.
    """
    counts = {"ok": 0, "failed": 0, "missing": 0, "fresh": 0}
    for job in J.job_dirs(Path(sweep_dir)):
        status, _ = J.job_status(job)
        counts["missing" if status == J.MISSING else status] += 1
        if status != J.MISSING and since is not None:
            when = J.finished_at(job)
            if when is not None and when >= since:
                counts["fresh"] += 1
    return counts


def progress_line(
    sweep_dir: Path, total: int | None, start: float | None, now: float | None = None, job: str = ""
) -> str:
    """``[sweep] 12/81 done (11 ok, 1 failed) | 01:02 elapsed | ETA 03:40 | job 11 ok: ...``."""
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


def _job_dir(job_return: Any) -> Path | None:
    try:
        return Path(str(job_return.hydra_cfg.hydra.runtime.output_dir))
    except Exception:
        return None


def _job_status(job_return: Any) -> str:
    """``ok`` / ``failed`` / ``no result`` of the finished job, from its folder."""
    out = _job_dir(job_return)
    if out is None:
        return "?"
    status, _ = J.job_status(out)
    if status == J.MISSING and getattr(getattr(job_return, "status", None), "name", "") == "FAILED":
        return "raised"
    return status


def _last_line(path: Path) -> str:
    """The exception line of a traceback file (its last non-empty line)."""
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return "unreadable error file"
    return lines[-1] if lines else "empty error file"


def failure_report(sweep_dir: Path) -> list[str]:
    """One line per job of the sweep that failed or left no result."""
    sweep_dir = Path(sweep_dir)
    labels = J.manifest_labels(sweep_dir)
    lines = []
    for job in J.job_dirs(sweep_dir):
        status, errors = J.job_status(job)
        name = labels.get(job.name) or job.name
        if status == J.FAILED:
            for err in errors:
                lines.append(f"[sweep] failed: {name}: {_last_line(err)} (traceback: {err})")
        elif status == J.MISSING:
            lines.append(f"[sweep] no result: {name} (killed, or it raised; log in {job})")
    return lines


def quiet_console(level: int = logging.WARNING) -> None:
    """Raise the root logger's console handlers to ``level`` (file handlers keep all)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(level)


# --------------------------------------------------------------------------- callback


class SweepCallback(Callback):
    """See the module docstring.  Options (``hydra.callbacks.sweep.*``):

    ``threads_per_job``: BLAS/OpenMP threads per job (1; ``null`` leaves them alone);
    ``validate``: compose and validate every job before launching (true);
    ``progress``: one line per finished job, quiet job consoles (true).
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
        if self.progress:
            for name in LAUNCHER_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        (sweep_dir / J.MANIFEST).unlink(missing_ok=True)  # a previous sweep's jobs
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
        sweep = OmegaConf.to_container(config.hydra.sweep, resolve=False)
        subdir = str(sweep.get("subdir", "")) if isinstance(sweep, dict) else ""
        if subdir.startswith(f"${{{J.RESOLVER}:"):  # folders named by overrides: known now
            J.write_manifest(sweep_dir, jobs)
        print(
            f"[sweep] {self.total} jobs validated in {time.perf_counter() - tic:.1f} s "
            f"-> {sweep_dir}",
            file=sys.stderr,
            flush=True,
        )

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Only jobs of a multirun (single runs may use every core): the variable is set by
        # on_multirun_start in this process or inherited from the launching process.
        if ENV_START not in os.environ:
            return
        if self.threads:
            limit_loaded_pools(self.threads)
        if self.progress:
            quiet_console()

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if not self.progress or ENV_START not in os.environ:  # a single run: nothing to count
            return
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
            total = int(os.environ[ENV_TOTAL]) if ENV_TOTAL in os.environ else self.total
            start = float(os.environ[ENV_START]) if ENV_START in os.environ else self.start
            num = OmegaConf.select(config, "hydra.job.num", default="?")
            folder = _job_dir(job_return)
            label = J.manifest_labels(sweep_dir).get(folder.name, "") if folder else ""
            overrides = label or " ".join(
                str(o) for o in (getattr(job_return, "overrides", None) or [])
            )
            job = f"job {num} {_job_status(job_return)}" + (f": {overrides}" if overrides else "")
            line = progress_line(sweep_dir, total, start, job=job)
        except Exception as exc:  # progress must never break a job
            line = f"[sweep] progress unavailable: {exc}"
        print(line, file=sys.stderr, flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        failures = failure_report(sweep_dir)
        if self.progress:
            print(progress_line(sweep_dir, self.total, self.start), file=sys.stderr)
        for line in failures:
            print(line, file=sys.stderr)
        print(
            f"[sweep] collect: python -m experiments.collect {sweep_dir}",
            file=sys.stderr,
            flush=True,
        )
        if failures:
            print(
                f"[sweep] {len(failures)} job(s) failed or left no result: exit status 1",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(EXIT_FAILED)


__all__ = ["SweepCallback", "failure_report", "progress_line", "sweep_counts"]
