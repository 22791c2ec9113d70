"""The collected sweep table as the studies read it: column names, loading, summaries
over seeds, and each row's strategy variant (read from its config columns)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pandas as pd

from sim.report import strategy_key

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
#: Prefix of a row's strategy config columns.
STRATEGY_PREFIX: Final = "cfg.strategy."
#: The column :func:`with_strategy_keys` adds (a study table calls it ``strategy``).
COL_KEY: Final = "strategy_key"


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


def with_strategy_keys(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :data:`COL_KEY`: each row's strategy variant
    (:func:`sim.report.strategy_key` of its ``cfg.strategy.*`` columns; missing where
    the row names no strategy).  A sweep over ``strategy=one_to_one_propensity`` is
    ``one_to_one_propensity`` here, not the oracle's ``one_to_one``."""
    cols = [c for c in df.columns if c.startswith(STRATEGY_PREFIX)]
    names = [c[len(STRATEGY_PREFIX) :] for c in cols]
    keys = [
        strategy_key(row) if isinstance(row.get("name"), str) else None
        for row in (
            dict(zip(names, values, strict=True)) for values in df[cols].itertuples(index=False)
        )
    ]
    return df.assign(**{COL_KEY: pd.Series(keys, index=df.index, dtype=object)})


def summarise(df: pd.DataFrame, keys: list[str], values: dict[str, str]) -> pd.DataFrame:
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


def metric_column(metric: str, which: str) -> str:
    """``incremental_profit.true`` etc.: the collected column of a metric."""
    return f"{metric}.{which}"


def campaign_values(which: str) -> dict[str, str]:
    """Profit, ROI and cost columns (``which``: true | measured) under their table names."""
    return {
        "profit": metric_column("incremental_profit", which),
        "roi": metric_column("roi", which),
        "cost": "cost.total",
    }
