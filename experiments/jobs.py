"""Job folders of a sweep: named by the job's overrides, and their status read from files.

A sweep job's folder is named after its task overrides (``hydra.sweep.subdir:
${job_dir:${hydra.overrides.task}}``), sorted, so that the same job lands in the same
folder whatever its position in the sweep: a sweep folder re-used with a changed
parameter list resumes the jobs it already holds and adds the new ones beside them,
never overwriting one job's result with another's.

A job's status is read from its folder, so that any process (the launching one, a
worker, a later ``collect``) can tell without Hydra: it *failed* if an ``error.txt``
lies in it or in a sub-folder (written beside every failure row by
:func:`experiments.store.run_job`, removed when the job runs again); it is *ok* if its
``metrics.json`` is there (every entry point writes it last); otherwise it left no
result (killed, or still running).  Light module: no numpy, pandas or Hydra imports.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from omegaconf import OmegaConf

#: Name of the resolver used in ``hydra.sweep.subdir``.
RESOLVER: Final = "job_dir"
#: Files that tell a job's status (see the module docstring).
METRICS_FILE: Final = "metrics.json"
ERROR_FILE: Final = "error.txt"
#: Where a job folder keeps the results of another config that it held before.
SUPERSEDED_DIR: Final = "superseded"
#: The launching process writes the sweep's job folders here (``on_multirun_start``).
MANIFEST: Final = ".sweep_jobs.json"

OK: Final = "ok"
FAILED: Final = "failed"
MISSING: Final = "no result"

_MAX_NAME: Final = 200
_MAX_VALUE: Final = 12
_SAFE: Final = re.compile(r"^[A-Za-z0-9_.,=+\-]+$")


def job_dir_name(overrides: Iterable[object]) -> str:
    """The folder name of a job with task ``overrides`` (``key=value`` strings).

    The overrides sorted and joined by commas (``seed=0,strategy.k=4``) when that is a
    safe, short file name; otherwise (characters such as ``/``, ``{`` or spaces, or more
    than 200 characters) the cleaned overrides, long values cut short, then ``~`` and 12
    hex digits of the SHA-256 of the exact joined overrides, so that two different jobs
    never share a folder.  No overrides: ``defaults``.
    """
    items = sorted(str(o) for o in overrides)
    if not items:
        return "defaults"
    joined = ",".join(items)
    if len(joined) <= _MAX_NAME and _SAFE.match(joined):
        return joined
    digest = hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]
    short = []
    for item in items:  # long values cut short: the keys stay readable
        key, sep, value = item.partition("=")
        short.append(key + sep + (value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE]))
    clean = re.sub(r"[^A-Za-z0-9_.,=+\-]+", "_", ",".join(short))[: _MAX_NAME - 13]
    return f"{clean.rstrip('_,')}~{digest}"


def register_resolver() -> None:
    """Register ``${job_dir:<overrides>}`` with OmegaConf (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, lambda overrides: job_dir_name(overrides or ()))


def job_status(job_dir: Path) -> tuple[str, list[Path]]:
    """``(status, error files)`` of a job folder: ``ok``, ``failed`` or ``no result``.

    A failure in the job's folder or one level below (``experiments.compare`` runs one
    store job per strategy, in sub-folders) makes the job failed; superseded results do
    not count.  A few file checks: a progress line over thousands of jobs stays fast.
    """
    job_dir = Path(job_dir)
    top = job_dir / ERROR_FILE
    errors = [top] if top.is_file() else []
    errors += sorted(p for p in job_dir.glob(f"*/{ERROR_FILE}") if p.parent.name != SUPERSEDED_DIR)
    if errors:
        return FAILED, errors
    if (job_dir / METRICS_FILE).is_file():
        return OK, []
    return MISSING, []


def finished_at(job_dir: Path) -> float | None:
    """When the job's status file was written (modification time), if it has one."""
    for name in (METRICS_FILE, ERROR_FILE):
        path = Path(job_dir) / name
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    found = list(Path(job_dir).glob(f"*/{ERROR_FILE}"))
    return max((p.stat().st_mtime for p in found), default=None)


def varying(jobs: Sequence[Sequence[str]]) -> list[str]:
    """Each job's overrides that differ between the jobs of the sweep (its short label)."""
    common = set(jobs[0]).intersection(*map(set, jobs[1:])) if jobs else set()
    return [" ".join(o for o in job if o not in common) or " ".join(job) for job in jobs]


def write_manifest(sweep_dir: Path, jobs: Sequence[Sequence[str]]) -> None:
    """Record the sweep's job folders (in launch order) and their short labels, for the
    progress lines of the workers and the final report."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    entries = [
        {"dir": job_dir_name(job), "label": label}
        for job, label in zip(jobs, varying(jobs), strict=True)
    ]
    (sweep_dir / MANIFEST).write_text(json.dumps(entries), encoding="utf-8")


def manifest_labels(sweep_dir: Path) -> dict[str, str]:
    """Job folder name -> short label, from the sweep's manifest (empty if none)."""
    try:
        entries = json.loads((Path(sweep_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(e["dir"]): str(e["label"]) for e in entries if isinstance(e, dict)}


def read_manifest(sweep_dir: Path) -> list[str] | None:
    """The job folder names of the sweep launched last into ``sweep_dir``, if recorded."""
    try:
        entries = json.loads((Path(sweep_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list):
        return None
    return [str(e["dir"]) if isinstance(e, dict) else str(e) for e in entries]


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job folders of a sweep: from its manifest, else every sub-folder that holds a
    Hydra run record (``.hydra/``) or a result."""
    sweep_dir = Path(sweep_dir)
    names = read_manifest(sweep_dir)
    if names is not None:
        return [sweep_dir / n for n in names]
    if not sweep_dir.is_dir():
        return []
    return sorted(
        d
        for d in sweep_dir.iterdir()
        if d.is_dir() and ((d / ".hydra").is_dir() or (d / METRICS_FILE).is_file())
    )


__all__ = [
    "FAILED",
    "MANIFEST",
    "MISSING",
    "OK",
    "RESOLVER",
    "SUPERSEDED_DIR",
    "finished_at",
    "job_dir_name",
    "job_dirs",
    "job_status",
    "manifest_labels",
    "read_manifest",
    "register_resolver",
    "varying",
    "write_manifest",
]
