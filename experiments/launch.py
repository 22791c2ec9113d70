"""Start a Hydra entry point: accept ``experiment=<study>``, check a single run's command
line before Hydra runs it.

Every Hydra entry point (``run``, ``compare``, ``uplift``) starts here, whether called as
``python -m experiments.<name>`` or as ``one2one <name>`` (:mod:`experiments.cli`):

* ``+experiment=<study>`` (the spelling of older commands) is read as ``experiment=<study>``
  (the spelling of lightning-hydra-template, now that ``experiment`` is a config group
  of the primary configs with default ``null``);
* a single run's overrides are composed and validated first
  (:func:`experiments.sweep_validation.check_command_line`), so a typo such as
  ``strategy.budgett=100`` gets the same "Did you mean 'strategy.budget'?" and exit
  status 2 as in a sweep, instead of Hydra's raw error and status 1.  Sweeps are checked
  by the sweep callback (:mod:`experiments.callbacks`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Final

from experiments._common import CONF_DIR, EXIT_INVALID

#: The config group of the studies (``conf/experiment/``).
EXPERIMENT: Final = "experiment"


def normalise(argv: Sequence[str]) -> list[str]:
    """``+experiment=x`` -> ``experiment=x`` (the group is in the defaults list)."""
    prefix = f"+{EXPERIMENT}="
    return [f"{EXPERIMENT}={a[len(prefix) :]}" if a.startswith(prefix) else a for a in argv]


def precheck(config_name: str, argv: Sequence[str]) -> None:
    """Exit 2, naming each problem, if a single run's command line cannot run."""
    from experiments.sweep_validation import check_command_line

    problems = check_command_line(str(CONF_DIR), config_name, argv)
    if problems:
        print(
            f"Invalid configuration: {len(problems)} problem(s); nothing was run.", file=sys.stderr
        )
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        sys.stderr.flush()
        raise SystemExit(EXIT_INVALID)


def launch(main: Callable[[], None], config_name: str, argv: Sequence[str] | None = None) -> None:
    """Run the ``hydra.main`` function ``main`` (primary config ``config_name``) on
    ``argv`` (default: the process's arguments), after :func:`normalise` and
    :func:`precheck`."""
    args = normalise(sys.argv[1:] if argv is None else argv)
    precheck(config_name, args)
    sys.argv = [sys.argv[0], *args]
    main()


__all__ = ["EXPERIMENT", "launch", "normalise", "precheck"]
