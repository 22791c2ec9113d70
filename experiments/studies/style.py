"""One look for every study figure: matplotlib settings, colours of strategies and
estimators, market labels, money and ratio ticks, the ROI axis, titles that name the
market and its size, legends outside the data, and the band over seeds."""

from __future__ import annotations

import zlib
from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.report import ROI_LABEL, money, ratio, split_strategy_key, strategy_label

__all__ = [
    "BAND_LABEL",
    "CURRENCY",
    "ESTIMATOR_PALETTE",
    "ROI_LABEL",
    "STRATEGY_COLORS",
    "STYLE",
    "band",
    "legend_below",
    "market_label",
    "money",
    "ratio",
    "roi_axis",
    "setting",
    "strategy_color",
    "strategy_label",
]

#: matplotlib settings of every study figure.
STYLE: Final[dict[str, Any]] = {
    "figure.dpi": 110,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    # no "1e6" offsets or scientific notation on any axis
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-9, 12),
}
#: Colour per strategy variant (:func:`sim.report.strategy_key`) and for "no campaign",
#: the same in every figure.
STRATEGY_COLORS: Final[dict[str, str]] = {
    "none": "#BBBBBB",
    "mass": "#4C72B0",
    "segmented": "#55A868",
    "triggered": "#8172B2",
    "contextual": "#CCB974",
    "one_to_one": "#C44E52",
    "one_to_one_propensity": "#DD8452",
    "one_to_one_causalml": "#937860",
    "hybrid": "#64B5CD",
}
#: Colours of variants not in :data:`STRATEGY_COLORS` (chosen by a hash of the key).
SPARE_COLORS: Final = ("#DA8BC3", "#8C8C8C", "#2F6B3A", "#7A1F2B", "#1F4E79", "#B07AA1")
#: Line colours of the estimators (a qualitative palette; order of first appearance).
ESTIMATOR_PALETTE: Final = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B2",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
)
MARKET_LABELS: Final[dict[str, str]] = {
    "default": "Omnichannel retailer",
    "fmcg_tribal": "FMCG, tribal tastes",
    "specialty_retail": "Specialty retail, individual tastes",
    "privacy_regulated": "Privacy-regulated retailer",
    "small_retailer": "Small retailer",
    "b2b_high_value": "B2B, high value",
    "hillstrom_like": "Hillstrom-like e-mail retailer",
}
CURRENCY: Final = "currency units"
BAND_LABEL: Final = "range over seeds"


def strategy_color(key: str) -> str:
    """The colour of a strategy variant; a variant without its own colour gets a spare
    one (the same in every run), and an unknown strategy grey."""
    if key in STRATEGY_COLORS:
        return STRATEGY_COLORS[key]
    name, _ = split_strategy_key(key)
    if name not in STRATEGY_COLORS:
        return "#999999"
    return SPARE_COLORS[zlib.crc32(key.encode()) % len(SPARE_COLORS)]


def market_label(name: str) -> str:
    return MARKET_LABELS.get(name, name)


def roi_axis(ax: Axes) -> None:
    """The ROI axis of every figure (:data:`ROI_LABEL`): symmetric-logarithmic, linear
    within ±1 (a loss down to the whole cost) and logarithmic beyond, so that a ROI of
    1,000 does not flatten one of 10."""
    ax.set_yscale("symlog", linthresh=1.0, linscale=1.0)
    ax.yaxis.set_major_formatter(FuncFormatter(ratio))
    ax.set_ylabel(f"{ROI_LABEL}\nsymmetric log scale: linear within ±1")


def setting(df: pd.DataFrame, column: str, fmt: str = "{:,.0f}") -> str:
    """The value(s) of a setting column as text: ``5,000`` or ``3,000-20,000``."""
    if column not in df.columns:
        return "?"
    values = sorted(pd.to_numeric(df[column], errors="coerce").dropna().unique())
    if not values:
        return "?"
    lo, hi = fmt.format(values[0]), fmt.format(values[-1])
    return lo if lo == hi else f"{lo}-{hi}"


def legend_below(fig: Figure, handles: list[Any], labels: list[str], **kw: Any) -> None:
    """One legend for the figure, below the panels (outside every axes: it hides no point)."""
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), **kw)


def band(
    ax: Axes,
    x: np.ndarray,
    t: pd.DataFrame,
    value: str,
    color: str,
    label: str | None,
    scale: float = 1.0,
) -> None:
    """The mean of ``value`` over seeds as a line, its range over seeds shaded."""
    ax.plot(x, t[f"{value}_mean"] * scale, "o-", color=color, label=label)
    ax.fill_between(
        x,
        t[f"{value}_min"] * scale,
        t[f"{value}_max"] * scale,
        color=color,
        alpha=0.2,
        lw=0,
        label=None,
    )
