"""ROI curves: what does the next unit of budget buy?

Incremental profit and ROMI against the variable marketing budget (log axis), one line
per strategy variant with the range over seeds shaded.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from experiments.studies.style import (
    BAND_LABEL,
    CURRENCY,
    band,
    money,
    strategy_color,
    strategy_label,
)
from experiments.studies.sweep_table import (
    COL_BUDGET,
    COL_KEY,
    campaign_values,
    summarise,
    with_strategy_keys,
)


def has_roi_curves(df: pd.DataFrame) -> bool:
    return COL_BUDGET in df.columns and pd.to_numeric(df[COL_BUDGET], errors="coerce").nunique() > 1


def roi_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per strategy variant and budget: incremental profit, ROI and cost over seeds, with
    the variable spend actually used (contact plus personalisation cost)."""
    d = with_strategy_keys(df[pd.to_numeric(df[COL_BUDGET], errors="coerce").notna()])
    d[COL_BUDGET] = d[COL_BUDGET].astype(float)
    if "cost.contact" in d.columns:
        d["variable_spend"] = d["cost.contact"].astype(float)
    values = campaign_values(which)
    if "variable_spend" in d.columns:
        values["contact_cost"] = "variable_spend"
    out = summarise(d, [COL_KEY, COL_BUDGET], values)
    return out.rename(columns={COL_KEY: "strategy", COL_BUDGET: "budget"})


def plot_roi_curve(
    table: pd.DataFrame, ax: Axes, value: str = "profit", which: str = "true"
) -> Axes:
    """``value`` (profit | roi) against the budget, a line per variant with seed bands."""
    scale = 100.0 if value == "roi" else 1.0
    for name, t in table.groupby("strategy", sort=False):
        t = t.sort_values("budget")
        band(
            ax,
            t["budget"].to_numpy(float),
            t,
            value,
            strategy_color(str(name)),
            strategy_label(str(name)),
            scale,
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(f"budget cap on contact + personalisation spend\n({CURRENCY}, log scale)")
    if value == "roi":
        ax.set_ylabel("ROMI (%): incremental profit / campaign cost")
    else:
        ax.set_ylabel(f"incremental profit ({CURRENCY})")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
    return ax


def figure_roi(table: pd.DataFrame, which: str = "true") -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0), constrained_layout=True)
    plot_roi_curve(table, axes[0], "profit", which)
    plot_roi_curve(table, axes[1], "roi", which)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Patch(color="0.6", alpha=0.3))
    labels.append(BAND_LABEL)
    axes[0].legend(
        handles, labels, title=f"mean over seeds ({which} effect)", loc="best", alignment="left"
    )
    fig.suptitle("ROI curves: what does the next unit of budget buy?")
    return fig
