"""Strategy labels come from what a strategy's config says, not from the option name."""

from __future__ import annotations

from typing import Any

import pytest

from experiments._common import run_config
from sim.report import (
    comparison_table,
    format_table,
    split_strategy_key,
    strategy_key,
    strategy_label,
)


@pytest.mark.parametrize(
    ("overrides", "key", "label"),
    [
        (["strategy=one_to_one"], "one_to_one", "One-to-one (oracle)"),
        (["strategy=one_to_one_propensity"], "one_to_one_propensity", "One-to-one (propensity)"),
        (["strategy=one_to_one", "strategy.scorer=propensity"], "one_to_one_propensity", None),
        (["strategy=one_to_one_causalml"], "one_to_one_causalml", "One-to-one (CausalML)"),
        (["strategy=segmented", "strategy.basis=tribe"], "segmented_tribe", "Segmented (tribes)"),
        (["strategy=hybrid"], "hybrid", "Hybrid (mass + 1:1)"),
        (["strategy=hybrid", "strategy.follow_up=triggered"], "hybrid_triggered", None),
        (
            ["strategy=hybrid", "strategy.one_to_one.scorer=propensity"],
            "hybrid_propensity",
            "Hybrid (mass + 1:1 propensity)",
        ),
        (["strategy=none"], "none", "No campaign"),
    ],
)
def test_key_and_label_follow_the_config(overrides: list[str], key: str, label: str | None) -> None:
    strategy = run_config(overrides).strategy
    assert strategy_key(strategy) == key
    assert split_strategy_key(key)[0] == strategy.name
    if label is not None:
        assert strategy_label(key) == label


def test_flat_row_with_missing_settings_is_the_preset() -> None:
    """A collected row: dotted keys, NaN where another strategy's column is empty."""
    nan = float("nan")
    assert strategy_key({"name": "one_to_one", "scorer": nan}) == "one_to_one"
    assert strategy_key({"name": "hybrid", "one_to_one.scorer": "propensity"}) == (
        "hybrid_propensity"
    )
    assert strategy_key({"name": "mass", "scorer": "propensity"}) == "mass"
    assert strategy_label("something_else") == "something_else"


def _metrics(profit: float) -> dict[str, Any]:
    effect = {"measured": profit, "measured_se": 1.0, "true": profit}
    return {
        "contacts": 10,
        "response_rate": 0.1,
        "incremental_conversions": effect,
        "incremental_profit": effect,
        "roi": {"measured": 0.5, "true": 0.5},
        "cost": {"total": 2.0},
        "backlash_events": 0,
        "opt_outs": 0,
    }


def test_comparison_labels_each_run_by_its_config() -> None:
    """A run named anything with the propensity scorer is labelled propensity; the table's
    columns (the CSV written by experiments.compare) keep the run names."""
    strategies = {
        "mine": run_config(["strategy=one_to_one", "strategy.scorer=propensity"]).strategy,
        "one_to_one": run_config(["strategy=one_to_one"]).strategy,
    }
    table = comparison_table({"mine": _metrics(5.0), "one_to_one": _metrics(7.0)}, strategies)
    assert list(table.index) == ["One-to-one (propensity)", "One-to-one (oracle)"]
    assert list(table["strategy"]) == ["mine", "one_to_one"]
    text = format_table(table).splitlines()
    assert text[1].strip().startswith("One-to-one (propensity)")
    assert text[2].strip().startswith("One-to-one (oracle)")
