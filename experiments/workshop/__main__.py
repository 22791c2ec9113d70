"""Start the workshop: ``python -m experiments.workshop [--host 127.0.0.1] [--port 8501]``.

Serves on localhost by default; ``--host 0.0.0.0`` serves a classroom network.  The
server runs headless, sends no usage statistics, shows no tracebacks in the browser and
does not watch files.  ``--workers`` sets the worker processes shared by all students
(default: up to 2); ``WORKSHOP_TEACHER_CODE`` in the environment protects Teacher mode.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
ROOT = Path(__file__).resolve().parents[2]


def command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line with the workshop's server settings."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--server.maxUploadSize",
        "1",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--global.developmentMode",
        "false",
    ]


def environment(workers: int | None) -> dict[str, str]:
    """The server's environment: this checkout importable, one thread per process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    if workers is not None:
        env["WORKSHOP_WORKERS"] = str(workers)
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.workshop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve (0.0.0.0: a room)")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument(
        "--workers",
        type=int,
        choices=range(0, 9),
        default=None,
        help="simulation worker processes shared by all students (0: inline)",
    )
    args = parser.parse_args(argv)
    print(f"Workshop: http://{'localhost' if args.host == '127.0.0.1' else args.host}:{args.port}")
    os.execve(sys.executable, command(args.host, args.port), environment(args.workers))


if __name__ == "__main__":
    main()
