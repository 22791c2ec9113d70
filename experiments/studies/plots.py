"""Figures of the reproduced studies (``experiments.reproduce``), in the studies' one style.

Each function takes the study's summary table (as written to ``results/``) and a path, and
draws what a strategist reads: true total incremental profit (the simulator's truth) with
its 95 % interval over seeds, winners where the paired interval excludes 0 and "no clear
winner" where it does not, market and size in every title.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.ticker import FuncFormatter

from experiments.studies.paired import NO_CLEAR_WINNER
from experiments.studies.style import STYLE, market_label, money

FAMILY_LABELS = {
    "mass": "Mass",
    "segmented": "Segments (best basis)",
    "tribes": "Tribes",
    "triggered": "Event-triggered",
    "contextual": "Contextual",
    "hybrid": "Hybrid (mass + learned 1:1)",
    "one_to_one_propensity": "One-to-one (propensity)",
    "one_to_one_learned": "One-to-one (CausalML, paid pilot)",
    "one_to_one_oracle": "One-to-one (oracle: perfect information)",
    NO_CLEAR_WINNER: "No clear winner",
}
FAMILY_COLORS = {
    "mass": "#4C72B0",
    "segmented": "#55A868",
    "tribes": "#2F6B3A",
    "triggered": "#8172B2",
    "contextual": "#CCB974",
    "one_to_one_learned": "#937860",
    "one_to_one_propensity": "#DD8452",
    "one_to_one_oracle": "#C44E52",
    "hybrid": "#64B5CD",
    NO_CLEAR_WINNER: "#DDDDDD",
}


def _styled() -> Any:
    return plt.rc_context(STYLE)  # type: ignore[arg-type]


def _save(fig: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _money_axis(ax: plt.Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(money)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def tuned_figure(summary: pd.DataFrame, path: Path) -> None:
    """Per preset: each family's true total profit (95 % interval over fresh seeds), tuned on
    what the marketer measures (bar) and on the truth (its upper bound, tick)."""
    presets = list(dict.fromkeys(summary["preset"]))
    with _styled():
        fig, axes = plt.subplots(
            1,
            len(presets),
            figsize=(4.2 * len(presets), 4.6),
            squeeze=False,
            constrained_layout=True,
        )
        for ax, preset in zip(axes[0], presets, strict=True):
            s = summary[summary["preset"] == preset]
            m = s[s["objective"] == "measured"].set_index("family")
            t = s[s["objective"] == "truth"].set_index("family")
            fams = sorted(
                m.index, key=lambda f: list(FAMILY_LABELS).index(f) if f in FAMILY_LABELS else 99
            )
            m = m.loc[fams]  # bars, labels and ticks in one order
            y = np.arange(len(fams))
            ax.barh(
                y,
                m["profit_true_mean"],
                xerr=[
                    m["profit_true_mean"] - m["profit_true_lo"],
                    m["profit_true_hi"] - m["profit_true_mean"],
                ],
                color=[FAMILY_COLORS.get(f, "#999999") for f in fams],
                capsize=2,
                label="tuned on measured figures",
            )
            ax.plot(
                t.loc[fams, "profit_true_mean"], y, "k|", ms=12, mew=2, label="tuned on the truth"
            )
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(y, [FAMILY_LABELS.get(f, f) for f in fams])
            ax.invert_yaxis()
            _money_axis(ax, "x")
            n = int(s["n_consumers"].iloc[0])
            ax.set_title(
                f"{market_label(preset)}\n{n:,} consumers, {int(s['n_seeds'].iloc[0])} seeds"
            )
            ax.set_xlabel("true total incremental profit (currency), 95 % interval")
        fig.legend(
            *axes[0][0].get_legend_handles_labels(),
            loc="outside lower center",
            ncols=2,
        )
        _save(fig, path)


def _grid(table: pd.DataFrame, x: str, y: str) -> tuple[list[float], list[float]]:
    return sorted(set(table[x])), sorted(set(table[y]))


def _winner_map(ax: plt.Axes, table: pd.DataFrame, x: str, y: str) -> list[str]:
    xs, ys = _grid(table, x, y)
    names = sorted(set(table["winner"]), key=lambda w: (w == NO_CLEAR_WINNER, w))
    code = {w: i for i, w in enumerate(names)}
    z = np.full((len(ys), len(xs)), np.nan)
    cells = zip(
        table[x], table[y], table["winner"], table["one_to_one_minus_alternative"], strict=True
    )
    for xv, yv, win, diff in cells:
        i, j = ys.index(yv), xs.index(xv)
        z[i, j] = code[win]
        ax.text(j, i, money(float(diff)), ha="center", va="center", fontsize=7)
    cmap = ListedColormap([FAMILY_COLORS.get(w, "#999999") for w in names])
    ax.imshow(z, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{v:.3g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:.3g}" for v in ys])
    ax.grid(False)
    return names


def _legend(ax: plt.Axes, names: list[str]) -> None:
    handles = [plt.Rectangle((0, 0), 1, 1, color=FAMILY_COLORS.get(w, "#999999")) for w in names]
    ax.legend(
        handles,
        [FAMILY_LABELS.get(w, w) for w in names],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )


def phase_figure(table: pd.DataFrame, path: Path) -> None:
    """Winner per cell of taste tribalism x tolerance of personalisation; grey where the
    paired interval of leader vs runner-up contains 0.  Cell text: best one-to-one minus best
    alternative (mean true profit)."""
    with _styled():
        fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
        names = _winner_map(ax, table, "tag.tribalism", "tag.tolerance")
        ax.set_xlabel("taste tribalism (share of taste variance explained by the tribe)")
        ax.set_ylabel("tolerance of personalisation (median creepiness threshold)")
        preset = table["preset"].iloc[0]
        ax.set_title(
            f"Who wins: {market_label(preset)}, {int(table['n_consumers'].iloc[0]):,} consumers, "
            f"{int(table['n_seeds'].iloc[0])} seeds"
        )
        _legend(ax, names)
        _save(fig, path)


def decision_map_figure(table: pd.DataFrame, path: Path) -> None:
    """The two most influential traits (Sobol total index) -> who wins, uncertain band grey."""
    with _styled():
        fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
        names = _winner_map(ax, table, "tag.x", "tag.y")
        ax.set_xlabel(table["x_parameter"].iloc[0])
        ax.set_ylabel(table["y_parameter"].iloc[0])
        preset = table["preset"].iloc[0]
        ax.set_title(
            f"Decision map: {market_label(preset)}, "
            f"{int(table['n_consumers'].iloc[0]):,} consumers, "
            f"{int(table['n_seeds'].iloc[0])} seeds per cell"
        )
        _legend(ax, names)
        _save(fig, path)


def morris_figure(morris: pd.DataFrame, path: Path) -> None:
    """Morris screening: mean absolute elementary effect (95 % bootstrap interval) by parameter."""
    with _styled():
        fig, ax = plt.subplots(figsize=(7, 4.6), constrained_layout=True)
        m = morris.sort_values("mu_star")
        ax.barh(m["parameter"], m["mu_star"], xerr=m["mu_star_conf"], color="#4C72B0", capsize=2)
        _money_axis(ax, "x")
        ax.set_xlabel("μ*: mean |effect| on (best one-to-one − best alternative), currency")
        ax.set_title("What moves the verdict: Morris screening")
        _save(fig, path)


def granularity_figure(table: pd.DataFrame, path: Path) -> None:
    """True total profit against the number of segments (log axis), 95 % interval."""
    presets = list(dict.fromkeys(table["preset"]))
    with _styled():
        fig, axes = plt.subplots(
            1,
            len(presets),
            figsize=(4.2 * len(presets), 3.8),
            squeeze=False,
            constrained_layout=True,
        )
        for ax, preset in zip(axes[0], presets, strict=True):
            t = table[table["preset"] == preset].sort_values("k")
            ax.plot(t["k"], t["profit_true_mean"], "o-", color="#55A868", label="true total profit")
            ax.fill_between(
                t["k"], t["profit_true_lo"], t["profit_true_hi"], color="#55A868", alpha=0.2, lw=0
            )
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xscale("log")
            _money_axis(ax)
            verdict = (
                "interior optimum" if bool(t["interior_optimum"].iloc[0]) else "no interior optimum"
            )
            ax.set_title(
                f"{market_label(preset)}, {int(t['n_consumers'].iloc[0]):,} consumers\n"
                f"best k = {int(t['best_k'].iloc[0])}: {verdict}"
            )
            ax.set_xlabel("number of segments k (log scale)")
        axes[0][0].set_ylabel("true total incremental profit (currency), 95 % interval")
        _save(fig, path)
