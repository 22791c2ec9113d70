"""ROI curves: what does the next unit of budget buy?

Incremental profit and ROI (:data:`sim.report.ROI_LABEL`, on a symmetric-log axis)
against the variable marketing budget (log axis), one line per strategy variant with the
range over seeds shaded; one column of panels per market.
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
    legend_below,
    market_label,
    money,
    roi_axis,
    strategy_color,
    strategy_label,
)
from experiments.studies.sweep_table import (
    COL_BUDGET,
    COL_KEY,
    COL_MARKET,
    COL_N,
    campaign_values,
    summarise,
    with_strategy_keys,
)


def has_roi_curves(df: pd.DataFrame) -> bool:
    return COL_BUDGET in df.columns and pd.to_numeric(df[COL_BUDGET], errors="coerce").nunique() > 1


def roi_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per market, strategy variant and budget: incremental profit, ROI and cost over
    seeds, with the variable spend actually used (contact plus personalisation cost) and
    the market's size (``n_consumers``) and campaign length (``horizon_days``)."""
    d = with_strategy_keys(df[pd.to_numeric(df[COL_BUDGET], errors="coerce").notna()])
    d[COL_BUDGET] = d[COL_BUDGET].astype(float)
    if COL_MARKET not in d.columns:
        d[COL_MARKET] = "?"
    if "cost.contact" in d.columns:
        d["variable_spend"] = d["cost.contact"].astype(float)
    values = campaign_values(which)
    if "variable_spend" in d.columns:
        values["contact_cost"] = "variable_spend"
    out = summarise(d, [COL_MARKET, COL_KEY, COL_BUDGET], values)
    for col, name in ((COL_N, "n_consumers"), ("horizon_days", "horizon_days")):
        if col in d.columns:
            out[name] = out[COL_MARKET].map(d.groupby(COL_MARKET)[col].max())
    return out.rename(columns={COL_MARKET: "market", COL_KEY: "strategy", COL_BUDGET: "budget"})


def _title(t: pd.DataFrame) -> str:
    """``Omnichannel retailer (5,000 customers, 60-day campaign)``."""
    market = str(t["market"].iloc[0]) if "market" in t.columns else "?"
    size = f"{int(t['n_consumers'].max()):,} customers" if "n_consumers" in t.columns else ""
    days = f", {t['horizon_days'].max():g}-day campaign" if "horizon_days" in t.columns else ""
    return f"{market_label(market)}\n({size}{days})"


def plot_roi_curve(
    table: pd.DataFrame, ax: Axes, value: str = "profit", which: str = "true"
) -> Axes:
    """``value`` (profit | roi) against the budget, a line per variant with seed bands
    (one market: pass the table's rows of one market)."""
    scale = 1.0
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
        roi_axis(ax)
    else:
        ax.set_ylabel(f"incremental profit ({CURRENCY})")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
    return ax


def figure_roi(table: pd.DataFrame, which: str = "true") -> Figure:
    markets = list(dict.fromkeys(table["market"])) if "market" in table.columns else [None]
    fig, axes = plt.subplots(
        1,
        2 * len(markets),
        figsize=(10 * len(markets), 4.6),
        squeeze=False,
        constrained_layout=True,
    )
    for j, market in enumerate(markets):
        t = table if market is None else table[table["market"] == market]
        plot_roi_curve(t, axes[0, 2 * j], "profit", which)
        plot_roi_curve(t, axes[0, 2 * j + 1], "roi", which)
        axes[0, 2 * j].set_title(_title(t))
        axes[0, 2 * j + 1].set_title(_title(t))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(Patch(color="0.6", alpha=0.3))
    labels.append(BAND_LABEL)
    legend_below(fig, handles, labels, title=f"mean over seeds ({which} effect)")
    seeds = int(table["n_seeds"].max()) if "n_seeds" in table.columns else 0
    fig.suptitle(
        f"ROI curves: what does the next unit of budget buy? ({seeds} seed(s), {which} effect)"
    )
    return fig
