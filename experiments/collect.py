"""Rebuild a sweep's results table from its job folders, and query it with DuckDB.

Each job of a sweep leaves ``<job dir>/result.parquet`` (see :mod:`experiments.store`).
:func:`collect` gathers them into ``<sweep dir>/results.parquet``; it does not depend on
Hydra callbacks (which never run when a job of a 1.3.8 multirun raises) and can be re-run
at any time, giving the same table for the same job folders.

Rows are keyed by the job id (hash of the job's config and seed): two folders holding
the same job (the same config reached by two spellings of its overrides, or a sweep
re-run after its job folders were renamed) are flagged and counted once, or refused
with ``--strict``.  Results a job folder keeps of another config
(``superseded/<job id>/``, see :func:`experiments.store.run_job`) are not collected.

CLI::

    python -m experiments.collect multirun/2024-05-01/12-00-00.123 [--sql "SELECT ..."]
    python -m experiments.collect <sweep dir> --out table.csv     # also write a copy

Column names contain dots, so quote them in SQL: ``SELECT avg("incremental_profit.measured")
FROM results WHERE status = 'ok'``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd

from experiments import jobs as J
from experiments.store import (
    RESULT_FILE,
    STATUS_FAILED,
    STATUS_OK,
    atomic_write_bytes,
    atomic_write_parquet,
)

log = logging.getLogger(__name__)

RESULTS_FILE: Final = "results.parquet"
LEADING_COLUMNS: Final = (
    "job_dir",
    "job_id",
    "status",
    "seed",
    "wall_seconds",
    "finished_at",
    "error",
)
TRAILING_COLUMNS: Final = ("config_json", "python_version", "platform", "git_rev")


class CollectError(ValueError):
    """Bad input to :func:`collect` or :func:`query` (missing folder, no result files)."""


def _natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``2`` before ``10`` (Hydra names job folders 0, 1, ..., 10)."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def result_files(sweep_dir: Path) -> list[Path]:
    """Every ``result.parquet`` below ``sweep_dir`` (recursive), in natural path order.

    Temp files of interrupted writes (``.result.*.parquet.tmp``) never match the name;
    results kept under ``superseded/`` are left out.
    """
    sweep_dir = Path(sweep_dir)
    files = [
        p
        for p in sweep_dir.rglob(RESULT_FILE)
        if p.is_file() and J.SUPERSEDED_DIR not in p.relative_to(sweep_dir).parts
    ]
    return sorted(files, key=lambda p: _natural_key(p.relative_to(sweep_dir).as_posix()))


def missing_jobs(sweep_dir: Path) -> list[str]:
    """Hydra job folders (with ``.hydra/config.yaml``) that hold no result
    (:func:`experiments.jobs.job_status`): jobs that were killed, or are still running.
    """
    sweep_dir = Path(sweep_dir)
    out = []
    for cfg in sweep_dir.rglob(".hydra/config.yaml"):
        job = cfg.parent.parent
        if job == sweep_dir or J.SUPERSEDED_DIR in job.relative_to(sweep_dir).parts:
            continue
        if (job / RESULT_FILE).is_file():
            continue
        if J.job_status(job)[0] == J.MISSING:
            out.append(job.relative_to(sweep_dir).as_posix())
    return sorted(out, key=_natural_key)


def duplicate_jobs(table: pd.DataFrame) -> dict[str, list[str]]:
    """Job ids found in more than one job folder: ``{job id: [job dirs]}``."""
    if "job_id" not in table.columns:
        return {}
    dirs = table.groupby("job_id", sort=True)["job_dir"].agg(list)
    return {str(jid): list(d) for jid, d in dirs.items() if len(d) > 1}


def _order_columns(columns: Sequence[str]) -> list[str]:
    """Deterministic column order: key columns, metrics, ``cfg.*``, ``ver.*``, provenance."""
    cols = set(columns)
    lead = [c for c in LEADING_COLUMNS if c in cols]
    trail = [c for c in TRAILING_COLUMNS if c in cols]
    rest = cols.difference(lead, trail)
    metrics = sorted(c for c in rest if not c.startswith(("cfg.", "ver.")))
    cfg = sorted(c for c in rest if c.startswith("cfg."))
    ver = sorted(c for c in rest if c.startswith("ver."))
    return [*lead, *metrics, *cfg, *ver, *trail]


def _normalise_mixed(df: pd.DataFrame) -> pd.DataFrame:
    """Make object columns storable: if a column mixes types across jobs (a metric that is
    a number in one job and a string in another), store its non-null values as strings."""
    for col in df.columns:
        if df[col].dtype != object:
            continue
        kinds = {type(v) for v in df[col] if v is not None and not _is_na(v)}
        numeric = {int, float, bool}
        if len(kinds) > 1 and not kinds <= numeric:
            df[col] = df[col].map(lambda v: v if v is None or _is_na(v) else str(v))
    return df


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like values
        return False


def collect(sweep_dir: Path, *, write: bool = True, duplicates: str = "flag") -> pd.DataFrame:
    """Gather every job's ``result.parquet`` below ``sweep_dir`` into one table.

    Adds ``job_dir`` (POSIX path of the job folder relative to ``sweep_dir``), keeps one row
    per ``job_dir`` (the newest ``finished_at``) so re-runs are never counted twice, sorts
    rows by ``job_dir`` (natural order) and columns deterministically, and, if ``write``,
    writes ``sweep_dir/results.parquet`` atomically.  Unreadable result files are skipped
    with a warning.  A job id in more than one folder (:func:`duplicate_jobs`) is, by
    ``duplicates``: ``flag`` (default) logged as a warning and kept once (its newest
    row); ``refuse``: a :class:`CollectError` naming the folders; ``keep``: every row
    kept.  The table's ``attrs["duplicates"]`` lists them.  Raises :class:`CollectError`
    if ``sweep_dir`` is not a folder or holds no result file.
    """
    if duplicates not in ("flag", "refuse", "keep"):
        raise ValueError(f"duplicates must be flag, refuse or keep, got {duplicates!r}")
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise CollectError(f"sweep directory not found: {sweep_dir}")
    files = result_files(sweep_dir)
    if not files:
        raise CollectError(f"no {RESULT_FILE} files below {sweep_dir}")

    frames = []
    for path in files:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # one bad file must not hide the rest of the sweep
            log.warning("skipping unreadable %s: %s", path, exc)
            continue
        df.insert(0, "job_dir", path.parent.relative_to(sweep_dir).as_posix())
        frames.append(df)
    if not frames:
        raise CollectError(f"no readable {RESULT_FILE} files below {sweep_dir}")

    # One-row frames give all-None columns dtype object; infer_objects turns a column of
    # floats and Nones back into float64 (and strings into str) after the concat.
    table = pd.concat(frames, ignore_index=True, sort=False).infer_objects()
    for col in ("error", "finished_at"):
        if col not in table.columns:
            table[col] = None

    rank = {d: i for i, d in enumerate(sorted(set(table["job_dir"]), key=_natural_key))}
    table["_order"] = table["job_dir"].map(rank)
    table = table.sort_values(["_order", "finished_at"], na_position="first", kind="stable")
    table = table.drop_duplicates(subset="job_dir", keep="last")
    dup = duplicate_jobs(table)
    if dup and duplicates == "refuse":
        raise CollectError(_duplicate_text(dup) + " (collect without --strict keeps one of each)")
    if dup and duplicates == "flag":
        log.warning("%s; kept the newest row of each", _duplicate_text(dup))
        newest = table.sort_values("finished_at", na_position="first", kind="stable")
        keep = newest.drop_duplicates(subset="job_id", keep="last").index
        table = table.loc[table.index.isin(keep)]
    table = table.drop(columns="_order").reset_index(drop=True)
    table = _normalise_mixed(table[_order_columns(list(table.columns))])
    table.attrs["duplicates"] = dup

    if write:
        atomic_write_parquet(sweep_dir / RESULTS_FILE, table)
    return table


def _duplicate_text(dup: dict[str, list[str]]) -> str:
    shown = "; ".join(f"{jid} in {', '.join(dirs)}" for jid, dirs in list(dup.items())[:5])
    more = f" and {len(dup) - 5} more" if len(dup) > 5 else ""
    return (
        f"{len(dup)} job id(s) (same config and seed) found in more than one folder: {shown}{more}"
    )


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write the table to ``path`` atomically: CSV if it ends in ``.csv``, else Parquet."""
    path = Path(path)
    if path.suffix == ".csv":
        atomic_write_bytes(path, table.to_csv(index=False, float_format="%.10g").encode())
    else:
        atomic_write_parquet(path, table)


def _load(source: Path | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    source = Path(source)
    if source.is_dir():
        return collect(source, write=False)
    if source.is_file():
        return pd.read_parquet(source)
    raise CollectError(f"not found: {source}")


def query(source: Path | pd.DataFrame, sql: str) -> pd.DataFrame:
    """Run DuckDB ``sql`` against the sweep table, registered as ``results``.

    ``source`` is a sweep folder (collected afresh, not written), a Parquet file such as
    ``results.parquet``, or an already collected DataFrame.
    """
    table = _load(source)
    with duckdb.connect() as con:
        con.register("results", table)
        return con.execute(sql).df()


# --------------------------------------------------------------------------- CLI


def _shorten(value: Any, width: int = 60) -> str:
    """One cell of the printed table: first line only, floats to 6 significant digits."""
    if value is None or _is_na(value):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    lines = str(value).splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_table(df: pd.DataFrame, title: str, max_rows: int) -> None:
    """Print the first ``max_rows`` rows with rich if it is installed, else as plain text."""
    shown = df.head(max_rows)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"{title}:")
        plain = shown.map(_shorten) if len(shown) else shown
        print(plain.to_string(index=False) if len(shown.columns) else "(no columns)")
    else:
        table = Table(title=title)
        for col in shown.columns:
            table.add_column(str(col))
        for row in shown.itertuples(index=False):
            table.add_row(*(_shorten(v) for v in row))
        Console().print(table)
    if len(df) > max_rows:
        print(f"... {len(df) - max_rows} more rows")


def summary(table: pd.DataFrame) -> dict[str, int]:
    """Counts shown by the CLI: rows, ok, failed, columns."""
    status = table["status"] if "status" in table.columns else pd.Series([], dtype=object)
    return {
        "rows": len(table),
        "ok": int((status == STATUS_OK).sum()),
        "failed": int((status == STATUS_FAILED).sum()),
        "columns": len(table.columns),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: collect a sweep folder, print a summary, optionally run SQL.

    Exit status 0 even when jobs failed (that is data); 2 on bad input: a missing folder,
    no result files, or SQL that DuckDB rejects.
    """
    parser = argparse.ArgumentParser(
        prog="python -m experiments.collect",
        description="Rebuild <sweep_dir>/results.parquet from the job folders and summarise it.",
    )
    parser.add_argument("sweep_dir", type=Path, help="Hydra sweep folder (or any parent)")
    parser.add_argument(
        "--sql",
        help="DuckDB query over the table 'results', e.g. "
        '"SELECT status, count(*) FROM results GROUP BY status"',
    )
    parser.add_argument("--max-rows", type=int, default=20, help="rows to print (default 20)")
    parser.add_argument(
        "--no-write", action="store_true", help="do not write <sweep_dir>/results.parquet"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="also write the table here (.csv or .parquet)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a job id found in more than one folder (default: flag it, keep one)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        table = collect(
            args.sweep_dir,
            write=not args.no_write,
            duplicates="refuse" if args.strict else "flag",
        )
    except CollectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    counts = summary(table)
    print(
        f"{args.sweep_dir}: {counts['rows']} rows, {counts['ok']} ok, "
        f"{counts['failed']} failed, {counts['columns']} columns"
    )
    missing = missing_jobs(args.sweep_dir)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        print(f"{len(missing)} job folders without a result (killed or running): {shown}")
    dup = table.attrs.get("duplicates") or {}
    if dup:
        print(f"warning: {_duplicate_text(dup)}; kept the newest row of each")
    if not args.no_write:
        print(f"wrote {args.sweep_dir / RESULTS_FILE}")
    if args.out is not None:
        write_table(table, args.out)
        print(f"wrote {args.out}")

    if args.sql:
        try:
            result = query(table, args.sql)
        except duckdb.Error as exc:
            print(f"error: SQL failed: {exc}", file=sys.stderr)
            return 2
        _print_table(result, "query", args.max_rows)
    else:
        cols = [c for c in ("job_dir", "status", "wall_seconds", "error") if c in table.columns]
        _print_table(table[cols], "jobs", args.max_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
