"""Studies over variants of a market: the phase diagram, one trait at a time, ablations.

Each *variant* is a preset with a few overrides (a cell of the phase grid, one trait moved,
one mechanism switched off).  On each variant and seed every fielded family runs at the
setting tuned for the preset (not retuned per variant: a marketer's tuned campaign meeting
a different world), all sharing the seed's market.  Per variant the winner is the family
with the highest mean true total profit; it is *clear* when its paired interval against
the runner-up excludes 0, else the variant is marked "no clear winner".  The verdict of
the debate is "best one-to-one minus best alternative" (the one-to-one a marketer can
field: learned or propensity scorer), with its paired interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.studies.jobs import CellJob, Contender, frozen, market_for, provenance_of
from experiments.studies.paired import NO_CLEAR_WINNER, paired, winner
from experiments.studies.tuned import ONE_TO_ONE, best_settings
from experiments.studies.tuning import FAMILIES
from sim import presets


@dataclass(frozen=True)
class Variant:
    """A preset with overrides, labelled for the tables."""

    preset: str
    label: str
    market: tuple[tuple[str, Any], ...] = ()
    economics: tuple[tuple[str, Any], ...] = ()
    tags: tuple[tuple[str, Any], ...] = ()


def fielded(families: list[str]) -> list[str]:
    return [f for f in families if f != "one_to_one_oracle"]


def variant_jobs(
    study: str,
    variants: list[Variant],
    seeds: list[int],
    families: list[str],
    trials: pd.DataFrame,
    market: dict[str, Any],
    per_preset: dict[str, dict[str, Any]] | None = None,
) -> list[CellJob]:
    """One job per variant and seed, contenders at their preset's measured-tuned setting
    (``per_preset``: market overrides of a preset, after the study's)."""
    settings = best_settings(trials)
    jobs = []
    for v in variants:
        contenders = tuple(
            Contender(f, FAMILIES[f].option, frozen(settings[(v.preset, f, "measured")]))
            for f in fielded(families)
        )
        for seed in seeds:
            jobs.append(
                CellJob(
                    study=study,
                    preset=v.preset,
                    seed=int(seed),
                    contenders=contenders,
                    market=frozen({**market_for(market, v.preset, per_preset), **dict(v.market)}),
                    economics=v.economics,
                    tags=(("variant", v.label), *v.tags),
                )
            )
    return jobs


def variant_summary(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per preset and variant: winner (clear or not) and the one-to-one verdict."""
    out = []
    tag_cols = [c for c in rows.columns if c.startswith("tag.")]
    for keys, g in rows.groupby(["preset", *tag_cols], sort=False, dropna=False):
        wide = g.pivot_table(index="seed", columns="contender", values="profit_true")
        values = {c: wide[c].to_numpy(float) for c in wide.columns}
        best, vs_second = winner(values, level)
        clear = vs_second is not None and vs_second.resolved
        one = max((f for f in values if f in ONE_TO_ONE), key=lambda f: values[f].mean())
        alt = max((f for f in values if f not in ONE_TO_ONE), key=lambda f: values[f].mean())
        verdict = paired(one, alt, values[one], values[alt], level)
        row = dict(
            zip(["preset", *tag_cols], keys if isinstance(keys, tuple) else (keys,), strict=True)
        )
        row.update(
            {
                "n_seeds": len(wide),
                "n_consumers": int(g["n_consumers"].iloc[0]),
                "winner": best if clear else NO_CLEAR_WINNER,
                "leader": best,
                "leader_profit": float(values[best].mean()),
                "leader_margin_lo": None if vs_second is None else vs_second.lo,
                "leader_margin_hi": None if vs_second is None else vs_second.hi,
                "best_one_to_one": one,
                "best_alternative": alt,
                "one_to_one_minus_alternative": verdict.mean,
                "diff_lo": verdict.lo,
                "diff_hi": verdict.hi,
                "one_to_one_verdict": verdict.verdict,
                "means": json.dumps({k: round(float(v.mean()), 2) for k, v in values.items()}),
                **provenance_of(g),
            }
        )
        out.append(row)
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- variants


def phase_variants(preset: str, tribalism: list[float], tolerance: list[float]) -> list[Variant]:
    """The phase grid: taste tribalism x tolerance of personalisation."""
    return [
        Variant(
            preset,
            f"rho={r:g} theta={t:g}",
            market=(("tribes.variance_share", r), ("creepiness.threshold_median", t)),
            tags=(("tribalism", r), ("tolerance", t)),
        )
        for r in tribalism
        for t in tolerance
    ]


def _scaled(table: dict[str, float], factor: float) -> dict[str, float]:
    return {k: v * factor for k, v in table.items()}


def trait_variants(preset: str) -> list[Variant]:
    """One trait at a time, low and high, from the preset's own values."""
    m = presets.market(preset)
    econ_name = preset if preset in presets.options("economics") else "default"
    e = presets.economics(econ_name)
    reach = {ch: c.reach for ch, c in m.channels.items()}
    out = [Variant(preset, "preset", tags=(("trait", "preset"), ("level", "preset")))]

    def add(
        trait: str, level: str, market: dict[str, Any] | None = None, econ: dict | None = None
    ) -> None:
        out.append(
            Variant(
                preset,
                f"{trait}={level}",
                market=frozen(market),
                economics=frozen(econ),
                tags=(("trait", trait), ("level", level)),
            )
        )

    add("taste tribalism", "low", {"tribes.variance_share": 0.1})
    add("taste tribalism", "high", {"tribes.variance_share": 0.9})
    add(
        "privacy sensitivity",
        "low",
        {"creepiness.threshold_median": m.creepiness.threshold_median * 3},
    )
    add(
        "privacy sensitivity",
        "high",
        {"creepiness.threshold_median": m.creepiness.threshold_median / 3},
    )
    add("consent", "low", {"consent.share": _scaled(m.consent.share, 0.5)})
    add(
        "consent",
        "high",
        {"consent.share": {k: min(1.0, v * 1.5) for k, v in m.consent.share.items()}},
    )
    add("margin", "low", econ={"margin_rate": e.margin_rate * 0.5})
    add("margin", "high", econ={"margin_rate": min(0.9, e.margin_rate * 1.5)})
    add("basket value", "low", {"purchase.basket_mean": m.purchase.basket_mean * 0.5})
    add("basket value", "high", {"purchase.basket_mean": m.purchase.basket_mean * 2})
    add("data cost", "low", econ={"data_cost_per_month": _scaled(e.data_cost_per_month, 0.25)})
    add("data cost", "high", econ={"data_cost_per_month": _scaled(e.data_cost_per_month, 4.0)})
    add("content cost", "low", econ={"content_cost_per_variant": e.content_cost_per_variant * 0.25})
    add("content cost", "high", econ={"content_cost_per_variant": e.content_cost_per_variant * 4})
    # A new catalogue needs its replenishment times: one value for every category, the
    # preset's mean (the dip's recovery, sim.dip).
    refill = [float(np.mean(m.purchase.replenishment_days))]
    add(
        "catalogue size",
        "small",
        {"categories": [f"c{i}" for i in range(3)], "purchase.replenishment_days": refill},
    )
    add(
        "catalogue size",
        "large",
        {"categories": [f"c{i}" for i in range(24)], "purchase.replenishment_days": refill},
    )
    add(
        "channel mix", "few addresses", {f"channels.{ch}.reach": r * 0.5 for ch, r in reach.items()}
    )
    add("channel mix", "all addressable", {f"channels.{ch}.reach": 1.0 for ch in reach})
    return out


def mechanism_variants(preset: str, mechanisms: dict[str, dict[str, Any]]) -> list[Variant]:
    """Each mechanism switched off (``mechanisms``: name -> market overrides)."""
    return [
        Variant(
            preset,
            f"no {name}",
            market=frozen(ov),
            tags=(("trait", f"no {name}"), ("level", "off")),
        )
        for name, ov in mechanisms.items()
    ]


def flips(summary: pd.DataFrame) -> pd.DataFrame:
    """Mark the variants whose one-to-one verdict or winner differs from the preset's."""
    base = summary[summary["tag.trait"] == "preset"].set_index("preset")
    out = summary.copy()
    out["preset_winner"] = out["preset"].map(base["winner"])
    out["preset_one_to_one_verdict"] = out["preset"].map(base["one_to_one_verdict"])
    out["winner_flips"] = out["winner"] != out["preset_winner"]
    sign = np.sign(out["one_to_one_minus_alternative"])
    base_sign = out["preset"].map(np.sign(base["one_to_one_minus_alternative"]))
    out["verdict_flips"] = (sign != base_sign) & (out["one_to_one_verdict"] != NO_CLEAR_WINNER)
    return out
