"""Glue shared by the Hydra entry points: compose presets, validate, find the output dir.

:func:`compose` is the one way every caller outside a running Hydra app (calibration,
the benchmarks, the uplift entry point, the tests, notebooks) composes a config from
``conf/``; :func:`market_config` and :func:`run_config` turn the result into the
library's validated dataclasses, so ``sim/`` never needs Hydra.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose as _hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim.config import MarketConfig
from sim.experiment import RunConfig, build_run_config
from sim.schema import ConfigError, build

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
        raise SystemExit(2) from None


def output_dir() -> Path:
    """The run's output folder (honours ``hydra.run.dir`` / ``hydra.sweep.dir``)."""
    return Path(HydraConfig.get().runtime.output_dir)


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)
