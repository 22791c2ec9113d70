"""Glue shared by the Hydra entry points: validate the composed config, find the output dir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim.experiment import RunConfig, build_run_config
from sim.schema import ConfigError


def plain(cfg: DictConfig) -> dict[str, Any]:
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


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
