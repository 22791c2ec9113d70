"""The paper's figures, drawn from the result tables into ``generated/figures/``.

The study figures are drawn by the studies' own plot functions
(:mod:`experiments.studies.plots`, the same that ``experiments.reproduce`` uses for
``results/figures/``) from the committed tables, so the paper's copy is the committed
figure of whatever results folder it is built from (figures drawn market by market are
drawn in rows of :data:`PER_ROW` markets, to fit a page).  Two figures are the paper's own,
in the studies' style: the Hillstrom calibration (data against simulation, six rates) and
the estimand study (what the holdout measures against the truths).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from experiments.paper.inputs import Inputs
from experiments.paper.numbers import ARM_NAMES
from experiments.studies import plots
from experiments.studies.style import STYLE, market_label, money, strategy_label

Producer = Callable[[Inputs, Path], None]


def _save(fig: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


#: Markets per row of a figure drawn market by market (a page is narrower than a screen).
PER_ROW = 3


def _stacked(draw: Callable[[pd.DataFrame, Path], None], table: pd.DataFrame, path: Path) -> None:
    """Draw ``table`` with ``draw`` in rows of :data:`PER_ROW` markets, stacked as one PNG
    (pixels copied, not resampled)."""
    presets = list(dict.fromkeys(table["preset"]))
    chunks = [presets[i : i + PER_ROW] for i in range(0, len(presets), PER_ROW)]
    if len(chunks) == 1:
        draw(table, path)
        return
    parts = []
    for i, chunk in enumerate(chunks):
        part = path.with_name(f".{path.stem}.{i}.png")
        draw(table[table["preset"].isin(chunk)], part)
        with Image.open(part) as im:
            parts.append(im.convert("RGB"))
        part.unlink()
    width = max(p.width for p in parts)
    out = Image.new("RGB", (width, sum(p.height for p in parts)), "white")
    y = 0
    for p in parts:
        out.paste(p, (0, y))
        y += p.height
    out.save(path, format="PNG")


def tuned_comparison(inputs: Inputs, path: Path) -> None:
    _stacked(plots.tuned_figure, inputs.table("tuned_comparison.csv"), path)


def phase(inputs: Inputs, path: Path) -> None:
    plots.phase_figure(inputs.table("phase.csv"), path)


def granularity(inputs: Inputs, path: Path) -> None:
    _stacked(plots.granularity_figure, inputs.table("granularity.csv"), path)


def morris(inputs: Inputs, path: Path) -> None:
    plots.morris_figure(inputs.table("morris.csv"), path)


def decision_map(inputs: Inputs, path: Path) -> None:
    plots.decision_map_figure(inputs.table("decision_map.csv"), path)


def calibration(inputs: Inputs, path: Path) -> None:
    """Hillstrom's six arm rates (95 % interval) beside the simulated ones at the unseen
    verification seed (95 % binomial interval)."""
    d = inputs.calibration_data()
    rows = d["verify_table"]
    with plt.rc_context(STYLE):  # type: ignore[arg-type]
        fig, axes = plt.subplots(1, 2, figsize=(8, 2.8), constrained_layout=True)
        for ax, metric in zip(axes, ("visit", "conversion"), strict=True):
            sel = [r for r in rows if r["metric"] == metric]
            y = np.arange(len(sel))
            for dy, (lab, col, lo, hi, color) in zip(
                (-0.12, 0.12),
                (
                    ("Hillstrom", "target", "target_ci_low", "target_ci_high", "#333333"),
                    ("simulated", "sim_rate", "sim_ci_low", "sim_ci_high", "#C44E52"),
                ),
                strict=True,
            ):
                v = np.array([100 * r[col] for r in sel])
                err = [v - [100 * r[lo] for r in sel], [100 * r[hi] for r in sel] - v]
                ax.errorbar(v, y + dy, xerr=err, fmt="o", color=color, capsize=2, label=lab)
            ax.set_yticks(y, [ARM_NAMES.get(r["arm"], r["arm"]) for r in sel])
            ax.invert_yaxis()
            ax.set_xlabel(f"{metric} within two weeks (%), 95 % interval")
            ax.set_title(f"{metric.capitalize()} rate by arm")
        axes[0].legend(loc="lower right")
        fig.suptitle(
            f"{market_label(d['preset'])}: calibration check at an unseen seed "
            f"({d['verify_n']:,} consumers)"
        )
        _save(fig, path)


def estimand(inputs: Inputs, path: Path) -> None:
    """Per strategy: what the holdout measures, its own estimand and the total effect
    (true incremental profit), means over seeds."""
    t = inputs.table("estimand.csv")
    with plt.rc_context(STYLE):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(7.5, 3.4), constrained_layout=True)
        y = np.arange(len(t))
        for dy, (col, lab, color) in zip(
            (-0.22, 0.0, 0.22),
            (
                ("measured_mean", "measured (holdout)", "#4C72B0"),
                ("holdout_estimand_mean", "holdout's own estimand", "#8C8C8C"),
                ("total_mean", "total effect (truth)", "#C44E52"),
            ),
            strict=True,
        ):
            ax.barh(y + dy, t[col], height=0.22, color=color, label=lab)
        ax.set_yticks(y, [strategy_label(str(s)) for s in t["strategy"]])
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(money))
        ax.set_xlabel("incremental profit (currency), mean over seeds")
        ax.set_title(
            f"Measured against true: {market_label(str(t['preset'].iloc[0]))}, "
            f"{int(t['n_consumers'].iloc[0]):,} consumers, {int(t['n_seeds'].iloc[0])} seeds"
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
        _save(fig, path)


FIGURE_PRODUCERS: dict[str, Producer] = {
    "calibration": calibration,
    "estimand": estimand,
    "tuned_comparison": tuned_comparison,
    "phase": phase,
    "granularity": granularity,
    "morris": morris,
    "decision_map": decision_map,
}
"""Every figure, by the name the manifest gives it."""
