"""The granularity study: profit against the number of segments k, and its interior optimum.

The segmented family runs at the setting tuned for each preset, with only ``k`` moved along
the grid (k = 1 is one segment: a mass message with a test wave).  The "largest meaningful
grouping" (stylised fact 4) is an *interior optimum*: the best k lies strictly inside the
grid and beats both ends by paired intervals that exclude 0; otherwise the table says which
end it cannot be told from.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from experiments.studies.jobs import CellJob, Contender, frozen, market_for, provenance_of
from experiments.studies.paired import paired
from experiments.studies.tuned import best_settings
from experiments.studies.tuning import FAMILIES


def granularity_jobs(
    presets: list[str],
    ks: list[int],
    seeds: list[int],
    trials: pd.DataFrame,
    market: dict[str, Any],
    per_preset: dict[str, dict[str, Any]] | None = None,
) -> list[CellJob]:
    """One job per preset and seed; one contender per k (the tuned segmented setting)."""
    settings = best_settings(trials)
    jobs = []
    for preset in presets:
        tuned = settings[(preset, "segmented", "measured")]
        contenders = tuple(
            Contender(f"k={k}", FAMILIES["segmented"].option, frozen({**tuned, "k": int(k)}))
            for k in ks
        )
        for seed in seeds:
            jobs.append(
                CellJob(
                    "granularity",
                    preset,
                    int(seed),
                    contenders,
                    market=frozen(market_for(market, preset, per_preset)),
                )
            )
    return jobs


def granularity_summary(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per preset and k: mean true profit with its interval; the interior-optimum test."""
    from scipy import stats

    out = []
    for preset, g in rows.groupby("preset", sort=False):
        wide = g.pivot_table(index="seed", columns="contender", values="profit_true")
        ks = sorted(wide.columns, key=lambda c: int(c.split("=")[1]))
        means = {k: float(wide[k].mean()) for k in ks}
        best = max(ks, key=lambda k: means[k])
        lo_end, hi_end = ks[0], ks[-1]
        vs_lo = paired(best, lo_end, wide[best], wide[lo_end], level) if best != lo_end else None
        vs_hi = paired(best, hi_end, wide[best], wide[hi_end], level) if best != hi_end else None
        interior = bool(vs_lo and vs_hi and vs_lo.lo > 0 and vs_hi.lo > 0)
        n = len(wide)
        for k in ks:
            y = wide[k].to_numpy(float)
            half = (
                float(stats.t.ppf(0.5 + level / 2, n - 1) * y.std(ddof=1) / np.sqrt(n))
                if n > 1
                else np.nan
            )
            sub = g[g["contender"] == k]
            out.append(
                {
                    "preset": preset,
                    "k": int(k.split("=")[1]),
                    "n_seeds": n,
                    "n_consumers": int(g["n_consumers"].iloc[0]),
                    "profit_true_mean": means[k],
                    "profit_true_lo": means[k] - half,
                    "profit_true_hi": means[k] + half,
                    "profit_measured_mean": float(sub["profit_measured"].mean()),
                    "cost_mean": float(sub["cost"].mean()),
                    "best_k": int(best.split("=")[1]),
                    "interior_optimum": interior,
                    "best_vs_k1": json.dumps(
                        None if vs_lo is None else [vs_lo.mean, vs_lo.lo, vs_lo.hi]
                    ),
                    "best_vs_kmax": json.dumps(
                        None if vs_hi is None else [vs_hi.mean, vs_hi.lo, vs_hi.hi]
                    ),
                    **provenance_of(g),
                }
            )
    return pd.DataFrame(out)
