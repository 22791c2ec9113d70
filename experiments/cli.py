"""The ``one2one`` command: every entry point behind one console script.

::

    one2one run market=fmcg_tribal strategy=one_to_one seed=3
    one2one compare market=specialty_retail
    one2one uplift dataset=hillstrom estimator=x_lightgbm
    one2one run -m experiment=granularity hydra/launcher=joblib
    one2one collect multirun/granularity/<run>
    one2one figures multirun/granularity/<run>/results.parquet
    one2one calibrate --no-fit
    one2one publish figures

``run``, ``compare`` and ``uplift`` are Hydra apps (overrides, ``-m``, ``--help``,
``--cfg job``); the others take ordinary options (``one2one figures --help``).  Each is
the same as ``python -m experiments.<command>``.

Tab completion: ``eval "$(one2one -sc install=bash)"`` installs Hydra's bash completion
for ``one2one``; it completes the command names, then each Hydra app's config groups,
options and keys (``one2one run market=<TAB>``).  Hydra's completion script asks the
program itself (``one2one -sc query=bash`` with the line in ``COMP_LINE``); this module
answers for the command names and hands the rest of the line to the app.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

#: Command -> (module, kind): ``hydra`` apps are started by their module's ``cli``,
#: the others by its ``main(argv)``.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "run": ("experiments.run", "hydra"),
    "compare": ("experiments.compare", "hydra"),
    "uplift": ("experiments.uplift", "hydra"),
    "collect": ("experiments.collect", "argparse"),
    "figures": ("experiments.figures", "argparse"),
    "calibrate": ("experiments.calibrate", "argparse"),
    "publish": ("experiments.publish", "argparse"),
    "reproduce": ("experiments.reproduce", "argparse"),
}
PROG: Final = "one2one"
_COMPLETION: Final = ("-sc", "--shell-completion")


def usage() -> str:
    lines = [f"usage: {PROG} <command> [arguments]", "", "commands:"]
    for name, (module, kind) in COMMANDS.items():
        what = "Hydra overrides, -m to sweep" if kind == "hydra" else "options: --help"
        lines.append(f"  {name:<10} python -m {module}  ({what})")
    lines += ["", f'shell completion: eval "$({PROG} -sc install=bash)"']
    return "\n".join(lines)


def _dispatch(command: str, argv: Sequence[str]) -> int:
    module, kind = COMMANDS[command]
    mod = importlib.import_module(module)
    if kind == "hydra":
        mod.cli(list(argv))
        return 0
    return int(mod.main(list(argv)) or 0)


def _complete(argv: Sequence[str]) -> int:
    """Answer Hydra's completion script for ``one2one``.

    ``install``/``uninstall`` are Hydra's own (for the program name ``one2one``); a
    query completes the command name, or hands the line without it to the command's
    Hydra app (which then completes its overrides as ``one2one <overrides>``).
    """
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    query = any(a.startswith("query=") for a in argv)
    if not query:  # install / uninstall: any Hydra app prints the script for sys.argv[0]
        importlib.import_module("experiments.run").cli(list(argv))
        return 0
    if len(words) <= 1 or (len(words) == 2 and not line.endswith(" ")):
        typed = words[1] if len(words) == 2 else ""
        print(" ".join(c for c in COMMANDS if c.startswith(typed)))
        return 0
    command = words[1]
    if command not in COMMANDS or COMMANDS[command][1] != "hydra":
        return 0  # options and paths: the shell's own completion (-o default)
    rest = line.split(command, 1)[1]
    os.environ["COMP_LINE"] = f"{words[0]}{rest}"
    os.environ["COMP_POINT"] = str(len(os.environ["COMP_LINE"]))
    importlib.import_module(COMMANDS[command][0]).cli(list(argv))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``one2one`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in _COMPLETION:
        return _complete(args)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"{PROG}: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return _dispatch(command, rest)


if __name__ == "__main__":
    raise SystemExit(main())
