"""Phase study: which strategy makes the most incremental profit where?

The winning strategy variant on the grid of taste tribalism
(``market.tribes.variance_share``) x tolerance of personalisation
(``market.creepiness.threshold_median``), one panel per data-cost level; "no campaign"
where no strategy makes money; one row of panels per market, each titled with the
market's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from experiments.studies.style import (
    CURRENCY,
    STRATEGY_COLORS,
    legend_below,
    market_label,
    strategy_color,
    strategy_label,
)
from experiments.studies.sweep_table import (
    COL_DATA_COST,
    COL_KEY,
    COL_MARKET,
    COL_N,
    COL_STRATEGY,
    COL_THRESHOLD,
    COL_VARIANCE,
    metric_column,
    summarise,
    with_strategy_keys,
)


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
    """Per grid cell (data cost, variance share, threshold): each strategy variant's mean
    incremental profit, the winner (``none`` if no variant's mean is positive) and its
    lead over the runner-up (or over no campaign)."""
    d = with_strategy_keys(df)
    d["data_cost"] = _data_cost_level(d)
    if COL_MARKET not in d.columns:
        d[COL_MARKET] = "?"
    keys = [COL_MARKET, "data_cost", COL_VARIANCE, COL_THRESHOLD]
    s = summarise(d, [*keys, COL_KEY], {"profit": metric_column("incremental_profit", which)})
    sizes = d.groupby(COL_MARKET)[COL_N].max() if COL_N in d.columns else None
    days = d.groupby(COL_MARKET)["horizon_days"].max() if "horizon_days" in d.columns else None
    rows = []
    for key, grp in s.groupby(keys, sort=True):
        row = dict(
            zip(["market", "data_cost", "variance_share", "threshold_median"], key, strict=True)
        )
        if sizes is not None:
            row["n_consumers"] = int(sizes.loc[str(row["market"])])
        if days is not None:
            row["horizon_days"] = float(days.loc[str(row["market"])])
        means = dict(zip(grp[COL_KEY], grp["profit_mean"], strict=True))
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
    cmap = ListedColormap([strategy_color(n) for n in names])
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


def _market_text(t: pd.DataFrame) -> str:
    """``Specialty retail, individual tastes: 3,000 customers, 60-day campaign``."""
    market = str(t["market"].iloc[0]) if "market" in t.columns else "?"
    size = f": {int(t['n_consumers'].max()):,} customers" if "n_consumers" in t.columns else ""
    days = f", {t['horizon_days'].max():g}-day campaign" if "horizon_days" in t.columns else ""
    return f"{market_label(market)}{size}{days}"


def figure_phase(table: pd.DataFrame, which: str = "true") -> Figure:
    if "market" not in table.columns:
        table = table.assign(market="?")
    markets = list(dict.fromkeys(table["market"]))
    levels = list(dict.fromkeys(table["data_cost"]))
    names = sorted(
        set(table["winner"]) | {"none"},
        key=lambda n: list(STRATEGY_COLORS).index(n) if n in STRATEGY_COLORS else 99,
    )
    fig, axes = plt.subplots(
        len(markets),
        len(levels),
        figsize=(5.2 * len(levels), 4.4 * len(markets)),
        squeeze=False,
        constrained_layout=True,
    )
    for row, market in zip(axes, markets, strict=True):
        t = table[table["market"] == market]
        for ax, level in zip(row, levels, strict=True):
            plot_phase(t, ax, level, names)
            ax.set_title(f"{_market_text(t)}\n{ax.get_title()}")
    handles = [
        Patch(
            color=strategy_color(n),
            label="no campaign (nothing pays)" if n == "none" else strategy_label(n),
        )
        for n in names
    ]
    legend_below(fig, handles, [str(h.get_label()) for h in handles])
    seeds = int(table["n_seeds"].min()) if "n_seeds" in table.columns else 0
    fig.suptitle(
        f"Which strategy makes the most incremental profit ({which} effect, mean of "
        f"{seeds} seed(s))?\ncell text: the winner's mean incremental profit, thousand "
        f"{CURRENCY}",
        fontsize=10,
    )
    return fig
