"""Glue shared by the Hydra entry points: compose presets, validate, find the output dir.

:func:`compose` is the one way every caller outside a running Hydra app (calibration,
the benchmarks, the uplift entry point, the tests, notebooks) composes a config from
``conf/``; :func:`market_config` and :func:`run_config` turn the result into the
library's validated dataclasses, so ``sim/`` never needs Hydra.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from hydra import compose as _hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments.jobs import register_resolver
from sim.config import MarketConfig
from sim.experiment import RunConfig, build_run_config
from sim.schema import ConfigError, build

register_resolver()  # ${job_dir:...} in hydra.sweep.subdir, resolved in every job process

#: Exit status of a run whose job failed (a bad config exits 2 before any work).
EXIT_FAILED = 1
EXIT_INVALID = 2

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
"""The config folder (``conf/``) beside ``experiments/``."""


def compose(config_name: str = "config", overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with Hydra-style ``overrides``.

    Inside a running Hydra app (or an open ``initialize`` context) the app's own config
    search path is used; otherwise ``conf/`` is loaded for this call only.  Raises
    Hydra's own errors (which name the missing option and list the valid ones).
    """
    if GlobalHydra.instance().is_initialized():
        return _hydra_compose(config_name, overrides=list(overrides))
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return _hydra_compose(config_name, overrides=list(overrides))


def plain(cfg: DictConfig) -> dict[str, Any]:
    """A composed config as plain, resolved Python values (no ``hydra`` node)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items() if k != "hydra"}


def market_config(preset: str = "default", overrides: Sequence[str] = ()) -> MarketConfig:
    """The validated :class:`MarketConfig` of ``conf/market/<preset>.yaml``.

    ``overrides`` are relative to the market (``"n_consumers=5000"`` means
    ``market.n_consumers=5000``).
    """
    cfg = compose(
        "config", [f"market={preset}", "economics=default", *(f"market.{o}" for o in overrides)]
    )
    return build(MarketConfig, plain(cfg)["market"], "market")


def run_config(overrides: Sequence[str] = ()) -> RunConfig:
    """The validated :class:`RunConfig` of ``conf/config.yaml`` with ``overrides``."""
    return build_run_config(plain(compose("config", overrides)))


def validated(cfg: DictConfig) -> RunConfig:
    """Validate before any work starts; a bad value exits with a message naming the key."""
    try:
        return build_run_config(plain(cfg))
    except ConfigError as exc:
        print(f"Invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def output_dir() -> Path:
    """The run's output folder (honours ``hydra.run.dir`` / ``hydra.sweep.dir``)."""
    return Path(HydraConfig.get().runtime.output_dir)


def is_multirun() -> bool:
    """Whether this job is one of a sweep (``-m``), inside a running Hydra app."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def on_conflict() -> str:
    """What :func:`experiments.store.run_job` does with another config's result in the
    folder: a single run refuses it (the user chose the folder), a sweep job keeps it."""
    return "keep" if is_multirun() else "refuse"


def echo(text: str, *, console: bool = True) -> None:
    """Print ``text`` (unless ``console`` is false) and write it to the run's log file.

    Hydra's job log (``<run dir>/<entry point>.log``) receives what the job logs, not
    what it prints; a summary goes through here so that the log holds it too.
    """
    if console:
        print(text, flush=True)
    record = logging.LogRecord("experiments", logging.INFO, __file__, 0, text, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


class _NotFrom(logging.Filter):
    """Drops records of one logger below WARNING."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.logger = name

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == self.logger and record.levelno < logging.WARNING)


def quiet_console_for(logger: str) -> None:
    """Keep ``logger``'s INFO records out of the console (the log file still gets them):
    a command that prints its own line per step need not print the store's as well."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.addFilter(_NotFrom(logger))


def refuse(message: str) -> NoReturn:
    """Exit 2 with ``message`` (nothing was run)."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(EXIT_INVALID)


def failure_line(what: str, row: Mapping[str, Any], folder: Path) -> str:
    """One line on a failed job: what failed, the error's first line, where its log is."""
    error = str(row.get("error") or "unknown error").strip().splitlines()
    first = error[0] if error else "unknown error"
    return f"{what} failed: {first} (traceback: {Path(folder) / 'error.txt'})"


def finish(failures: Sequence[str]) -> None:
    """End a job: in a single run, any failure exits with status 1 after its line is
    printed and logged; in a sweep the lines go to the job's log and the sweep exits 1
    at its end (:mod:`experiments.callbacks`)."""
    multirun = is_multirun()
    for line in failures:
        echo(line, console=False)
        if not multirun:
            print(line, file=sys.stderr, flush=True)
    if failures and not multirun:
        raise SystemExit(EXIT_FAILED)


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)
