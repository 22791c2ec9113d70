"""Why a run's figures are empty: plain-language notes for the summary and ``metrics.json``.

A campaign that contacts nobody reports zeros and a ROI of -1 (its fixed costs only),
which reads like a bug.  :func:`run_notes` says why, from what the strategy planned
(one-to-one's waves keep each consumer's expected incremental profit of the best offer,
net of contact and offer costs) and from its settings (campaign window, budget).
Attributes of the strategy are read defensively: a strategy without them gets the
general note.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def _plans_note(plans: list[Any], content_cost: float | None) -> str | None:
    """What one-to-one's waves planned: no positive expected value, or values too small
    to pay a message variant's content cost."""
    values = [np.asarray(getattr(p, "value", []), float) for p in plans]
    values = [v[np.isfinite(v)] for v in values]
    if not plans or not all(getattr(p, "profit_based", False) for p in plans):
        return None
    best = max((float(v.max()) for v in values if v.size), default=float("nan"))
    positive = sum(int((v > 0).sum()) for v in values)
    if not np.isfinite(best):
        return f"the strategy planned {len(plans)} wave(s) but valued no consumer."
    if positive == 0:
        return (
            f"no consumer's expected incremental profit covered the cost of contacting "
            f"them in any of {len(plans)} wave(s): the best expected value of a contact, "
            f"net of its contact and offer costs, was {_fmt(best)} (currency units)."
        )
    cost = f" ({_fmt(content_cost)} per variant)" if content_cost is not None else ""
    return (
        f"{positive:,} consumer-wave(s) had a positive expected incremental profit (at most "
        f"{_fmt(best)}), but no message variant's total value covered its content cost{cost}."
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def undefined_reasons(metrics: dict[str, Any]) -> dict[str, str]:
    """Why each undefined figure of a run is undefined (dotted key -> reason), for the
    ``undefined`` entry of ``metrics.json`` (:func:`experiments.store.finite`)."""
    out: dict[str, str] = {}
    treated = int(metrics.get("treated_consumers") or 0)
    holdout = int(metrics.get("holdout_consumers") or 0)
    cost = (metrics.get("cost") or {}).get("total")
    for name in ("incremental_conversions", "incremental_revenue", "incremental_profit"):
        effect = metrics.get(name) or {}
        for key in ("measured", "measured_se"):
            if key in effect and _missing(effect[key]):
                out[f"{name}.{key}"] = (
                    f"the holdout comparison needs two consumers in the holdout; it has "
                    f"{holdout} (treated {treated}): raise strategy.holdout_share or the "
                    "market's size"
                    if holdout < 2
                    else "the holdout comparison is undefined in this run"
                )
    pairs = (
        ("roi", "incremental_profit"),
        ("cost_per_incremental_conversion", "incremental_conversions"),
    )
    for name, num in pairs:
        ratio = metrics.get(name) or {}
        for key in ("measured", "true"):
            if key not in ratio or not _missing(ratio[key]):
                continue
            if not cost:
                why = "the campaign cost nothing, so a ratio to its cost is undefined"
            elif key == "true" and _missing((metrics.get("incremental_profit") or {}).get("true")):
                why = "the true effects were not computed (truth=false)"
            elif f"{num}.{key}" in out:
                why = f"{num}.{key} is undefined, and so is this ratio"
            elif name == "cost_per_incremental_conversion":
                why = f"no {key} incremental conversion to divide the cost by"
            else:
                why = "undefined in this run"
            out[f"{name}.{key}"] = why
    return out


def run_notes(metrics: dict[str, Any], strategy_cfg: Any, campaign: Any, econ: Any) -> list[str]:
    """Notes on a finished run whose figures would otherwise mislead (none if all is well)."""
    notes: list[str] = []
    if int(metrics.get("contacts", 0) or 0) == 0 and getattr(strategy_cfg, "name", "") != "none":
        plans = getattr(campaign, "plans", None)
        why = (
            _plans_note(list(plans), getattr(econ, "content_cost_per_variant", None))
            if (plans)
            else None
        )
        if why is None:
            start = getattr(strategy_cfg, "start_day", None)
            end = getattr(strategy_cfg, "end_day", None)
            horizon = metrics.get("horizon_days")
            budget = getattr(strategy_cfg, "budget", None)
            parts = []
            if start is not None and horizon is not None and float(start) >= float(horizon):
                parts.append(f"it starts on day {start:g}, at or after the horizon ({horizon:g})")
            if start is not None and end is not None and float(end) <= float(start):
                parts.append(f"its window is empty (start_day {start:g}, end_day {end:g})")
            if budget is not None and float(budget) <= 0:
                parts.append(f"its budget is {budget}")
            why = (
                "; ".join(parts)
                if parts
                else "no consumer was eligible when it ran (addressable on its channels, "
                "with consent, outside the holdout, under the frequency cap and budget)"
            ) + "."
        notes.append(
            "No consumer was contacted: "
            + why
            + " The incremental figures are therefore zero and the costs are the fixed ones."
        )
    return notes


__all__ = ["run_notes", "undefined_reasons"]
