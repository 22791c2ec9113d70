"""Hydra callbacks for sweeps: fail-fast validation, one thread per job, progress lines.

Registered in ``conf/config.yaml`` under ``hydra.callbacks.sweep``.  What it does:

``on_multirun_start`` (in the launching process, before the sweeper creates the sweep
folder or any job starts)
    * sets ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ... to
      ``threads_per_job`` (default 1), so that worker processes started afterwards
      (joblib/loky, submitit, Ray, Slurm with its default ``--export=ALL``) do not
      oversubscribe the cores;
    * expands the sweep exactly as Hydra's ``BasicSweeper`` does
      (``hydra.sweeper.params`` followed by the command-line overrides, cartesian
      product), composes every job's config with Hydra's own config loader and validates
      it with :func:`sim.experiment.build_run_config`; any error prints one line per
      distinct problem, naming the key, and exits with status 2.  Nothing is written.

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

import itertools
import logging
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

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


class SweepConfigError(ValueError):
    """A sweep that cannot run; the message names the key and the jobs concerned."""


# --------------------------------------------------------------------------- expansion


def sweep_arguments(config: DictConfig) -> list[str]:
    """The override strings the BasicSweeper combines: ``hydra.sweeper.params`` first
    (``key=v1,v2`` each), then the command-line task overrides (``hydra.overrides.task``)."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None)
    out: list[str] = []
    if params:
        container = OmegaConf.to_container(params, resolve=False)
        assert isinstance(container, dict)
        out.extend(f"{key!s}={value!s}" for key, value in container.items())
    task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
    assert isinstance(task, list)
    out.extend(str(t) for t in task)
    return out


def expand_sweep(arguments: Sequence[str], config_loader: Any = None) -> list[list[str]]:
    """Every job's overrides, in the order the BasicSweeper launches them (job 0, 1, ...).

    Same rules as ``BasicSweeper.split_arguments``: a later override of the same key
    replaces an earlier one (so the command line beats ``hydra.sweeper.params``); the
    jobs are the cartesian product of the per-key value lists.  Raises
    :class:`SweepConfigError` on syntax errors and on sweeps the basic sweeper does not
    support (``interval(...)``).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, OverrideParseException

    parser = OverridesParser.create(config_loader=config_loader)
    try:
        overrides = parser.parse_overrides(list(arguments))
    except (OverrideParseException, HydraException) as exc:
        raise SweepConfigError(f"cannot parse the sweep overrides: {exc}") from None
    per_key: OrderedDict[str, list[str]] = OrderedDict()
    for ov in overrides:
        key = ov.get_key_element()
        if ov.is_sweep_override():
            if not ov.is_discrete_sweep():
                raise SweepConfigError(
                    f"{key}: the basic sweeper cannot expand a "
                    f"{getattr(ov.value_type, 'name', 'non-discrete')} sweep "
                    "(use a list of values, range(...) or choice(...))"
                )
            per_key[key] = [f"{key}={v}" for v in ov.sweep_string_iterator()]
        else:
            per_key[key] = [f"{key}={ov.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*per_key.values())]


def _is_basic_sweeper(config: DictConfig) -> bool:
    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default=""))
    return target.endswith("BasicSweeper")


# --------------------------------------------------------------------------- validation


def _task_config(job_cfg: DictConfig) -> dict[str, Any]:
    """The job's config (already without its ``hydra`` node), resolved, as plain Python."""
    data = OmegaConf.to_container(job_cfg, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def validate_run(data: dict[str, Any]) -> None:
    """``experiments.run`` (config ``config``): the whole config is a :class:`RunConfig`."""
    from sim.experiment import build_run_config

    build_run_config(data)


def validate_compare(data: dict[str, Any]) -> None:
    """``experiments.compare``: the base run; the strategy list is checked by compare."""
    data = dict(data)
    data.pop("strategies", None)
    validate_run(data)


def validate_uplift(data: dict[str, Any]) -> None:
    """``experiments.uplift``: dataset, estimators, and for ``dataset=sim`` the market run."""
    from experiments.uplift import validate_uplift as check

    check(data)


#: Validator per primary config name; others get the Hydra composition check only.
VALIDATORS: Final[dict[str, Callable[[dict[str, Any]], None]]] = {
    "config": validate_run,
    "compare": validate_compare,
    "uplift": validate_uplift,
}


def _short(exc: BaseException) -> str:
    """First paragraph of Hydra's (often multi-line) message, on one line."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:4]) if lines else type(exc).__name__


class _Composer:
    """Each job's task config (no ``hydra`` node), as ``load_sweep_config`` composes it,
    with a cache keyed by the config-group overrides.

    Hydra composes a job in two steps: the defaults list (decided by the overrides that
    select config-group options, e.g. ``market=fmcg_tribal`` or ``+experiment=phase``),
    then the value overrides applied to the result in order
    (``ConfigLoaderImpl._apply_overrides_to_config``).  Jobs that differ only in values
    share the first step, so it is done once per group combination; overrides of
    ``hydra.*`` do not change the task and are not applied.  Errors carry Hydra's own
    messages; if this loader is not Hydra's usual one, every job is composed in full.
    """

    def __init__(self, master: DictConfig, loader: Any) -> None:
        self.master, self.loader = master, loader
        self.cache: dict[tuple[str, ...], DictConfig | Exception] = {}
        self.fast = hasattr(loader, "repository") and hasattr(
            type(loader), "_apply_overrides_to_config"
        )

    @staticmethod
    def strip_hydra(cfg: DictConfig) -> DictConfig:
        with read_write(cfg), open_dict(cfg):
            cfg.pop("hydra", None)
        return cfg

    def full(self, overrides: Sequence[str]) -> DictConfig:
        return self.strip_hydra(self.loader.load_sweep_config(self.master, list(overrides)))

    def __call__(self, overrides: Sequence[str]) -> DictConfig:
        if not self.fast:
            return self.full(overrides)
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(list(overrides))
        group, value = [], []
        for ov in parsed:
            is_group = self.loader.repository.group_exists(ov.key_or_group)
            if isinstance(ov.value(), dict) or not is_group:
                if not ov.is_hydra_override():
                    value.append(ov)
            else:
                group.append(ov)
        key = tuple(str(ov.input_line) for ov in group)
        if key not in self.cache:
            try:
                self.cache[key] = self.full(list(key))
            except Exception as exc:  # remembered: every job of this combination fails
                self.cache[key] = exc
        base = self.cache[key]
        if isinstance(base, Exception):
            raise base
        cfg = base.copy()
        type(self.loader)._apply_overrides_to_config(value, cfg)
        return cfg


def _did_you_mean(config: DictConfig, message: str) -> str:
    """`` Did you mean 'market.n_consumers'?`` for Hydra's "Could not override 'x.y'"."""
    import difflib
    import re

    m = re.search(r"Could not override '([^']+)'", message)
    if not m:
        return ""
    parent, _, leaf = m.group(1).lstrip("+~").rpartition(".")
    node = OmegaConf.select(config, parent) if parent else config
    if not isinstance(node, DictConfig):
        return ""
    close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
    return f" | Did you mean '{parent + '.' if parent else ''}{close[0]}'?" if close else ""


def validate_sweep(
    config: DictConfig,
    jobs: Sequence[Sequence[str]],
    config_loader: Any,
    validator: Callable[[dict[str, Any]], None] | None,
) -> list[str]:
    """Compose (Hydra) and validate every job; return one message per distinct problem.

    Each message names the key (Hydra's composition errors and
    :class:`sim.schema.ConfigError` both do), the number of jobs it hits and the
    overrides of the first such job.  Compositions are cached by the overrides that
    select config-group options (see :class:`_Composer`), so a large sweep over values
    is checked quickly.
    """
    from sim.schema import ConfigError

    problems: OrderedDict[str, list[int]] = OrderedDict()
    first: dict[str, Sequence[str]] = {}
    compose = _Composer(config, config_loader)
    for num, overrides in enumerate(jobs):
        try:
            job_cfg = compose(overrides)
            if validator is not None:
                validator(_task_config(job_cfg))
            continue
        except ConfigError as exc:
            msg = f"invalid value: {exc}"
        except Exception as exc:  # Hydra's composition errors name the key
            msg = f"cannot compose: {_short(exc)}{_did_you_mean(config, str(exc))}"
            # "Could not override 'market.n_consumerz'." is the same problem for each value
            head = str(exc).strip().splitlines()[0] if str(exc).strip() else msg
            msg = next((m for m in problems if m.startswith(f"cannot compose: {head}")), msg)
        problems.setdefault(msg, []).append(num)
        first.setdefault(msg, overrides)
    out = []
    for msg, nums in problems.items():
        shown = " ".join(first[msg])
        out.append(f"{msg}\n    in {len(nums)} of {len(jobs)} jobs, e.g. job {nums[0]}: {shown}")
    return out


_VALIDATED: set[tuple[str, ...]] = set()


def _skip_validated_batches() -> None:
    """Let the BasicSweeper skip its own check of batches validated here.

    ``Sweeper.validate_batch_is_legal`` composes every job again, serially and in full
    (0.2-0.5 s a job here), in the launching process, before launching: for a 240-job
    sweep that is a minute or two during which no job runs.  Batches whose every job is
    in ``_VALIDATED`` (composed and validated by :func:`validate_sweep`) are passed;
    anything else still gets Hydra's check.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    original = BasicSweeper.validate_batch_is_legal
    if getattr(original, "_one2one", False):
        return

    def validate_batch_is_legal(self: Any, batch: Sequence[Sequence[str]]) -> None:
        if all(tuple(job) in _VALIDATED for job in batch):
            return
        original(self, batch)

    validate_batch_is_legal._one2one = True  # type: ignore[attr-defined]
    BasicSweeper.validate_batch_is_legal = validate_batch_is_legal  # type: ignore[method-assign]


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
        if not _is_basic_sweeper(config):
            log.info("sweep validation skipped: not the basic sweeper")
            return
        from hydra.core.global_hydra import GlobalHydra

        loader = GlobalHydra.instance().config_loader()
        tic = time.perf_counter()
        try:
            jobs = expand_sweep(sweep_arguments(config), loader)
            problems = validate_sweep(
                config, jobs, loader, VALIDATORS.get(str(kwargs.get("config_name")), None)
            )
        except SweepConfigError as exc:
            problems = [str(exc)]
            jobs = []
        if problems:
            print(
                f"Invalid sweep: {len(problems)} problem(s); no job was started.", file=sys.stderr
            )
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
            sys.stderr.flush()
            raise SystemExit(EXIT_INVALID)
        _VALIDATED.update(tuple(job) for job in jobs)
        _skip_validated_batches()
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


__all__ = [
    "SweepCallback",
    "SweepConfigError",
    "expand_sweep",
    "progress_line",
    "sweep_arguments",
    "sweep_counts",
    "validate_sweep",
]
