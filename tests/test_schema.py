"""One schema for every config: ranges beside the fields, every error at once with its key."""

from __future__ import annotations

import dataclasses

import pytest

from sim.config import MarketConfig
from sim.economics import EconomicsConfig
from sim.experiment import build_run_config
from sim.schema import ConfigError, Spec, build, spec_errors
from sim.strategies.one_to_one import OneToOneConfig
from sim.uplift.config import DatasetConfig, EstimatorConfig
from sim.uplift.pilot import PilotConfig


def test_three_mistakes_are_reported_together_with_their_dotted_keys() -> None:
    data = {
        "seed": 0,
        "market": {"n_consumers": 0},
        "strategy": {"name": "mass", "budgett": 100},
        "economics": {"margin_rate": 2.0},
    }
    with pytest.raises(ConfigError) as info:
        build_run_config(data)
    errors = info.value.errors
    assert len(errors) == 3, errors
    assert any(e.startswith("market.n_consumers = 0 is out of range") for e in errors), errors
    assert any("strategy.budgett" in e and "Did you mean 'budget'?" in e for e in errors), errors
    assert any(e.startswith("economics.margin_rate = 2.0") for e in errors), errors
    assert str(info.value).startswith("3 problems:")


def test_errors_inside_one_config_are_all_reported() -> None:
    data = {
        "tribes": {"variance_share": 1.5, "nn": 3},
        "purchase": {"base_rate": "high"},
        "lifecycle": {"shares": [0.5, -0.5, 1.0]},
    }
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, data, "market")
    keys = sorted(e.split(" ")[0].rstrip(":;") for e in info.value.errors)
    assert keys == [
        "Unknown",
        "market.lifecycle.shares[1]",
        "market.purchase.base_rate",
        "market.tribes.variance_share",
    ], info.value.errors
    assert any("market.tribes.nn" in e for e in info.value.errors)


def test_a_misspelt_table_key_is_one_error_not_two() -> None:
    econ = dataclasses.asdict(EconomicsConfig())
    econ["contact_cost"]["emial"] = econ["contact_cost"].pop("email")
    with pytest.raises(ConfigError) as info:
        build(EconomicsConfig, econ, "economics")
    assert info.value.errors == [
        "economics.contact_cost: unknown name 'emial'; valid choices: email, sms, push, "
        "social, direct_mail, phone, display. Did you mean 'email'?"
    ]


@pytest.mark.parametrize(
    "cls", [MarketConfig, EconomicsConfig, OneToOneConfig, PilotConfig, EstimatorConfig]
)
def test_every_config_declares_its_ranges_beside_its_fields(cls: type) -> None:
    """Each config family carries at least one spec, and its defaults satisfy every spec."""
    fields = dataclasses.fields(cls)
    assert any(isinstance(f.metadata.get("spec"), Spec) for f in fields), cls
    obj = cls(name="e") if cls is EstimatorConfig else cls()
    assert spec_errors(obj) == []


def test_direct_construction_checks_the_same_specs() -> None:
    with pytest.raises(
        ConfigError, match=r"^max_share = 0\.0 is out of range; it must lie in \(0, 1\]"
    ):
        OneToOneConfig(max_share=0.0)
    with pytest.raises(ConfigError, match=r"^discounts\[1\] = 1\.0 is out of range"):
        OneToOneConfig(discounts=[0.0, 1.0])
    with pytest.raises(ConfigError, match=r"^channels\[0\]: 'fax' is not a valid choice"):
        OneToOneConfig(channels=["fax"])


def test_estimator_and_dataset_configs_use_the_same_schema() -> None:
    with pytest.raises(ConfigError) as info:
        EstimatorConfig.from_dict({"name": "e", "learner": "xx", "max_depth": 0})
    assert len(info.value.errors) == 2
    with pytest.raises(ConfigError) as info:
        DatasetConfig.from_dict(
            {
                "name": "csv",
                "path": 3,
                "treatment_col": "arm",
                "control_label": "c",
                "outcome_col": "y",
                "test_size": "half",
            }
        )
    assert sorted(e.split(":")[0] for e in info.value.errors) == [
        "dataset.path",
        "dataset.test_size",
    ]
