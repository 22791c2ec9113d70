"""One run as a plain function: the typed :class:`RunResult` and its ``metrics.json``."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra.core.global_hydra import GlobalHydra

from experiments._common import run_config
from sim.experiment import Effect, RunResult, build_run_config, run_experiment
from sim.schema import ConfigError

TINY = [
    "strategy=segmented",
    "market.n_consumers=800",
    "market.horizon_days=20",
    "strategy.end_day=20",
    "seed=3",
]
#: The keys of ``metrics.json``, in order (the truth-only keys last but ``run_seconds``).
KEYS = [
    "strategy",
    "market",
    "seed",
    "n_consumers",
    "horizon_days",
    "contacts",
    "contacts_by_channel",
    "treated_consumers",
    "holdout_consumers",
    "response_rate",
    "incremental_conversions",
    "incremental_revenue",
    "incremental_profit",
    "roi",
    "cost_per_incremental_conversion",
    "cost",
    "optout_price",
    "opt_outs",
    "backlash_events",
    "purchases",
    "revenue",
]


def test_metrics_json_is_the_results_to_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m experiments.run`` (in this process) writes exactly ``to_dict()`` of the
    RunResult it got, key order included, and that dict survives a JSON round trip."""
    import experiments.run as run_mod

    got: list[RunResult] = []

    def spy(cfg: Any, **kw: Any) -> RunResult:
        got.append(run_experiment(cfg, **kw))
        return got[-1]

    monkeypatch.setattr(run_mod, "run_experiment", spy)
    monkeypatch.setattr(sys, "argv", ["experiments.run", *TINY, f"hydra.run.dir={tmp_path}"])
    GlobalHydra.instance().clear()
    try:
        run_mod.main()
    finally:
        GlobalHydra.instance().clear()
    (result,) = got
    as_dict = result.to_dict()
    text = json.dumps(as_dict)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert json.dumps(written) == text  # same keys, same order, same values
    assert json.loads(text) == written
    assert list(written) == [
        *KEYS,
        "awareness_lift",
        "baseline_purchases",
        "pull_forward",
        "run_seconds",
    ]
    effect_keys = [
        "measured",
        "measured_se",
        "true",
        "direct",
        "holdout_estimand",
        "spillover",
        "bias",
        "bias_se",
    ]
    for key in ("incremental_conversions", "incremental_revenue", "incremental_profit"):
        assert list(written[key]) == effect_keys, key
        e = written[key]
        assert e["bias"] == pytest.approx(e["measured"] - e["true"])
        assert e["spillover"] == pytest.approx(e["true"] - e["direct"])
    assert list(written["roi"]) == ["measured", "true"]
    assert list(written["optout_price"]) == [
        "email",
        "sms",
        "push",
        "social",
        "direct_mail",
        "phone",
        "display",
    ]
    pf = written["pull_forward"]
    assert pf["net"] == written["incremental_conversions"]["true"]
    assert pf["gross"] - pf["displaced"] == pf["net"]


def test_result_fields_are_typed_for_a_notebook() -> None:
    """The fields a user reaches for are plain numbers; the campaign instance rides along
    (not serialised); without the twin worlds the truth is None and its keys are absent."""
    cfg = run_config(TINY)
    result = run_experiment(cfg)
    assert result.strategy == "segmented" and result.seed == 3 and result.n_consumers == 800
    assert isinstance(result.incremental_profit, Effect)
    assert isinstance(result.incremental_profit.true, float)
    assert result.contacts == sum(result.contacts_by_channel.values()) > 0
    assert result.cost["total"] >= result.cost["offer"]
    assert result.campaign is not None and result.campaign.name == "segmented"
    assert "campaign" not in result.to_dict()
    assert result.to_dict()["contacts_by_channel"] is not result.contacts_by_channel

    blind = run_experiment(run_config([*TINY, "truth=false"]))
    assert blind.incremental_profit.true is None and blind.roi.true is None
    assert blind.awareness_lift is None and blind.baseline_purchases is None
    d = blind.to_dict()
    assert list(d) == [*KEYS, "run_seconds"]
    assert d["incremental_conversions"] == {
        "measured": blind.incremental_conversions.measured,
        "measured_se": blind.incremental_conversions.measured_se,
        "true": None,
    }
    # Same seed and population: the observed world is the same with or without the truth.
    assert blind.contacts == result.contacts and blind.purchases == result.purchases
    assert math.isclose(blind.incremental_profit.measured, result.incremental_profit.measured)


def test_build_run_config_takes_a_plain_mapping_without_hydras_node() -> None:
    """The caller strips Hydra's ``hydra`` node (``experiments._common.plain`` does);
    the library does not know about it and names it as an unknown key."""
    assert build_run_config({"seed": 2}).seed == 2
    with pytest.raises(ConfigError, match="Unknown key hydra"):
        build_run_config({"seed": 2, "hydra": {"run": {"dir": "x"}}})
