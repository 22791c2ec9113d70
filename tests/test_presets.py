"""Presets loaded without Hydra (sim.presets) equal Hydra's own composition, option by option."""

from __future__ import annotations

import pytest

from experiments._common import compose, plain
from sim import presets
from sim.schema import ConfigError, to_dict
from sim.strategies import build_strategy_config


@pytest.mark.parametrize("name", presets.options("market"))
def test_market_preset_equals_hydra_composition(name: str) -> None:
    hydra = plain(compose("config", [f"market={name}", "economics=default"]))["market"]
    assert to_dict(presets.market(name)) == hydra


@pytest.mark.parametrize("name", presets.options("economics"))
def test_economics_preset_equals_hydra_composition(name: str) -> None:
    hydra = plain(compose("config", [f"economics={name}"]))["economics"]
    assert to_dict(presets.economics(name)) == hydra


@pytest.mark.parametrize("name", presets.options("strategy"))
def test_strategy_option_equals_hydra_composition(name: str) -> None:
    hydra = plain(compose("config", [f"strategy={name}"]))["strategy"]
    assert to_dict(presets.strategy(name)) == to_dict(build_strategy_config(hydra))


def test_overrides_use_dotted_keys_and_are_validated() -> None:
    m = presets.market("specialty_retail", n_consumers=5000, **{"tribes.variance_share": 0.3})
    assert (m.n_consumers, m.tribes.variance_share, m.tribes.n) == (5000, 0.3, 12)
    with pytest.raises(ConfigError, match=r"market\.tribes\.variance_share = 2"):
        presets.market("default", **{"tribes.variance_share": 2})
    with pytest.raises(ConfigError, match="Did you mean 'specialty_retail'"):
        presets.market("specialty_retial")
