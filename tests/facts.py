"""Shared runner for the stylised-fact tests: compose a preset with Hydra, run, cache."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from experiments._common import compose, plain
from sim.experiment import build_run_config, run_experiment

CONF = str(Path(__file__).resolve().parent.parent / "conf")


def compose_run(preset: str, strategy: str, seed: int, **overrides: Any) -> dict[str, Any]:
    ov = [f"market={preset}", f"strategy={strategy}", f"seed={seed}"]
    ov += [
        f"{k}={json.dumps(v) if isinstance(v, list | bool) else v}" for k, v in overrides.items()
    ]
    return plain(compose("config", ov))


@functools.cache
def _run(preset: str, strategy: str, seed: int, frozen: str) -> str:
    cfg = build_run_config(compose_run(preset, strategy, seed, **json.loads(frozen)))
    return json.dumps(run_experiment(cfg).to_dict())


def run(preset: str, strategy: str, seed: int, **overrides: Any) -> dict[str, Any]:
    """Metrics of one run (cached per process)."""
    return json.loads(_run(preset, strategy, seed, json.dumps(overrides, sort_keys=True)))
