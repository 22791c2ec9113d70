"""Sweep scaling check: the same granularity sweep with 1 and 2 joblib workers.

    python -m experiments.bench.sweeps [--workers 1 2] [--seeds 10] [--n-consumers 20000]
                                       [--repeat 3] [--min-speedup 1.8]

Runs ``python -m experiments.run -m experiment=granularity market=default seed=0,..``
(9 values of k x ``--seeds`` seeds = 90 jobs by default) once per worker count, each
into its own sweep folder under ``--out``, as a subprocess with the
``hydra/launcher=local_procs`` preset (joblib) and ``hydra.launcher.n_jobs=<workers>``.
With ``--repeat R`` the worker counts are run in turn R times (1, 2, 1, 2, ...) and the
shortest wall time of each counts (other processes on a shared machine only ever slow a
run down).  Prints the wall and CPU times and the speed-up over the first worker count,
and checks that the collected tables (:mod:`experiments.collect`) are identical apart
from timing columns and the git revision: a job's result may depend only on its config
and seed, not on the launcher or the number of workers.  Exit status 1 if the tables
differ, or if ``--min-speedup`` is given and not reached.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

#: Columns that legitimately differ between two runs of the same job: timings, and the
#: git revision (another commit may land between two runs; it is provenance, not a result).
VOLATILE_COLUMNS: Final = frozenset({"wall_seconds", "finished_at", "run_seconds", "git_rev"})
K_VALUES: Final = "1,2,4,8,16,50,200,1000,20000"
ROOT: Final = Path(__file__).resolve().parents[2]
"""The repository root (the sweeps run from there)."""


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without timing columns, rows in job order (for equality checks)."""
    keep = [c for c in table.columns if c not in VOLATILE_COLUMNS]
    return table[keep].sort_values("job_dir", kind="stable").reset_index(drop=True)


def tables_equal(a: pd.DataFrame, b: pd.DataFrame) -> tuple[bool, str]:
    """Exact equality of :func:`comparable` views; the message says what differs."""
    ca, cb = comparable(a), comparable(b)
    if list(ca.columns) != list(cb.columns):
        diff = sorted(set(ca.columns) ^ set(cb.columns))
        return False, f"columns differ: {diff[:10]}"
    if len(ca) != len(cb):
        return False, f"row counts differ: {len(ca)} vs {len(cb)}"
    try:
        pd.testing.assert_frame_equal(ca, cb, check_exact=True)
    except AssertionError as exc:
        return False, str(exc).splitlines()[0] + " ... " + " ".join(str(exc).split())[-300:]
    return True, f"{len(ca)} rows x {len(ca.columns)} columns identical"


def sweep_command(
    sweep_dir: Path, workers: int, seeds: int, n_consumers: int, extra: Sequence[str] = ()
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        "experiment=granularity",
        "market=default",
        f"strategy.k={K_VALUES}",
        "seed=" + ",".join(str(s) for s in range(seeds)),
        f"market.n_consumers={n_consumers}",
        "hydra/launcher=local_procs",
        f"hydra.launcher.n_jobs={workers}",
        f"hydra.sweep.dir={sweep_dir}",
        *extra,
    ]


def run_sweep(cmd: list[str], log_path: Path) -> tuple[float, float, int]:
    """Run a sweep; return (wall seconds, CPU seconds of the children, exit status)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tic = time.perf_counter()
    with open(log_path, "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    wall = time.perf_counter() - tic
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, rc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.bench.sweeps", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per k (default 10: 90 jobs)")
    parser.add_argument(
        "--n-consumers",
        type=int,
        default=20000,
        help="market size (default 20,000 = the largest k: one segment per "
        "customer; about 1.7 s a job, so that the workers' start-up, a few "
        "seconds each, is small beside the work)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the worker counts in turn this many times; best wall counts",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the sweep folders (default: a temporary one, removed)",
    )
    parser.add_argument(
        "--min-speedup",
        type=float,
        default=None,
        help="fail unless the last worker count reaches this speed-up",
    )
    args = parser.parse_args(argv)

    from experiments.collect import collect

    out = args.out or Path(tempfile.mkdtemp(prefix="sweep_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    n_jobs = 9 * args.seeds
    print(
        f"granularity sweep: {n_jobs} jobs, {args.n_consumers:,} customers, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    tables: dict[int, pd.DataFrame] = {}
    try:
        for rep in range(args.repeat):
            for w in args.workers:
                sweep_dir = out / f"workers_{w}"
                if sweep_dir.exists():
                    shutil.rmtree(sweep_dir)  # a fresh sweep, not a resume
                cmd = sweep_command(sweep_dir, w, args.seeds, args.n_consumers)
                log_path = out / f"workers_{w}.log"
                wall, cpu, rc = run_sweep(cmd, log_path)
                if rc != 0:
                    print(
                        f"sweep with {w} workers failed (exit {rc}); log: {log_path}",
                        file=sys.stderr,
                    )
                    return 1
                table = collect(sweep_dir)
                if w in tables:  # repeats must agree too
                    same, msg = tables_equal(tables[w], table)
                    if not same:
                        print(f"repeat {rep} with {w} workers differs: {msg}", file=sys.stderr)
                        return 1
                tables[w] = table
                ok = int((table["status"] == "ok").sum())
                rows.append(
                    {
                        "workers": w,
                        "repeat": rep,
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "jobs_ok": ok,
                        "load_avg": os.getloadavg()[0],
                    }
                )
                print(
                    f"  {w} worker(s), run {rep + 1}: {wall:7.1f} s wall, {cpu:7.1f} s CPU, "
                    f"{ok}/{n_jobs} ok, load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        runs = pd.DataFrame(rows)
        rows = [
            {
                "workers": w,
                "runs": len(g),
                "best_wall_s": g["wall_s"].min(),
                "median_wall_s": g["wall_s"].median(),
                "cpu_s": g["cpu_s"].median(),
                "jobs_ok": int(g["jobs_ok"].min()),
            }
            for w, g in runs.groupby("workers", sort=False)
        ]
        res = pd.DataFrame(rows)
        res["speedup"] = res["best_wall_s"].iloc[0] / res["best_wall_s"]
        print(res.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        first = args.workers[0]
        status = 0
        for w in args.workers[1:]:
            same, msg = tables_equal(tables[first], tables[w])
            print(f"tables {first} vs {w} workers: {'IDENTICAL' if same else 'DIFFER'} ({msg})")
            status |= 0 if same else 1
        speedup = float(res["speedup"].iloc[-1])
        if args.min_speedup is not None and speedup < args.min_speedup:
            print(f"speed-up {speedup:.2f} below the required {args.min_speedup:.2f}")
            status |= 1
        return status
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
