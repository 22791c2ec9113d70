"""One look for every study figure: matplotlib settings, colours of strategies and
estimators, market labels, money ticks and the band over seeds."""

from __future__ import annotations

import zlib
from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim.report import split_strategy_key, strategy_label

__all__ = [
    "BAND_LABEL",
    "CURRENCY",
    "ESTIMATOR_PALETTE",
    "STRATEGY_COLORS",
    "STYLE",
    "band",
    "market_label",
    "money",
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


def money(v: float, _pos: object = None) -> str:
    """Tick label: 1,200 -> 1.2k, -345,000 -> -345k."""
    if abs(v) >= 1000:
        return f"{v / 1000:,.3g}k".replace("-", "\u2212")
    return f"{v:,.0f}".replace("-", "\u2212")


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
