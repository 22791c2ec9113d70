"""Tables and figures of campaign results (compute functions return tables; plot
functions draw on a given matplotlib ``Axes``), and the labels of strategies.

A strategy is labelled by what its config says, not by the name of the option that
built it: :func:`strategy_key` reads the config (one-to-one with the propensity scorer is
``one_to_one_propensity`` whatever the option was called), :func:`strategy_label` turns
the key into the text of tables and legends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

#: Display name of each strategy (``StrategyConfig.name``).
STRATEGY_NAMES: Final[dict[str, str]] = {
    "mass": "Mass",
    "segmented": "Segmented",
    "triggered": "Event-triggered",
    "contextual": "Contextual",
    "one_to_one": "One-to-one",
    "hybrid": "Hybrid",
    "none": "No campaign",
}
#: Display name of each one-to-one scorer (``OneToOneConfig.scorer``).
SCORER_NAMES: Final[dict[str, str]] = {
    "oracle": "oracle",
    "propensity": "propensity",
    "causalml": "CausalML",
}
#: Display name of each segmentation basis (``SegmentedConfig.basis``).
BASIS_NAMES: Final[dict[str, str]] = {"kmeans": "k-means", "tribe": "tribes", "rfm": "RFM"}
#: What tells the variants of a strategy apart, at its preset value (which the bare
#: strategy name stands for): the scorer, the basis, the hybrid's follow-up (or, when it
#: is one-to-one, that follow-up's scorer).
PRESET_DETAIL: Final[dict[str, str]] = {
    "one_to_one": "oracle",
    "segmented": "kmeans",
    "hybrid": "oracle",
}


def _setting(strategy: Mapping[str, Any], key: str, preset: str) -> str:
    """``strategy``'s value at dotted ``key`` (nested, or a flat dotted key); the preset
    when it is missing, ``None`` or NaN (a column another strategy's rows leave empty)."""
    value: Any = strategy.get(key)
    if value is None and "." in key:
        node: Any = strategy
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        value = node
    if value is None or (isinstance(value, float) and value != value):
        return preset
    return str(value)


def strategy_key(strategy: Any) -> str:
    """The variant of a strategy that its config describes, as a short key: the
    strategy's name, followed by the setting that tells its variants apart where that
    differs from the preset (:data:`PRESET_DETAIL`): ``one_to_one``,
    ``one_to_one_propensity``, ``segmented_tribe``, ``hybrid_triggered``,
    ``hybrid_propensity``...

    ``strategy`` is a strategy config: a dataclass, a nested mapping, or a mapping with
    dotted keys (a row of a collected table without the ``cfg.strategy.`` prefix).
    """
    cfg: Mapping[str, Any] = (
        dataclasses.asdict(strategy)
        if dataclasses.is_dataclass(strategy) and not isinstance(strategy, type)
        else strategy
    )
    name = str(cfg["name"])
    if name == "one_to_one":
        detail = _setting(cfg, "scorer", "oracle")
    elif name == "segmented":
        detail = _setting(cfg, "basis", "kmeans")
    elif name == "hybrid":
        detail = _setting(cfg, "follow_up", "one_to_one")
        if detail == "one_to_one":
            detail = _setting(cfg, "one_to_one.scorer", "oracle")
    else:
        return name
    return name if detail == PRESET_DETAIL[name] else f"{name}_{detail}"


def split_strategy_key(key: str) -> tuple[str, str]:
    """``(strategy name, detail)`` of a :func:`strategy_key`; the detail is the preset's
    where the key is a bare name, ``""`` for strategies without variants."""
    for name in sorted(STRATEGY_NAMES, key=len, reverse=True):
        if key == name:
            return name, PRESET_DETAIL.get(name, "")
        if key.startswith(f"{name}_") and name in PRESET_DETAIL:
            return name, key[len(name) + 1 :]
    return key, ""


def strategy_label(key: str) -> str:
    """The display label of a :func:`strategy_key`: ``One-to-one (propensity)``,
    ``Segmented (tribes)``, ``Hybrid (mass + 1:1)``; an unknown key is its own label."""
    name, detail = split_strategy_key(key)
    if name not in STRATEGY_NAMES:
        return key
    if name == "one_to_one":
        return f"One-to-one ({SCORER_NAMES.get(detail, detail)})"
    if name == "hybrid":
        if detail == "triggered":
            return "Hybrid (mass + triggered)"
        scorer = "" if detail == PRESET_DETAIL[name] else f" {SCORER_NAMES.get(detail, detail)}"
        return f"Hybrid (mass + 1:1{scorer})"
    if name == "segmented" and detail != PRESET_DETAIL[name]:
        return f"Segmented ({BASIS_NAMES.get(detail, detail)})"
    return STRATEGY_NAMES[name]


def comparison_table(
    results: Mapping[str, Mapping[str, Any]], strategies: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per run: measured and true incremental figures side by side.

    "true" is the total effect (campaign versus no campaign, spillover included),
    "direct" the effect of own contacts only (:class:`sim.experiment.Effect`); both are
    absent (None) when the run had no twin worlds.  ``results`` and ``strategies`` map
    each run's name to its metrics and to its strategy config; the rows are indexed by
    the label of that config (:func:`strategy_label`).
    """
    rows = []
    for name, m in results.items():
        ic, ip, roi = m["incremental_conversions"], m["incremental_profit"], m["roi"]
        rows.append(
            {
                "strategy": name,
                "contacts": m["contacts"],
                "response_rate": m["response_rate"],
                "incr_conv_measured": ic["measured"],
                "incr_conv_se": ic["measured_se"],
                "incr_conv_true": ic.get("true"),
                "incr_conv_direct": ic.get("direct"),
                "incr_profit_measured": ip["measured"],
                "incr_profit_se": ip["measured_se"],
                "incr_profit_true": ip.get("true"),
                "incr_profit_direct": ip.get("direct"),
                "incr_profit_bias": ip.get("bias"),
                "roi_measured": roi["measured"],
                "roi_true": roi.get("true"),
                "cost_total": m["cost"]["total"],
                "backlash_events": m["backlash_events"],
                "opt_outs": m["opt_outs"],
            }
        )
    labels = [strategy_label(strategy_key(strategies[name])) for name in results]
    return pd.DataFrame(rows, index=pd.Index(labels, name="label"))


def format_table(table: pd.DataFrame) -> str:
    """A readable text rendering of a :func:`comparison_table` for the terminal: measured
    (± standard error) beside true (the total effect) and direct (own contacts only)."""

    def pm(v: float, se: float) -> str:
        return "-" if v is None or not np.isfinite(v) else f"{v:,.0f} ± {se:,.0f}"

    def num(v: Any, fmt: str = ",.0f") -> str:
        return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)

    out = pd.DataFrame(
        {
            "strategy": list(table.index),
            "contacts": [num(v) for v in table["contacts"]],
            "response": [f"{100 * v:.1f} %" for v in table["response_rate"]],
            "incr. conv. measured": [
                pm(v, s)
                for v, s in zip(table["incr_conv_measured"], table["incr_conv_se"], strict=True)
            ],
            "true": [num(v) for v in table["incr_conv_true"]],
            "direct": [num(v) for v in table["incr_conv_direct"]],
            "incr. profit measured": [
                pm(v, s)
                for v, s in zip(table["incr_profit_measured"], table["incr_profit_se"], strict=True)
            ],
            "true ": [num(v) for v in table["incr_profit_true"]],
            "direct ": [num(v) for v in table["incr_profit_direct"]],
            "ROI meas.": [num(v, ".2f") for v in table["roi_measured"]],
            "ROI true": [num(v, ".2f") for v in table["roi_true"]],
            "cost": [num(v) for v in table["cost_total"]],
            "backlash": [num(v) for v in table["backlash_events"]],
        }
    )
    return out.to_string(index=False)


#: The one definition of ROI in every table and figure: incremental profit over the
#: campaign's cost, as a ratio (1 = the campaign earned its cost once over; -1 = it lost
#: its whole cost).
ROI_LABEL: Final = "ROI = incremental profit / campaign cost (ratio)"
#: Colours of measured (holdout) and true (counterfactual) bars.
MEASURED_COLOR: Final = "#4C72B0"
TRUE_COLOR: Final = "#DD8452"


def money(v: float, _pos: object = None) -> str:
    """Tick label of an amount: 950 -> 950, 1,200 -> 1.2k, -3,450,000 -> -3.45M (no
    offset or scientific notation on any axis)."""
    a = abs(v)
    if a >= 1e6:
        text = f"{v / 1e6:,.3g}M"
    elif a >= 1000:
        text = f"{v / 1000:,.3g}k"
    else:
        text = f"{v:,.0f}" if a >= 10 or v == 0 else f"{v:,.2g}"
    return text.replace("-", "\u2212")


def ratio(v: float, _pos: object = None) -> str:
    """Tick label of a ratio: 1456 -> 1,456, 9.1 -> 9.1, 0.25 -> 0.25."""
    a = abs(v)
    text = f"{v:,.0f}" if a >= 100 or v == int(v) else f"{v:,.2g}" if a < 1 else f"{v:,.3g}"
    return text.replace("-", "\u2212")


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats (NaN where missing or None), or all NaN if the table lacks it."""
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def _outside_legend(ax: Axes) -> None:
    """The legend above the axes, outside the data area, so that it hides no bar."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, frameon=False)


def plot_profit_by_strategy(table: pd.DataFrame, ax: Axes, *, legend: bool = True) -> Axes:
    """Incremental profit by strategy: measured (holdout, 95 % interval) beside true, on a
    plain currency axis (``1.2k``, ``3.4M``: no offset).  ``legend``: above the axes."""
    from matplotlib.ticker import FuncFormatter

    x = np.arange(len(table))
    measured, se = _column(table, "incr_profit_measured"), _column(table, "incr_profit_se")
    ax.bar(
        x - 0.2,
        measured,
        0.4,
        yerr=np.where(np.isfinite(se), 1.96 * se, 0.0),
        capsize=3,
        label="measured (holdout, 95 % interval)",
        color=MEASURED_COLOR,
    )
    ax.bar(
        x + 0.2,
        _column(table, "incr_profit_true"),
        0.4,
        label="true (counterfactual)",
        color=TRUE_COLOR,
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, list(table.index), rotation=30, ha="right")
    ax.set_ylabel("incremental profit over the campaign (currency units)")
    ax.yaxis.set_major_formatter(FuncFormatter(money))
    if legend:
        _outside_legend(ax)
    return ax


def plot_roi_by_strategy(table: pd.DataFrame, ax: Axes, *, legend: bool = True) -> Axes:
    """ROI by strategy (:data:`ROI_LABEL`), measured (95 % interval: the profit's, over
    the known cost) beside true, each bar labelled with its value.

    The axis is symmetric-logarithmic (linear within ±1, logarithmic beyond), so that a
    ROI of 1,456 and one of 9 are both readable on one axis and a loss (down to -1, the
    whole cost) stays linear.
    """
    from matplotlib.ticker import FuncFormatter

    x = np.arange(len(table))
    cost = _column(table, "cost_total")
    measured, true = _column(table, "roi_measured"), _column(table, "roi_true")
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(cost > 0, 1.96 * _column(table, "incr_profit_se") / cost, np.nan)
    half = np.where(np.isfinite(half), half, 0.0)
    ax.bar(
        x - 0.2,
        measured,
        0.4,
        yerr=half,
        capsize=3,
        label="measured (holdout, 95 % interval)",
        color=MEASURED_COLOR,
    )
    ax.bar(x + 0.2, true, 0.4, label="true (counterfactual)", color=TRUE_COLOR)
    ax.set_yscale("symlog", linthresh=1.0, linscale=1.0)
    ax.yaxis.set_major_formatter(FuncFormatter(ratio))
    for xi, values in ((x - 0.2, measured), (x + 0.2, true)):
        for xv, v in zip(xi, values, strict=True):
            if np.isfinite(v):
                ax.annotate(
                    ratio(v),
                    (xv, v),
                    xytext=(0, 2 if v >= 0 else -2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if v >= 0 else "top",
                    fontsize=7,
                )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, list(table.index), rotation=30, ha="right")
    ax.set_ylabel(f"{ROI_LABEL}\nsymmetric log scale: linear within ±1")
    ax.margins(y=0.15)
    if legend:
        _outside_legend(ax)
    return ax
