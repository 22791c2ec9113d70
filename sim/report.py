"""Tables and figures of campaign results (compute functions return tables; plot
functions draw on a given matplotlib ``Axes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

STRATEGY_LABELS = {
    "mass": "Mass",
    "segmented": "Segmented",
    "triggered": "Event-triggered",
    "contextual": "Contextual",
    "one_to_one": "One-to-one (oracle)",
    "one_to_one_propensity": "One-to-one (propensity)",
    "one_to_one_causalml": "One-to-one (CausalML)",
    "hybrid": "Hybrid (mass + 1:1)",
    "none": "No campaign",
}


def comparison_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per strategy: measured and true incremental figures side by side."""
    rows = []
    for label, m in results.items():
        ic, ip, roi = m["incremental_conversions"], m["incremental_profit"], m["roi"]
        rows.append(
            {
                "strategy": label,
                "contacts": m["contacts"],
                "response_rate": m["response_rate"],
                "incr_conv_measured": ic["measured"],
                "incr_conv_se": ic["measured_se"],
                "incr_conv_true": ic.get("true"),
                "incr_profit_measured": ip["measured"],
                "incr_profit_se": ip["measured_se"],
                "incr_profit_true": ip.get("true"),
                "roi_measured": roi["measured"],
                "roi_true": roi.get("true"),
                "cost_total": m["cost"]["total"],
                "backlash_events": m["backlash_events"],
                "opt_outs": m["opt_outs"],
            }
        )
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    """A readable text rendering for the terminal."""

    def pm(v: float, se: float) -> str:
        return "-" if v is None or not np.isfinite(v) else f"{v:,.0f} ± {se:,.0f}"

    def num(v: Any, fmt: str = ",.0f") -> str:
        return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)

    out = pd.DataFrame(
        {
            "strategy": [STRATEGY_LABELS.get(s, s) for s in table["strategy"]],
            "contacts": [num(v) for v in table["contacts"]],
            "response": [f"{100 * v:.1f} %" for v in table["response_rate"]],
            "incr. conv. measured": [
                pm(v, s)
                for v, s in zip(table["incr_conv_measured"], table["incr_conv_se"], strict=True)
            ],
            "true": [num(v) for v in table["incr_conv_true"]],
            "incr. profit measured": [
                pm(v, s)
                for v, s in zip(table["incr_profit_measured"], table["incr_profit_se"], strict=True)
            ],
            "true ": [num(v) for v in table["incr_profit_true"]],
            "ROI meas.": [num(v, ".2f") for v in table["roi_measured"]],
            "ROI true": [num(v, ".2f") for v in table["roi_true"]],
            "cost": [num(v) for v in table["cost_total"]],
            "backlash": [num(v) for v in table["backlash_events"]],
        }
    )
    return out.to_string(index=False)


def plot_profit_by_strategy(table: pd.DataFrame, ax: Axes) -> Axes:
    """Incremental profit by strategy: measured (95 % interval) beside true."""
    x = np.arange(len(table))
    labels = [STRATEGY_LABELS.get(s, s) for s in table["strategy"]]
    ax.bar(
        x - 0.2,
        table["incr_profit_measured"],
        0.4,
        yerr=1.96 * table["incr_profit_se"],
        capsize=3,
        label="measured (holdout, 95 % CI)",
        color="#4C72B0",
    )
    ax.bar(
        x + 0.2,
        table["incr_profit_true"].astype(float),
        0.4,
        label="true (counterfactual)",
        color="#DD8452",
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("incremental profit over the campaign (currency)")
    ax.legend(frameon=False)
    return ax


def plot_roi_by_strategy(table: pd.DataFrame, ax: Axes) -> Axes:
    """Return on investment by strategy, measured and true."""
    x = np.arange(len(table))
    labels = [STRATEGY_LABELS.get(s, s) for s in table["strategy"]]
    ax.bar(x - 0.2, table["roi_measured"].astype(float), 0.4, label="measured", color="#4C72B0")
    ax.bar(x + 0.2, table["roi_true"].astype(float), 0.4, label="true", color="#DD8452")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("ROI (incremental profit / cost)")
    ax.legend(frameon=False)
    return ax
