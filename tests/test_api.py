"""The notebook API (sim.api) and the README's example that uses it."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from sim import api
from sim.experiment import RunConfig, run_experiment

README = Path(__file__).resolve().parent.parent / "README.md"


def test_run_equals_the_entry_points_function() -> None:
    """api.run is run_experiment on the same validated config: identical metrics."""
    market = api.market("default", n_consumers=3000, horizon_days=30)
    plan = api.strategy("mass", end_day=30)
    result = api.run(market, plan, seed=2)
    direct = run_experiment(
        RunConfig(seed=2, market=market, strategy=plan, economics=api.economics("default"))
    )
    a, b = result.to_dict(), direct.to_dict()
    a.pop("run_seconds"), b.pop("run_seconds")
    assert a == b
    table = result.table()
    assert list(table.columns) == [
        "measured",
        "measured_se",
        "true",
        "direct",
        "holdout_estimand",
        "bias",
    ]
    assert table.loc["incremental profit", "true"] == result.incremental_profit.true
    ax = api.plot(result)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "incremental conversions",
        "incremental profit",
    ]


def test_compare_shares_the_population_and_labels_rows_by_config() -> None:
    market = api.market("default", n_consumers=3000, horizon_days=30)
    versus = api.compare(market, ["mass", "one_to_one_propensity"], seed=1)
    table = versus.table()
    assert list(table.index) == ["Mass", "One-to-one (propensity)"]
    assert np.isfinite(table["incr_profit_true"]).all()
    assert versus.plot(what="roi").get_ylabel().startswith("ROI")


def test_economics_follow_the_market_preset_unless_given() -> None:
    market = api.market("specialty_retail", n_consumers=2000, horizon_days=20)
    result = api.run(market, "none", truth=False)
    assert result.cost["total"] == 0.0
    with pytest.raises(Exception, match="strategy"):
        api.strategy("one_to_two")


def test_the_readme_notebook_example_runs_as_written() -> None:
    """The README's ```python block marked as the notebook example executes unchanged."""
    text = README.read_text()
    match = re.search(r"<!-- notebook example -->\s*```python\n(.*?)```", text, flags=re.S)
    assert match, "README lacks the notebook example block"
    code = match.group(1)
    assert "from sim import api" in code
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert "result" in namespace
