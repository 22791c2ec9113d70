"""Presets from ``conf/`` without Hydra: the market, economics and strategy options as the
library's validated dataclasses, for notebooks, the workshop and tests.

An option file may start from another option of its group (``defaults: [default,
_self_]``); its own keys are deep-merged over that base, as Hydra does for these groups
(``tests/test_presets.py`` checks every option against Hydra's own composition).
Overrides use dotted keys relative to the group: ``market("specialty_retail",
n_consumers=50_000, **{"tribes.variance_share": 0.3})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sim.config import MarketConfig
from sim.economics import EconomicsConfig
from sim.schema import ConfigError, build, choice
from sim.strategies import StrategyConfig, build_strategy_config

GROUPS = ("market", "economics", "strategy", "estimator")


def conf_dir() -> Path:
    """The ``conf/`` folder shipped with the package."""
    return Path(str(resources.files("conf")))


def options(group: str) -> list[str]:
    """The option names of a config group (``conf/<group>/*.yaml``)."""
    choice("group", group, GROUPS)
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, anything else (lists included) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@cache
def _raw(group: str, name: str) -> dict[str, Any]:
    path = conf_dir() / group / f"{name}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{group}/{name}.yaml: expected a mapping at the top.")
    return data


def option(group: str, name: str) -> dict[str, Any]:
    """The plain values of option ``name`` of ``group``, its defaults list resolved."""
    choice(group, name, options(group))
    data = dict(_raw(group, name))
    out: dict[str, Any] = {}
    own_done = False
    for entry in data.pop("defaults", ["_self_"]):
        if entry == "_self_":
            out, own_done = merge(out, data), True
        elif isinstance(entry, str):
            out = merge(out, option(group, entry))
        else:
            raise ConfigError(f"{group}/{name}.yaml: unsupported defaults entry {entry!r}.")
    return out if own_done else merge(out, data)


def with_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with dotted-key ``overrides`` applied (``{"tribes.n": 6}``)."""
    out = dict(data)
    for dotted, value in overrides.items():
        head, _, rest = dotted.partition(".")
        if rest:
            inner = out.get(head)
            out[head] = with_overrides(
                dict(inner) if isinstance(inner, Mapping) else {}, {rest: value}
            )
        else:
            out[head] = value
    return out


def market(preset: str = "default", **overrides: Any) -> MarketConfig:
    """The validated market preset ``conf/market/<preset>.yaml`` with ``overrides``."""
    return build(MarketConfig, with_overrides(option("market", preset), overrides), "market")


def economics(preset: str = "default", **overrides: Any) -> EconomicsConfig:
    """The validated economics preset ``conf/economics/<preset>.yaml`` with ``overrides``."""
    data = with_overrides(option("economics", preset), overrides)
    return build(EconomicsConfig, data, "economics")


def strategy(name: str = "mass", **overrides: Any) -> StrategyConfig:
    """The validated strategy option ``conf/strategy/<name>.yaml`` with ``overrides``."""
    return build_strategy_config(with_overrides(option("strategy", name), overrides))
