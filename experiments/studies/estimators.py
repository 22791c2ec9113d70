"""Estimators study: uplift estimators on simulated pilots, against the pilot size.

Per pilot arm, against the pilot size (log axis): the true Qini, the PEHE relative to
the constant average-effect prediction, and, at a budget of the top 20 %, the share of
the oracle ranking's extra profit over random targeting that the model's ranking
captures; one line per estimator with the range over seeds shaded.
"""

from __future__ import annotations

from typing import Final

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from experiments.studies.style import (
    BAND_LABEL,
    ESTIMATOR_PALETTE,
    band,
    legend_below,
    market_label,
)
from experiments.studies.sweep_table import (
    COL_ESTIMATOR,
    COL_MARKET,
    COL_N,
    COL_PILOT,
    summarise,
)

#: The panels of a row of the figure: (value, axis label, scale).
PANELS: Final = (
    ("qini_true", "true Qini coefficient\n(ranking valued with the true uplift)", 1.0),
    ("pehe_ratio", "PEHE / PEHE of the constant\n(below 1: better than the average effect)", 1.0),
    (
        "captured_top20",
        "budget of 20 %: share of the oracle's extra\nprofit over random targeting captured (%)",
        100.0,
    ),
)


def has_estimators(df: pd.DataFrame) -> bool:
    return COL_ESTIMATOR in df.columns and bool(df[COL_ESTIMATOR].notna().any())


def estimators_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per estimator, pilot size and arm: true Qini, PEHE ratio and relative profit regret.

    ``which`` is accepted for a uniform interface; these are truth metrics only.  The
    relative regret is the oracle ranking's best-depth profit minus the model's, as a
    share of the oracle's (0 where the oracle makes nothing: nothing to lose).
    """
    df = df[df[COL_ESTIMATOR].notna()].reset_index(drop=True)
    arms = sorted(
        {
            c.split(".")[1]
            for c in df.columns
            if c.startswith("primary.") and c.endswith(".qini_true")
        }
    )
    # The nominal pilot size (market size x sample share): realised sizes differ by a few
    # consumers between seeds; the realised one where the nominal is not in the table.
    if COL_N in df.columns:
        share = (
            df["cfg.pilot.sample_share"].astype(float) if "cfg.pilot.sample_share" in df else 1.0
        )
        size = (df[COL_N].astype(float) * share).round().astype(int)
    else:
        size = df[COL_PILOT].astype(int)
    parts = []
    for arm in arms:
        d = pd.DataFrame(
            {
                "estimator": df[COL_ESTIMATOR].astype(str),
                "pilot_size": size,
                "seed": df["seed"],
                "arm": arm,
                "qini_true": df[f"primary.{arm}.qini_true"].astype(float),
                "pehe_ratio": df[f"primary.{arm}.pehe_ratio"].astype(float),
            }
        )
        oracle = df[f"primary.{arm}.profit_oracle"].astype(float)
        regret = df[f"primary.{arm}.profit_regret"].astype(float)
        d["regret_share"] = np.where(oracle > 0, regret / oracle.where(oracle > 0, 1.0), 0.0)
        if f"primary.{arm}.profit_top20_model" in df.columns:
            top = {
                w: df[f"primary.{arm}.profit_top20_{w}"].astype(float)
                for w in ("model", "oracle", "random")
            }
            gain = top["oracle"] - top["random"]
            d["captured_top20"] = (top["model"] - top["random"]) / gain.where(gain > 0, np.nan)
        parts.append(d)
    long = pd.concat(parts, ignore_index=True)
    names = ("qini_true", "pehe_ratio", "regret_share", "captured_top20")
    values = {v: v for v in names if v in long.columns}
    out = summarise(long, ["arm", "estimator", "pilot_size"], values)
    if COL_MARKET in df.columns:
        markets = sorted({str(m) for m in df[COL_MARKET].dropna()})
        if markets:
            out["market"] = ", ".join(markets)
    return out


def estimator_colors(table: pd.DataFrame) -> dict[str, str]:
    """A colour per estimator of an :func:`estimators_table`, in order of appearance."""
    names = list(dict.fromkeys(table["estimator"]))
    return {n: ESTIMATOR_PALETTE[i % len(ESTIMATOR_PALETTE)] for i, n in enumerate(names)}


def plot_estimators(
    table: pd.DataFrame, ax: Axes, arm: str, value: str, label: str = "", scale: float = 1.0
) -> Axes:
    """One arm's ``value`` (a column stem of :func:`estimators_table`) against the pilot
    size, a line per estimator with seed bands."""
    colors = estimator_colors(table)
    for name, color in colors.items():
        t = table[(table["arm"] == arm) & (table["estimator"] == name)]
        t = t.sort_values("pilot_size")
        band(ax, t["pilot_size"].to_numpy(float), t, value, color, name, scale)
    ax.axhline(1.0 if value == "pehe_ratio" else 0.0, color="black", lw=0.8)
    sizes = sorted(table["pilot_size"].unique())
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s / 1000:g}k" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("pilot size (consumers, log scale; 70 % train, 30 % test)")
    ax.set_ylabel(label or value)
    ax.set_title(f"arm: {arm}")
    return ax


def figure_estimators(table: pd.DataFrame, which: str = "true") -> Figure:
    arms = list(dict.fromkeys(table["arm"]))
    fig, axes = plt.subplots(
        len(arms), 3, figsize=(13, 3.6 * len(arms)), squeeze=False, constrained_layout=True
    )
    for row, arm in zip(axes, arms, strict=True):
        for ax, (value, label, scale) in zip(row, PANELS, strict=True):
            plot_estimators(table, ax, arm, value, label, scale)
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Patch(color="0.6", alpha=0.3))
    labels.append(BAND_LABEL)
    legend_below(fig, handles, labels)
    market = str(table["market"].iloc[0]) if "market" in table.columns else ""
    where = ", ".join(market_label(m) for m in market.split(", ")) if market else "simulated"
    sizes = sorted(table["pilot_size"].unique())
    seeds = int(table["n_seeds"].max())
    fig.suptitle(
        "Uplift estimators on simulated pilots, scored against the simulator's truth\n"
        f"{where}: pilots of {sizes[0]:,}-{sizes[-1]:,} consumers (x axis), {seeds} seed(s)"
    )
    return fig
