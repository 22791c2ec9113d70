"""Granularity study: does finer segmentation pay?

Incremental profit and ROI (:data:`sim.report.ROI_LABEL`, on a symmetric-log axis) of
the segmented campaign against the number of segments k (log axis), one column per
market preset, the mean over seeds with the range over seeds shaded.  Rows of another
segmentation basis than the preset's are kept apart (a ``strategy`` column, one line per
variant).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
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
    COL_K,
    COL_KEY,
    COL_MARKET,
    COL_N,
    COL_STRATEGY,
    campaign_values,
    summarise,
    with_strategy_keys,
)

#: The variant a plain granularity table (no ``strategy`` column) holds.
PLAIN = "segmented"


def has_granularity(df: pd.DataFrame) -> bool:
    if COL_K not in df.columns or COL_STRATEGY not in df.columns:
        return False
    return df.loc[df[COL_STRATEGY] == "segmented", COL_K].nunique() > 1


def granularity_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per market and k (segmented runs): incremental profit, ROI and cost over seeds;
    per variant too (column ``strategy``) unless every row is the preset's."""
    seg = with_strategy_keys(df[df[COL_STRATEGY] == "segmented"])
    seg[COL_K] = seg[COL_K].astype(int)
    keys = [COL_MARKET, COL_K]
    if set(seg[COL_KEY]) != {PLAIN}:
        keys = [COL_MARKET, COL_KEY, COL_K]
    out = summarise(seg, keys, campaign_values(which))
    n = seg.groupby(COL_MARKET)[COL_N].max()
    out["n_consumers"] = out[COL_MARKET].map(n).astype(int)
    if "horizon_days" in seg.columns:
        out["horizon_days"] = out[COL_MARKET].map(seg.groupby(COL_MARKET)["horizon_days"].max())
    return out.rename(columns={COL_MARKET: "market", COL_K: "k", COL_KEY: "strategy"})


def variants(table: pd.DataFrame) -> list[str]:
    """The strategy variants of a :func:`granularity_table`, in table order."""
    return list(dict.fromkeys(table["strategy"])) if "strategy" in table else [PLAIN]


def _clip_outliers(
    ax: Axes, x: np.ndarray, t: pd.DataFrame, value: str, keep: np.ndarray, scale: float = 1.0
) -> None:
    """Fit the y axis to the points in ``keep`` (and their bands); points far outside
    (one segment per customer can lose a hundred times what coarse segments make) are
    marked at the edge with their value instead of squashing the rest of the curve."""
    lo = float(t.loc[keep, f"{value}_min"].min()) * scale
    hi = float(t.loc[keep, f"{value}_max"].max()) * scale
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.08 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    mean = t[f"{value}_mean"].to_numpy(float) * scale
    out = ~keep & ((mean < lo - 3 * pad) | (mean > hi + 3 * pad))
    if not out.any():
        return
    ax.set_ylim(lo, hi)
    for xi, yi in zip(x[out], mean[out], strict=True):
        edge = lo if yi < lo else hi
        ax.annotate(
            f"{money(yi)}\n(off scale)",
            (xi, edge),
            xytext=(0, 14 if yi < lo else -14),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=7,
            arrowprops={"arrowstyle": "->", "color": "0.3"},
            color="0.3",
        )


def plot_granularity(
    table: pd.DataFrame, ax: Axes, market: str, value: str = "profit", which: str = "true"
) -> Axes:
    """One market of :func:`granularity_table`: ``value`` (profit | roi) against k, a
    line per variant."""
    t = table[table["market"] == market].sort_values("k")
    n = int(t["n_consumers"].iloc[0])
    scale = 1.0
    for key in variants(t):
        tv = t[t["strategy"] == key] if "strategy" in t else t
        # k >= n gives every customer a segment of one: drawn at k = n
        xv = np.minimum(tv["k"].to_numpy(float), n)
        label = f"{'segmented' if key == PLAIN else strategy_label(key)}, mean ({which})"
        band(ax, xv, tv, value, strategy_color(key), label, scale)
    ax.axvline(n, color="0.4", ls=":", lw=1)
    ax.annotate(
        "one segment\nper customer",
        (n, 1),
        xycoords=("data", "axes fraction"),
        xytext=(-4, -4),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=7,
        color="0.3",
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("number of segments k (log scale)")
    t = t.reset_index(drop=True)
    x = np.minimum(t["k"].to_numpy(float), n)
    if value == "roi":  # a symmetric-log axis shows every point: nothing to clip
        roi_axis(ax)
    else:
        _clip_outliers(ax, x, t, value, (t["k"] < n).to_numpy(), scale)
        ax.set_ylabel(f"incremental profit ({CURRENCY})")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
    days = f", {t['horizon_days'].iloc[0]:g}-day campaign" if "horizon_days" in t else ""
    ax.set_title(f"{market_label(market)}\n({n:,} customers{days})")
    return ax


def figure_granularity(table: pd.DataFrame, which: str = "true") -> Figure:
    markets = list(dict.fromkeys(table["market"]))
    fig, axes = plt.subplots(
        2, len(markets), figsize=(4.4 * len(markets), 7.0), squeeze=False, constrained_layout=True
    )
    for j, market in enumerate(markets):
        plot_granularity(table, axes[0, j], market, "profit", which)
        plot_granularity(table, axes[1, j], market, "roi", which)
        axes[1, j].set_title("")
    keys = variants(table)
    handles: list[plt.Line2D | Patch] = [
        plt.Line2D(
            [],
            [],
            color=strategy_color(key),
            marker="o",
            label=f"mean over seeds ({which} effect)"
            if keys == [PLAIN]
            else f"{strategy_label(key)}: mean over seeds ({which} effect)",
        )
        for key in keys
    ]
    handles.append(Patch(color=strategy_color(keys[0]), alpha=0.2, label=BAND_LABEL))
    legend_below(fig, handles, [str(h.get_label()) for h in handles])
    sizes = sorted({int(n) for n in table["n_consumers"]})
    size = f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}-{sizes[-1]:,}"
    days = (
        f", {table['horizon_days'].max():g}-day campaign" if "horizon_days" in table.columns else ""
    )
    seeds = int(table["n_seeds"].max())
    fig.suptitle(
        "Granularity: does finer segmentation pay? (segmented campaign, k segments)\n"
        f"{'; '.join(market_label(m) for m in markets)}: {size} customers each{days}, "
        f"{seeds} seed(s), {which} effect"
    )
    return fig
