"""Config validation: sim.schema.build and sim.config.MarketConfig reject what does not fit,
with a ConfigError whose message names the dotted key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.config import CHANNELS, ChannelConfig, LifecycleConfig, MarketConfig, TribeConfig
from sim.schema import ConfigError, build, check_range, suggest, to_dict
from sim.strategies.base import build_strategy_config
from sim.strategies.mass import MassConfig

REPO = Path(__file__).resolve().parents[1]


def test_build_accepts_a_valid_nested_mapping() -> None:
    cfg = build(
        MarketConfig,
        {"n_consumers": 1000, "horizon_days": 30, "tribes": {"n": 4, "variance_share": 0.8}},
    )
    assert isinstance(cfg, MarketConfig)
    assert cfg.n_consumers == 1000
    assert isinstance(cfg.horizon_days, float) and cfg.horizon_days == 30.0  # int -> float
    assert isinstance(cfg.tribes, TribeConfig)
    assert cfg.tribes.n == 4 and cfg.tribes.variance_share == 0.8
    assert cfg.tribes.declared_share == TribeConfig().declared_share  # untouched default


def test_round_trip_through_to_dict() -> None:
    cfg = build(MarketConfig, {"n_consumers": 777, "tribes": {"variance_share": 0.25}})
    again = build(MarketConfig, to_dict(cfg))
    assert again == cfg


def test_default_yaml_preset_builds() -> None:
    data = yaml.safe_load((REPO / "conf" / "market" / "default.yaml").read_text())
    data.pop("defaults", None)
    cfg = build(MarketConfig, data)
    assert cfg.n_consumers == data["n_consumers"]
    assert set(cfg.channels) == set(CHANNELS)


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"n_consumers": "many"}, "n_consumers", "expected an integer"),
        ({"n_consumers": 12.5}, "n_consumers", "expected an integer"),
        ({"n_consumers": True}, "n_consumers", "expected an integer"),
        ({"horizon_days": "90"}, "horizon_days", "expected a number"),
        ({"tribes": {"n": "twelve"}}, "tribes.n", "expected an integer"),
        ({"tribes": 3}, "tribes", "expected a mapping"),
        ({"categories": "apparel"}, "categories", "expected a list"),
        ({"categories": ["a", 3]}, "categories[1]", "expected a string"),
        ({"channels": {"email": {"reach": "high"}}}, "channels.email.reach", "expected a number"),
        ({"lifecycle": {"shares": [0.2, "x", 0.8]}}, "lifecycle.shares[1]", "expected a number"),
    ],
)
def test_wrong_type_names_the_dotted_key(data: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, data)
    msg = str(info.value)
    assert msg.startswith(key), msg
    assert fragment in msg


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"tribes": {"variance_share": 1.5}}, "tribes.variance_share"),
        ({"tribes": {"variance_share": -0.1}}, "tribes.variance_share"),
        ({"tribes": {"n": 0}}, "tribes.n"),
        ({"n_consumers": 0}, "n_consumers"),
        ({"horizon_days": 0.0}, "horizon_days"),
        ({"step_days": 31.0}, "step_days"),
        ({"purchase": {"base_rate": 0.0}}, "purchase.base_rate"),
        ({"creepiness": {"softness": 0.0}}, "creepiness.softness"),
        ({"creepiness": {"optout_prob": 1.2}}, "creepiness.optout_prob"),
        ({"response": {"fatigue_half_life_days": -1.0}}, "response.fatigue_half_life_days"),
        ({"awareness": {"initial_mean": 1.0}}, "awareness.initial_mean"),
        (
            {"consent": {"share": {"implicit": 1.5, "explicit": 0.5, "ambient": 0.3}}},
            "consent.share.implicit",
        ),
        (
            {"channels": {ch: ({"reach": 2.0} if ch == "sms" else {}) for ch in CHANNELS}},
            "channels.sms.reach",
        ),
        ({"tribes": {"variance_share": float("nan")}}, "tribes.variance_share"),
    ],
)
def test_out_of_range_names_the_dotted_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, data)
    msg = str(info.value)
    assert msg.startswith(key + " = "), msg
    assert "out of range" in msg


def test_boundary_values_are_accepted() -> None:
    # variance_share is a closed interval [0, 1]: both ends are valid.
    for rho in (0.0, 1.0):
        assert build(MarketConfig, {"tribes": {"variance_share": rho}}).tribes.variance_share == rho


def test_unknown_key_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, {"n_consumerz": 100})
    msg = str(info.value)
    assert "n_consumerz" in msg
    assert "Did you mean 'n_consumers'?" in msg


def test_unknown_nested_key_is_dotted() -> None:
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, {"tribes": {"variance_shar": 0.3}})
    msg = str(info.value)
    assert "tribes.variance_shar" in msg
    assert "Did you mean 'variance_share'?" in msg


def test_unknown_channel_name_is_named() -> None:
    channels = {ch: {} for ch in CHANNELS if ch != "email"}
    channels["emial"] = {}
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, {"channels": channels})
    msg = str(info.value)
    assert msg.startswith("channels"), msg
    assert "'emial'" in msg
    assert "Did you mean 'email'?" in msg


def test_missing_channel_is_named() -> None:
    channels = {ch: {} for ch in CHANNELS if ch != "phone"}
    with pytest.raises(ConfigError, match=r"^channels: missing entries for phone"):
        build(MarketConfig, {"channels": channels})


def test_unknown_data_kind_in_consent_is_named() -> None:
    share = {"implicit": 0.8, "explicit": 0.5, "ambiant": 0.3}
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, {"consent": {"share": share}})
    msg = str(info.value)
    assert msg.startswith("consent.share"), msg
    assert "Did you mean 'ambient'?" in msg


@pytest.mark.parametrize("shares", [[0.5, 0.5, 0.5], [0.1, 0.1, 0.1], [1.0, 0.0, 0.01]])
def test_lifecycle_shares_must_sum_to_one(shares: list[float]) -> None:
    with pytest.raises(ConfigError) as info:
        build(MarketConfig, {"lifecycle": {"shares": shares}})
    msg = str(info.value)
    assert msg.startswith("lifecycle.shares"), msg
    assert "sum to 1" in msg


def test_lifecycle_needs_one_value_per_stage() -> None:
    with pytest.raises(ConfigError, match=r"^lifecycle\.rate_multiplier"):
        build(MarketConfig, {"lifecycle": {"rate_multiplier": [1.0, 1.0]}})


def test_dataclasses_validate_on_direct_construction() -> None:
    with pytest.raises(ConfigError, match="variance_share"):
        TribeConfig(variance_share=1.5)
    with pytest.raises(ConfigError, match="shares"):
        LifecycleConfig(shares=[0.3, 0.3, 0.3])
    with pytest.raises(ConfigError, match="reach"):
        ChannelConfig(reach=-0.1)
    with pytest.raises(ConfigError, match="categories"):
        MarketConfig(categories=["a", "a"])
    with pytest.raises(ConfigError, match="categories"):
        MarketConfig(categories=[])


def test_check_range_and_suggest_helpers() -> None:
    check_range("x", 0.0, 0.0, 1.0)  # closed ends are fine
    with pytest.raises(ConfigError, match=r"^x = 0\.0 is out of range; it must lie in \(0, 1\]"):
        check_range("x", 0.0, 0.0, 1.0, lo_open=True)
    assert suggest("n_consumerz", ["n_consumers", "horizon_days"]) == " Did you mean 'n_consumers'?"
    assert suggest("zzzzzz", ["n_consumers"]) == ""


def test_strategy_config_validation() -> None:
    cfg = build_strategy_config({"name": "mass", "channel": "sms", "end_day": 10})
    assert isinstance(cfg, MassConfig) and cfg.channel == "sms"
    with pytest.raises(ConfigError, match=r"^strategy\.name: 'mas' is not a valid choice"):
        build_strategy_config({"name": "mas"})
    with pytest.raises(ConfigError, match="Did you mean 'email'"):
        build_strategy_config({"name": "mass", "channel": "emial"})
    with pytest.raises(ConfigError, match=r"^strategy\.holdout_share"):
        build_strategy_config({"name": "mass", "holdout_share": 1.0})
    with pytest.raises(ConfigError, match=r"strategy\.every_dayz"):
        build_strategy_config({"name": "mass", "every_dayz": 3})
