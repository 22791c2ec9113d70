"""Study figures from a collected sweep table: ``python -m experiments.figures <table>``.

``<table>`` is a ``results.parquet`` written by :mod:`experiments.collect` (or a sweep
folder, collected on the fly, or a CSV of the same columns).  Whichever studies the
table holds are drawn, in one style, into ``--out`` (default ``results/figures``):

``granularity.png``
    incremental profit and ROMI against the number of segments k (log axis), one
    column per market preset, the mean over seeds with the range over seeds shaded.
``phase.png``
    the strategy with the highest mean incremental profit on the grid of taste
    tribalism (``market.tribes.variance_share``) x tolerance of personalisation
    (``market.creepiness.threshold_median``), one panel per data-cost level; "no
    campaign" where no strategy makes money.
``roi_curves.png``
    incremental profit and ROMI against the variable marketing budget (log axis), one
    line per strategy with the range over seeds shaded.
``estimators.png``
    uplift estimators on simulated pilots against the pilot size (log axis): true Qini,
    PEHE relative to the constant average-effect prediction, and, at a budget of the top
    20 %, the share of the oracle ranking's extra profit over random targeting that the
    model's ranking captures; one row per pilot arm, one line per estimator with the
    range over seeds shaded.

The numbers behind each figure are written beside it as CSV.  Compute functions
(``*_table``) take the collected table and return a tidy table; plot functions
(``plot_*``) take such a table and a matplotlib ``Axes``.  ``--metric measured`` uses
the holdout estimates a marketer would see instead of the true (counterfactual) effects.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.report import STRATEGY_LABELS

# --------------------------------------------------------------------------- style

#: One look for every figure of the studies.
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
#: Colour per strategy (and for "no campaign"), the same in every figure.
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

#: Collected-table columns the studies read.
COL_STRATEGY: Final = "cfg.strategy.name"
COL_MARKET: Final = "cfg.market.name"
COL_N: Final = "cfg.market.n_consumers"
COL_K: Final = "cfg.strategy.k"
COL_BUDGET: Final = "cfg.strategy.budget"
COL_VARIANCE: Final = "cfg.market.tribes.variance_share"
COL_THRESHOLD: Final = "cfg.market.creepiness.threshold_median"
COL_DATA_COST: Final = "cfg.economics.data_cost_per_month"
COL_ESTIMATOR: Final = "primary.estimator"
COL_PILOT: Final = "n_rows"


def strategy_label(name: str) -> str:
    return STRATEGY_LABELS.get(name, name)


def market_label(name: str) -> str:
    return MARKET_LABELS.get(name, name)


def _col(metric: str, which: str) -> str:
    """``incremental_profit.true`` etc.: the collected column of a metric."""
    return f"{metric}.{which}"


# --------------------------------------------------------------------------- loading


def load_table(source: Path | str | pd.DataFrame) -> pd.DataFrame:
    """The collected table (Parquet, CSV, a sweep folder or a DataFrame), ``ok`` rows."""
    if isinstance(source, pd.DataFrame):
        df = source
    else:
        path = Path(source)
        if path.is_dir():
            from experiments.collect import collect

            df = collect(path, write=False)
        elif path.suffix == ".csv":
            df = pd.read_csv(path)
        else:
            df = pd.read_parquet(path)
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    return df.reset_index(drop=True)


def _summarise(df: pd.DataFrame, keys: list[str], values: dict[str, str]) -> pd.DataFrame:
    """Mean, min, max, sd and number of seeds of each value column per ``keys`` group."""
    rows = []
    for key, grp in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_seeds"] = int(grp["seed"].nunique()) if "seed" in grp else len(grp)
        for out, col in values.items():
            x = pd.to_numeric(grp[col], errors="coerce").astype(float)
            row[f"{out}_mean"] = float(x.mean())
            row[f"{out}_sd"] = float(x.std(ddof=1)) if x.count() > 1 else 0.0
            row[f"{out}_min"] = float(x.min())
            row[f"{out}_max"] = float(x.max())
        rows.append(row)
    return pd.DataFrame(rows)


def _values(which: str) -> dict[str, str]:
    return {
        "profit": _col("incremental_profit", which),
        "roi": _col("roi", which),
        "cost": "cost.total",
    }


# --------------------------------------------------------------------------- granularity


def has_granularity(df: pd.DataFrame) -> bool:
    if COL_K not in df.columns or COL_STRATEGY not in df.columns:
        return False
    return df.loc[df[COL_STRATEGY] == "segmented", COL_K].nunique() > 1


def granularity_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per market and k (segmented runs): incremental profit, ROI and cost over seeds."""
    seg = df[df[COL_STRATEGY] == "segmented"].copy()
    seg[COL_K] = seg[COL_K].astype(int)
    out = _summarise(seg, [COL_MARKET, COL_K], _values(which))
    n = seg.groupby(COL_MARKET)[COL_N].max()
    out["n_consumers"] = out[COL_MARKET].map(n).astype(int)
    if "horizon_days" in seg.columns:
        out["horizon_days"] = out[COL_MARKET].map(seg.groupby(COL_MARKET)["horizon_days"].max())
    return out.rename(columns={COL_MARKET: "market", COL_K: "k"})


def _band(
    ax: Axes,
    x: np.ndarray,
    t: pd.DataFrame,
    value: str,
    color: str,
    label: str | None,
    scale: float = 1.0,
) -> None:
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


def _money(v: float, _pos: object = None) -> str:
    """Tick label: 1,200 -> 1.2k, -345,000 -> -345k."""
    if abs(v) >= 1000:
        return f"{v / 1000:,.3g}k".replace("-", "\u2212")
    return f"{v:,.0f}".replace("-", "\u2212")


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
            f"{_money(yi)}\n(off scale)",
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
    """One market of :func:`granularity_table`: ``value`` (profit | roi) against k."""
    t = table[table["market"] == market].sort_values("k")
    n = int(t["n_consumers"].iloc[0])
    # k >= n gives every customer a segment of one: drawn at k = n
    x = np.minimum(t["k"].to_numpy(float), n)
    color = STRATEGY_COLORS["segmented"]
    scale = 100.0 if value == "roi" else 1.0
    _band(ax, x, t, value, color, f"segmented, mean ({which})", scale)
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
    _clip_outliers(ax, x, t, value, (t["k"] < n).to_numpy(), scale)
    if value == "roi":
        ax.set_ylabel("ROMI (%): incremental profit / campaign cost")
    else:
        ax.set_ylabel(f"incremental profit ({CURRENCY})")
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
    days = f", {t['horizon_days'].iloc[0]:g}-day campaign" if "horizon_days" in t else ""
    ax.set_title(f"{market_label(market)}\n({n:,} customers{days})")
    return ax


def figure_granularity(table: pd.DataFrame, which: str = "true") -> plt.Figure:
    markets = list(dict.fromkeys(table["market"]))
    fig, axes = plt.subplots(
        2, len(markets), figsize=(4.2 * len(markets), 6.4), squeeze=False, constrained_layout=True
    )
    for j, market in enumerate(markets):
        plot_granularity(table, axes[0, j], market, "profit", which)
        plot_granularity(table, axes[1, j], market, "roi", which)
        axes[1, j].set_title("")
    handles = [
        plt.Line2D(
            [],
            [],
            color=STRATEGY_COLORS["segmented"],
            marker="o",
            label=f"mean over seeds ({which} effect)",
        ),
        Patch(color=STRATEGY_COLORS["segmented"], alpha=0.2, label=BAND_LABEL),
    ]
    axes[0, 0].legend(handles=handles, loc="lower left")
    fig.suptitle("Granularity: does finer segmentation pay? (segmented campaign, k segments)")
    return fig


# --------------------------------------------------------------------------- phase


def has_phase(df: pd.DataFrame) -> bool:
    return (
        COL_VARIANCE in df.columns
        and COL_THRESHOLD in df.columns
        and df[COL_VARIANCE].nunique() > 1
        and df[COL_THRESHOLD].nunique() > 1
        and df[COL_STRATEGY].nunique() > 1
    )


def _data_cost_level(df: pd.DataFrame) -> pd.Series:
    """A label of the data prices per customer and month (implicit/explicit/ambient)."""
    cols = [f"{COL_DATA_COST}.{k}" for k in ("implicit", "explicit", "ambient")]
    if not all(c in df.columns for c in cols):
        return pd.Series("data cost as preset", index=df.index)
    return (
        df[cols]
        .astype(float)
        .apply(
            lambda r: (
                "data cost per customer-month (implicit/explicit/ambient): "
                + "/".join(f"{v:g}" for v in r)
            ),
            axis=1,
        )
    )


def phase_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per grid cell (data cost, variance share, threshold): each strategy's mean
    incremental profit, the winner (``none`` if no strategy's mean is positive) and its
    lead over the runner-up (or over no campaign)."""
    d = df.copy()
    d["data_cost"] = _data_cost_level(d)
    keys = ["data_cost", COL_VARIANCE, COL_THRESHOLD]
    s = _summarise(d, [*keys, COL_STRATEGY], {"profit": _col("incremental_profit", which)})
    rows = []
    for key, grp in s.groupby(keys, sort=True):
        row = dict(zip(["data_cost", "variance_share", "threshold_median"], key, strict=True))
        means = dict(zip(grp[COL_STRATEGY], grp["profit_mean"], strict=True))
        for name, v in means.items():
            row[f"profit_mean.{name}"] = v
        ranked = sorted(means.items(), key=lambda kv: kv[1], reverse=True)
        best, best_v = ranked[0]
        if best_v <= 0:
            row.update(winner="none", winner_profit=0.0, lead=-best_v)
        else:
            runner = max(ranked[1][1], 0.0) if len(ranked) > 1 else 0.0
            row.update(winner=best, winner_profit=best_v, lead=best_v - runner)
        row["n_seeds"] = int(grp["n_seeds"].min())
        rows.append(row)
    return pd.DataFrame(rows)


def plot_phase(
    table: pd.DataFrame,
    ax: Axes,
    data_cost: str | None = None,
    strategies: Sequence[str] | None = None,
) -> Axes:
    """Winning strategy per cell, as a categorical map with the winner's profit written
    in each cell (thousands of currency units)."""
    t = table if data_cost is None else table[table["data_cost"] == data_cost]
    names = list(strategies) if strategies is not None else sorted(set(table["winner"]) | {"none"})
    xs = np.sort(t["variance_share"].unique())
    ys = np.sort(t["threshold_median"].unique())
    grid = np.full((len(ys), len(xs)), np.nan)
    cmap = ListedColormap([STRATEGY_COLORS.get(n, "#999999") for n in names])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names))
    for th, vs, winner, profit in zip(
        t["threshold_median"], t["variance_share"], t["winner"], t["winner_profit"], strict=True
    ):
        i = int(np.searchsorted(ys, float(th)))
        j = int(np.searchsorted(xs, float(vs)))
        grid[i, j] = names.index(str(winner))
        ax.text(
            j,
            i,
            f"{float(profit) / 1000:,.1f}k" if winner != "none" else "-",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if winner != "none" else "0.2",
        )
    ax.imshow(grid, cmap=cmap, norm=norm, origin="lower", aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
    ax.set_xlabel("taste tribalism: share of taste variance set by the tribe")
    ax.set_ylabel("tolerance of personalisation\n(median creepiness threshold)")
    ax.grid(False)
    if data_cost is not None:
        ax.set_title(data_cost.replace(" (", "\n("))
    return ax


def figure_phase(table: pd.DataFrame, which: str = "true") -> plt.Figure:
    levels = list(dict.fromkeys(table["data_cost"]))
    names = sorted(
        set(table["winner"]) | {"none"},
        key=lambda n: list(STRATEGY_COLORS).index(n) if n in STRATEGY_COLORS else 99,
    )
    fig, axes = plt.subplots(
        1, len(levels), figsize=(5.2 * len(levels), 4.2), squeeze=False, constrained_layout=True
    )
    for ax, level in zip(axes[0], levels, strict=True):
        plot_phase(table, ax, level, names)
    handles = [
        Patch(
            color=STRATEGY_COLORS.get(n, "#999999"),
            label="no campaign (nothing pays)" if n == "none" else strategy_label(n),
        )
        for n in names
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(names))
    fig.suptitle(
        f"Which strategy makes the most incremental profit ({which} effect)?\n"
        f"cell text: the winner's mean incremental profit, thousand {CURRENCY}",
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- ROI curves


def has_roi_curves(df: pd.DataFrame) -> bool:
    return COL_BUDGET in df.columns and pd.to_numeric(df[COL_BUDGET], errors="coerce").nunique() > 1


def roi_table(df: pd.DataFrame, which: str = "true") -> pd.DataFrame:
    """Per strategy and budget: incremental profit, ROI and cost over seeds, with the
    variable spend actually used (contact plus personalisation cost)."""
    d = df[pd.to_numeric(df[COL_BUDGET], errors="coerce").notna()].copy()
    d[COL_BUDGET] = d[COL_BUDGET].astype(float)
    if "cost.contact" in d.columns:
        d["variable_spend"] = d["cost.contact"].astype(float)
    values = _values(which)
    if "variable_spend" in d.columns:
        values["contact_cost"] = "variable_spend"
    out = _summarise(d, [COL_STRATEGY, COL_BUDGET], values)
    return out.rename(columns={COL_STRATEGY: "strategy", COL_BUDGET: "budget"})


def plot_roi_curve(
    table: pd.DataFrame, ax: Axes, value: str = "profit", which: str = "true"
) -> Axes:
    """``value`` (profit | roi) against the budget, a line per strategy with seed bands."""
    scale = 100.0 if value == "roi" else 1.0
    for name, t in table.groupby("strategy", sort=False):
        t = t.sort_values("budget")
        _band(
            ax,
            t["budget"].to_numpy(float),
            t,
            value,
            STRATEGY_COLORS.get(str(name), "#999999"),
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
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
    return ax


def figure_roi(table: pd.DataFrame, which: str = "true") -> plt.Figure:
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


# --------------------------------------------------------------------------- estimators


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
    return _summarise(long, ["arm", "estimator", "pilot_size"], values)


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

_ESTIMATOR_PANELS: Final = (
    ("qini_true", "true Qini coefficient\n(ranking valued with the true uplift)", 1.0),
    ("pehe_ratio", "PEHE / PEHE of the constant\n(below 1: better than the average effect)", 1.0),
    (
        "captured_top20",
        "budget of 20 %: share of the oracle's extra\nprofit over random targeting captured (%)",
        100.0,
    ),
)


def figure_estimators(table: pd.DataFrame, which: str = "true") -> plt.Figure:
    arms = list(dict.fromkeys(table["arm"]))
    names = list(dict.fromkeys(table["estimator"]))
    colors = {n: ESTIMATOR_PALETTE[i % len(ESTIMATOR_PALETTE)] for i, n in enumerate(names)}
    fig, axes = plt.subplots(
        len(arms), 3, figsize=(13, 3.6 * len(arms)), squeeze=False, constrained_layout=True
    )
    for row, arm in zip(axes, arms, strict=True):
        for ax, (value, label, scale) in zip(row, _ESTIMATOR_PANELS, strict=True):
            for name in names:
                t = table[(table["arm"] == arm) & (table["estimator"] == name)]
                t = t.sort_values("pilot_size")
                _band(ax, t["pilot_size"].to_numpy(float), t, value, colors[name], name, scale)
            if value == "pehe_ratio":
                ax.axhline(1.0, color="black", lw=0.8)
            else:
                ax.axhline(0.0, color="black", lw=0.8)
            sizes = sorted(table["pilot_size"].unique())
            ax.set_xscale("log")
            ax.set_xticks(sizes, [f"{s / 1000:g}k" for s in sizes])
            ax.minorticks_off()
            ax.set_xlabel("pilot size (consumers, log scale; 70 % train, 30 % test)")
            ax.set_ylabel(label)
            ax.set_title(f"arm: {arm}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Patch(color="0.6", alpha=0.3))
    labels.append(BAND_LABEL)
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5))
    fig.suptitle("Uplift estimators on simulated pilots, scored against the simulator's truth")
    return fig


# --------------------------------------------------------------------------- export

#: Columns kept by :func:`slim_table` (those present): what the studies need, small enough
#: to commit.
SLIM_COLUMNS: Final = (
    "job_dir",
    "job_id",
    "status",
    "seed",
    COL_MARKET,
    COL_N,
    "horizon_days",
    COL_STRATEGY,
    COL_K,
    COL_BUDGET,
    COL_VARIANCE,
    COL_THRESHOLD,
    f"{COL_DATA_COST}.implicit",
    f"{COL_DATA_COST}.explicit",
    f"{COL_DATA_COST}.ambient",
    "incremental_profit.measured",
    "incremental_profit.measured_se",
    "incremental_profit.true",
    "roi.measured",
    "roi.true",
    "incremental_conversions.measured",
    "incremental_conversions.true",
    "cost.total",
    "cost.contact",
    "cost.content",
    "cost.data",
    "cost.platform",
    "contacts",
    "treated_consumers",
    "opt_outs",
    "backlash_events",
    "git_rev",
    "ver.one2one-sim",
    "cfg.estimator.name",
    "cfg.pilot.sample_share",
    COL_PILOT,
)
#: Column prefixes also kept by :func:`slim_table` (the estimators study's truth metrics).
SLIM_PREFIXES: Final = ("primary.",)


def slim_table(df: pd.DataFrame) -> pd.DataFrame:
    """The collected table cut to :data:`SLIM_COLUMNS` (no timings: reproducible)."""
    keep = [c for c in SLIM_COLUMNS if c in df.columns]
    keep += [c for c in df.columns if c.startswith(SLIM_PREFIXES) and c not in keep]
    return df[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- CLI


STUDIES: Final = ("granularity", "phase", "roi_curves", "estimators")


def draw(
    df: pd.DataFrame, out: Path, studies: Sequence[str] = STUDIES, which: str = "true"
) -> dict[str, Path]:
    """Draw every requested study the table holds; return {study: png path}."""
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    plans = {
        "granularity": (has_granularity, granularity_table, figure_granularity),
        "phase": (has_phase, phase_table, figure_phase),
        "roi_curves": (has_roi_curves, roi_table, figure_roi),
        "estimators": (has_estimators, estimators_table, figure_estimators),
    }
    for study in studies:
        present, compute, figure = plans[study]
        if not present(df):
            continue
        table = compute(df, which)
        with plt.rc_context(STYLE):  # type: ignore[arg-type]
            fig = figure(table, which)
            path = out / f"{study}.png"
            fig.savefig(path)
            plt.close(fig)
        table.to_csv(out / f"{study}.csv", index=False, float_format="%.6g")
        made[study] = path
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.figures", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "table",
        type=Path,
        help="results.parquet from experiments.collect (or a sweep folder, or CSV)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/figures"))
    parser.add_argument(
        "--study",
        choices=STUDIES,
        action="append",
        help="draw only this study (repeatable; default: all the table holds)",
    )
    parser.add_argument(
        "--metric",
        choices=("true", "measured"),
        default="true",
        help="true (counterfactual) effects or holdout estimates (default true)",
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        help="also write the table cut to the study columns (.csv or .parquet)",
    )
    args = parser.parse_args(argv)
    try:
        df = load_table(args.table)
    except Exception as exc:
        print(f"error: cannot read {args.table}: {exc}", file=sys.stderr)
        return 2
    made = draw(df, args.out, args.study or STUDIES, args.metric)
    if not made:
        print(
            f"error: {args.table} holds none of the studies {', '.join(STUDIES)}", file=sys.stderr
        )
        return 2
    for study, path in made.items():
        print(f"{study}: {path} (numbers: {path.with_suffix('.csv')})")
    if args.export is not None:
        slim = slim_table(df)
        args.export.parent.mkdir(parents=True, exist_ok=True)
        if args.export.suffix == ".csv":
            slim.to_csv(args.export, index=False, float_format="%.10g")
        else:
            slim.to_parquet(args.export, index=False)
        print(f"table: {args.export} ({len(slim)} rows x {len(slim.columns)} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
