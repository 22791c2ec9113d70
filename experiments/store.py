"""Per-job results store: atomic files, provenance, one result row per job, resume.

Every job of a sweep writes its own folder (``metrics.json``, ``result.parquet`` and, on
failure, ``error.txt``).  Files are written to a temporary name in the same folder, fsynced
and renamed with :func:`os.replace`, so a job killed at any moment leaves either the old
file or the new one under the final name, never a torn one.  :func:`run_job` turns any
exception of a job into a ``failed`` row instead of raising, because in Hydra 1.3.8 one
raising job aborts the whole multirun (the sweep exits 1 and ``on_multirun_end``
callbacks never run); the sweep table is rebuilt from the job folders by
:mod:`experiments.collect`.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import json
import logging
import os
import platform
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

RESULT_FILE: Final = "result.parquet"
METRICS_FILE: Final = "metrics.json"
ERROR_FILE: Final = "error.txt"

STATUS_OK: Final = "ok"
STATUS_FAILED: Final = "failed"

#: Distributions whose versions are recorded in every row (``ver.<name>`` columns).
PROVENANCE_PACKAGES: Final = (
    "numpy",
    "scipy",
    "simpy",
    "pandas",
    "causalml",
    "hydra-core",
    "one2one-sim",
)

#: Row columns that are not metrics; a metric may not use these names.
RESERVED_COLUMNS: Final = frozenset(
    {
        "job_id",
        "job_dir",
        "status",
        "error",
        "wall_seconds",
        "seed",
        "finished_at",
        "config_json",
        "python_version",
        "platform",
        "git_rev",
    }
)
#: Column prefixes that are not metrics (flattened config, package versions).
RESERVED_PREFIXES: Final = ("cfg.", "ver.")

_ERROR_TAIL_LINES: Final = 12
_ERROR_MAX_CHARS: Final = 2000
_FILE_MODE: Final = 0o644


# --------------------------------------------------------------------------- atomic writes


def _temp_pattern(path: Path) -> tuple[str, str]:
    """Prefix and suffix of temporary files for ``path`` (``.result.XXXX.parquet.tmp``)."""
    return f".{path.stem}.", f"{path.suffix}.tmp"


def _fsync_dir(directory: Path) -> None:
    """Flush the directory entry so the rename survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temp file beside ``path``, fsync it, then rename it onto ``path``.

    On any error (including KeyboardInterrupt) the temp file is removed and the exception
    re-raised, leaving a previous ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = _temp_pattern(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (old content or new, never a mix)."""

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    _atomic_write(path, write)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    The JSON is streamed into the temp file, so a value that cannot be serialised half way
    through fails without touching ``path``.  numpy scalars/arrays, enums, paths, sets and
    datetimes are converted (see :func:`to_jsonable`).  Strict JSON: a NaN or infinite
    number raises ``ValueError`` (pass the object through :func:`finite` first).
    """

    def write(fh: IO[bytes]) -> None:
        encoder = json.JSONEncoder(indent=2, default=_json_default, allow_nan=False)
        for chunk in encoder.iterencode(obj):
            fh.write(chunk.encode("utf-8"))
        fh.write(b"\n")

    _atomic_write(path, write)


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write ``df`` to ``path`` as Parquet (pyarrow, no index) atomically."""
    _atomic_write(path, lambda fh: df.to_parquet(fh, engine="pyarrow", index=False))


def _remove_stale_temps(directory: Path, names: tuple[str, ...]) -> None:
    """Delete temp files left by a writer killed with SIGKILL (it could not clean up)."""
    for name in names:
        prefix, suffix = _temp_pattern(Path(name))
        for tmp in directory.glob(f"{prefix}*{suffix}"):
            with contextlib.suppress(OSError):
                tmp.unlink()


# --------------------------------------------------------------------------- JSON helpers


def _json_default(value: Any) -> Any:
    """``json`` fallback for the non-JSON types a metrics or config dict may hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types (round trip through :mod:`json`)."""
    return json.loads(json.dumps(obj, default=_json_default))


#: Key of the metrics that maps each undefined figure (dotted key) to why it is undefined.
UNDEFINED_KEY: Final = "undefined"
#: The reason given for a non-finite number whose producer gave none.
DEFAULT_REASON: Final = "not a finite number (NaN or infinite): undefined in this run"


def finite(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` as strict JSON: every NaN or infinite number becomes ``None`` and its
    dotted key is listed, with the reason, under :data:`UNDEFINED_KEY`.

    A producer states its own reasons in ``metrics["undefined"]`` (dotted key -> reason);
    a non-finite number without one gets :data:`DEFAULT_REASON`.  A list element is keyed
    by its position (``qini_ci.0``).
    """
    reasons: dict[str, str] = dict(metrics.get(UNDEFINED_KEY) or {})

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, Mapping):
            return {k: walk(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, float) and not np.isfinite(value):
            parent = key.rpartition(".")[0]
            if key not in reasons and parent not in reasons:
                reasons[key] = DEFAULT_REASON
            return None
        return value

    plain = to_jsonable(metrics)
    body = walk({k: v for k, v in plain.items() if k != UNDEFINED_KEY}, "")
    if reasons:
        body[UNDEFINED_KEY] = reasons
    return body


def _plain_config(config: Any) -> dict[str, Any]:
    """Turn an OmegaConf ``DictConfig`` (resolved, enums as names) or a mapping into a dict."""
    if isinstance(config, DictConfig):
        container = OmegaConf.to_container(config, resolve=True, enum_to_str=True)
        assert isinstance(container, dict)
        return {str(k): v for k, v in container.items()}
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, got {type(config).__name__}")
    return dict(config)


def config_json(config: Mapping[str, Any]) -> str:
    """Canonical JSON of a config: sorted keys, compact, numpy/enum values converted."""
    return json.dumps(
        _plain_config(config), sort_keys=True, separators=(",", ":"), default=_json_default
    )


def job_id_for(config: Mapping[str, Any], seed: int) -> str:
    """Stable 16-hex-digit id of a job: SHA-256 of the canonical config JSON and the seed.

    The seed is hashed too, so two seeds of one config never share an id even when the
    seed is not part of the config.
    """
    payload = f"{config_json(config)}\nseed={int(seed)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- provenance


OUTPUT_PATHSPECS: Final = (
    ":(top,exclude)results",
    ":(top,exclude)outputs",
    ":(top,exclude)multirun",
    ":(top,exclude)paper/generated",
)
"""What runs write into the working tree (left out of the ``-dirty`` check)."""


def _git_rev() -> str | None:
    """``git rev-parse HEAD`` of the repository holding this file, ``-dirty`` if its code or
    configuration is modified (what runs write, ``results/``, ``outputs/``, ``multirun/``
    and the paper's ``generated/``, does not count: a study writing its own tables must
    not mark the rows that follow as made by modified code)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(here), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()

    try:
        rev = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", ":/", *OUTPUT_PATHSPECS))
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty and rev else rev or None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _provenance_cached() -> tuple[tuple[str, str | None], ...]:
    items: list[tuple[str, str | None]] = [
        (f"ver.{dist}", _version(dist)) for dist in PROVENANCE_PACKAGES
    ]
    items.append(("python_version", platform.python_version()))
    items.append(("platform", platform.platform()))
    items.append(("git_rev", _git_rev()))
    return tuple(items)


def provenance() -> dict[str, str | None]:
    """What produced a result: ``ver.<dist>`` versions, python, platform and git revision.

    Missing packages and an unavailable git give ``None``.  Computed once per process
    (git is slow on big trees); each call returns a fresh dict.
    """
    return dict(_provenance_cached())


# --------------------------------------------------------------------------- rows


def _cell(value: Any, key: str) -> Any:
    """A scalar fit for a Parquet column: lists/arrays become JSON strings."""
    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return json.dumps(value, default=_json_default)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{key}: cannot store a value of type {type(value).__name__} in a row")


def flatten(mapping: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings to dotted keys; lists become JSON strings.

    ``{"a": {"b": 1, "c": [1, 2]}}`` -> ``{"a.b": 1, "a.c": "[1, 2]"}``.  An empty nested
    mapping is kept as the string ``"{}"``.  Raises ``ValueError`` if two paths flatten to
    the same key (``{"a.b": 1, "a": {"b": 2}}``).
    """
    out: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if key in out:
            raise ValueError(f"two entries flatten to the same key {key!r}")
        out[key] = value

    def walk(node: Mapping[Any, Any], pre: str) -> None:
        for k, v in node.items():
            key = f"{pre}{k}"
            if isinstance(v, Mapping):
                if v:
                    walk(v, key + ".")
                else:
                    put(key, "{}")
            else:
                put(key, _cell(v, key))

    walk(mapping, prefix)
    return out


def make_row(
    metrics: Mapping[str, Any],
    config: Mapping[str, Any],
    seed: int,
    status: str,
    wall_seconds: float,
    error: str | None,
    job_id: str,
) -> dict[str, Any]:
    """Build the one-row record of a job.

    Columns: ``job_id, status, error, wall_seconds, seed, finished_at`` (UTC), the flattened
    metrics (dotted keys), the flattened config (``cfg.`` prefix), ``config_json`` and the
    provenance columns of :func:`provenance`.  Metric names may not shadow those columns,
    so ``row["status"]`` is always the job status.
    """
    if status not in (STATUS_OK, STATUS_FAILED):
        raise ValueError(f"status must be {STATUS_OK!r} or {STATUS_FAILED!r}, got {status!r}")
    plain_config = _plain_config(config)
    flat_metrics = flatten(metrics)
    # A run may report its own seed (metrics.json carries it); the row keeps one copy.
    if "seed" in flat_metrics:
        if int(flat_metrics["seed"]) != int(seed):
            raise ValueError(
                f"metric seed {flat_metrics['seed']!r} differs from the job seed {seed}"
            )
        del flat_metrics["seed"]
    for key in flat_metrics:
        if key in RESERVED_COLUMNS or key.startswith(RESERVED_PREFIXES):
            raise ValueError(f"metric name {key!r} clashes with a reserved result column")
    row: dict[str, Any] = {
        "job_id": job_id,
        "status": status,
        "error": error,
        "wall_seconds": float(wall_seconds),
        "seed": int(seed),
        "finished_at": pd.Timestamp(datetime.now(UTC)),
    }
    row.update(flat_metrics)
    row.update(flatten(plain_config, prefix="cfg."))
    row["config_json"] = config_json(plain_config)
    row.update(provenance())
    return row


def _error_text(exc: BaseException) -> tuple[str, str]:
    """(short text for the row, full traceback for ``error.txt``)."""
    full = "".join(traceback.format_exception(exc))
    tail = "".join(traceback.format_exception(exc)[-_ERROR_TAIL_LINES:])
    head = f"{type(exc).__name__}: {exc}"
    short = f"{head}\n--- traceback tail ---\n{tail}"
    if len(short) > _ERROR_MAX_CHARS:
        short = short[: _ERROR_MAX_CHARS // 2] + "\n...\n" + short[-_ERROR_MAX_CHARS // 2 :]
    return short, full


# --------------------------------------------------------------------------- jobs


class ResultConflict(RuntimeError):
    """A folder already holds the finished result of another config (or seed)."""


#: What :func:`run_job` does when the folder holds another config's finished result:
#: refuse (a single run: the user chose the folder) or keep it, moved to
#: ``superseded/<job id>/`` (a sweep job: the same overrides now mean another config,
#: e.g. after a change of a preset).
ON_CONFLICT: Final = ("refuse", "keep")


def read_result(output_dir: Path) -> pd.DataFrame | None:
    """The job's ``result.parquet`` as a DataFrame, or ``None`` if absent or unreadable."""
    path = Path(output_dir) / RESULT_FILE
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # an unreadable file counts as "not done"
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def is_done(output_dir: Path, job_id: str | None = None) -> bool:
    """True if the folder holds an ``ok`` result (for ``job_id``, if given) and metrics."""
    output_dir = Path(output_dir)
    df = read_result(output_dir)
    if df is None or len(df) != 1 or df["status"].iloc[0] != STATUS_OK:
        return False
    if job_id is not None and df["job_id"].iloc[0] != job_id:
        return False
    return (output_dir / METRICS_FILE).is_file()


def check_folder(output_dir: Path, job_id: str) -> str | None:
    """The job id of another config's finished result in ``output_dir``, if it holds one."""
    df = read_result(output_dir)
    if df is None or len(df) != 1 or df["status"].iloc[0] != STATUS_OK:
        return None
    other = str(df["job_id"].iloc[0])
    return None if other == job_id else other


def conflict_message(output_dir: Path, other: str) -> str:
    """Why a single run refuses a folder, and how to proceed."""
    return (
        f"{output_dir} already holds the finished result of another config (job {other}); "
        "nothing was run and nothing was deleted. Choose a new folder "
        "(hydra.run.dir=<folder>, or leave it out for a fresh one), or, to replace that "
        f"result, remove {Path(output_dir) / RESULT_FILE} first."
    )


def _supersede(output_dir: Path, other: str) -> Path:
    """Move another config's result (everything but Hydra's run record and logs) into
    ``superseded/<job id>/``, so that the new job does not overwrite it."""
    from experiments.jobs import SUPERSEDED_DIR

    target = output_dir / SUPERSEDED_DIR / other
    target.mkdir(parents=True, exist_ok=True)
    for item in output_dir.iterdir():
        if item.name in (SUPERSEDED_DIR, ".hydra") or item.suffix == ".log":
            continue
        os.replace(item, target / item.name)
    return target


def _load_metrics(output_dir: Path) -> dict[str, Any] | None:
    try:
        with open(Path(output_dir) / METRICS_FILE, encoding="utf-8") as fh:
            loaded = json.load(fh)
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def run_job(
    output_dir: Path,
    config: Mapping[str, Any],
    seed: int,
    task: Callable[[], Mapping[str, Any]],
    *,
    job_id: str | None = None,
    on_conflict: str = "refuse",
) -> dict[str, Any]:
    """Run one job with resume and failure capture; never raises for a failing task.

    - If ``output_dir`` already holds an ``ok`` result of the same job id, return its
      metrics (from ``metrics.json``) without calling ``task``.
    - Otherwise call ``task()`` (timed).  On success write ``metrics.json`` and a one-row
      ``result.parquet`` atomically and return the metrics as plain JSON types (the same
      dict a resumed call returns).
    - On any ``Exception`` (from the task or from writing its results) write a ``failed``
      row to ``result.parquet`` and the full traceback to ``error.txt``, and return the
      failure row (``row["status"] == "failed"``; metrics never have a ``status`` key).
      ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    - If the folder holds the finished result of another job id, ``on_conflict`` decides
      (:data:`ON_CONFLICT`): ``refuse`` raises :class:`ResultConflict` before anything is
      touched; ``keep`` moves that result to ``superseded/<job id>/`` first.  A failure
      row of another job is replaced (a failure is not a result).

    The metrics are written as strict JSON (:func:`finite`): a NaN becomes ``null`` with
    its reason under ``undefined``.  ``job_id`` defaults to :func:`job_id_for`
    ``(config, seed)``.
    """
    output_dir = Path(output_dir)
    plain_config = _plain_config(config)
    jid = job_id if job_id is not None else job_id_for(plain_config, seed)

    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {ON_CONFLICT}, got {on_conflict!r}")

    if is_done(output_dir, jid):
        metrics = _load_metrics(output_dir)
        if metrics is not None:
            log.info("skipping %s: already done (job %s)", output_dir, jid)
            return metrics

    other = check_folder(output_dir, jid)
    if other is not None:
        if on_conflict == "refuse":
            raise ResultConflict(conflict_message(output_dir, other))
        moved = _supersede(output_dir, other)
        log.warning("%s held job %s of another config: kept in %s", output_dir, other, moved)

    output_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(output_dir, (RESULT_FILE, METRICS_FILE, ERROR_FILE))
    # A stale result (failed, or of another config) must not survive a killed re-run.
    for name in (RESULT_FILE, METRICS_FILE, ERROR_FILE):
        with contextlib.suppress(FileNotFoundError):
            (output_dir / name).unlink()

    start = time.perf_counter()
    try:
        raw = task()
        if not isinstance(raw, Mapping):
            raise TypeError(f"task must return a mapping of metrics, got {type(raw).__name__}")
        metrics = finite(raw)
        wall = time.perf_counter() - start
        row = make_row(metrics, plain_config, seed, STATUS_OK, wall, None, jid)
        atomic_write_json(output_dir / METRICS_FILE, metrics)
        atomic_write_parquet(output_dir / RESULT_FILE, pd.DataFrame([row]))
        log.info("job %s ok in %.2f s -> %s", jid, wall, output_dir)
        return metrics
    except Exception as exc:
        wall = time.perf_counter() - start
        short, full = _error_text(exc)
        log.error("job %s failed after %.2f s: %s: %s", jid, wall, type(exc).__name__, exc)
        with contextlib.suppress(FileNotFoundError):
            (output_dir / METRICS_FILE).unlink()
        row = make_row({}, plain_config, seed, STATUS_FAILED, wall, short, jid)
        atomic_write_bytes(output_dir / ERROR_FILE, full.encode("utf-8"))
        atomic_write_parquet(output_dir / RESULT_FILE, pd.DataFrame([row]))
        return row


__all__ = [
    "DEFAULT_REASON",
    "ERROR_FILE",
    "METRICS_FILE",
    "ON_CONFLICT",
    "PROVENANCE_PACKAGES",
    "RESERVED_COLUMNS",
    "RESULT_FILE",
    "STATUS_FAILED",
    "STATUS_OK",
    "UNDEFINED_KEY",
    "ResultConflict",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_parquet",
    "check_folder",
    "config_json",
    "conflict_message",
    "finite",
    "flatten",
    "is_done",
    "job_id_for",
    "make_row",
    "provenance",
    "read_result",
    "run_job",
    "to_jsonable",
]
