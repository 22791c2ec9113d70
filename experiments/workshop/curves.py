"""What the page computes after a change: the plan, its ROI curve and the granularity
curve of the current world.

* **ROI curve**: the plan at budgets of 10, 30 and 60 % of the variable spend (contact
  and personalisation, what a budget caps) it uses without a limit, and unlimited:
  incremental profit and ROI against the spend, measured beside true.  What does the
  next unit of budget buy?
* **Granularity curve**: the segmented campaign at k = 1 (mass), 2, 4, 8, 16 and 64 segments on the
  plan's basis (clusters of observed interests unless the plan segments otherwise),
  incremental profit against k: is there a "largest meaningful grouping"?

Both grids are fixed and small (4 and 6 runs), every run is cached by the
:class:`~experiments.workshop.engine.Runner`, and the granularity curve depends on the
world only, so changing the plan recomputes at most the plan and its ROI curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from experiments.workshop.engine import (
    Failure,
    Figures,
    Job,
    Outcome,
    Progress,
    Runner,
    gather,
)
from experiments.workshop.plans import Plan, World

BUDGET_FRACTIONS: tuple[float, ...] = (0.1, 0.3, 0.6)
GRANULARITY_K: tuple[int, ...] = (1, 2, 4, 8, 16, 64)


@dataclass(frozen=True)
class Interaction:
    """Everything the page shows after a change."""

    plan: Outcome
    roi: pd.DataFrame  # columns: budget, spend, cost, measured, se, true, roi_measured, roi_true
    granularity: pd.DataFrame  # columns: k, measured, se, true, contacts
    notes: tuple[str, ...] = ()


def granularity_plan(plan: Plan) -> Plan:
    base = Plan.default("segmented")
    if plan.strategy == "segmented":
        return replace(plan, budget=None)
    return base


def granularity_jobs(world: World, plan: Plan, seed: int) -> list[Job]:
    base = granularity_plan(plan)
    return [Job(world, replace(base, k=k), seed, types=False) for k in GRANULARITY_K]


def budgets(unlimited: Figures) -> list[float]:
    """Budget points below the spend the plan uses without a limit (none if it spends
    nothing)."""
    spend = unlimited.variable_spend
    if spend < 10:
        return []
    return sorted({float(max(1, round(f * spend))) for f in BUDGET_FRACTIONS})


def _row(fig: Outcome, **extra: float | None) -> dict[str, float | None]:
    if isinstance(fig, Failure):
        return {}
    return {
        **extra,
        "spend": fig.variable_spend,
        "cost": fig.cost_total,
        "contacts": float(fig.contacts),
        "measured": fig.profit.measured,
        "se": fig.profit.se,
        "true": fig.profit.true,
        "roi_measured": fig.roi_measured,
        "roi_true": fig.roi_true,
    }


def interact(
    world: World,
    plan: Plan,
    seed: int,
    runner: Runner,
    owner: str = "",
    progress: Progress | None = None,
    on_plan: Callable[[Outcome], None] | None = None,
) -> Interaction:
    """Run the plan, its ROI curve and the world's granularity curve (cached runs are
    free).  ``on_plan`` gets the plan's outcome as soon as it is known (the page shows it
    while the curves compute); ``progress(done, total)`` follows every run."""
    unlimited = replace(plan, budget=None)
    first = [Job(world, plan, seed)]
    if plan.budget is not None:
        first.append(Job(world, unlimited, seed, types=False))
    first += granularity_jobs(world, plan, seed)
    total = len(first) + len(BUDGET_FRACTIONS)
    futures = runner.submit(first, owner)
    # The unlimited run fixes the budget grid: wait for it (and the plan) first.
    head = gather(futures[: 2 if plan.budget is not None else 1], progress, 0, total)
    plan_fig, base_fig = head[0], head[-1]
    if on_plan:
        on_plan(plan_fig)
    points = budgets(base_fig) if isinstance(base_fig, Figures) else []
    roi_futures = runner.submit(
        [Job(world, replace(plan, budget=b), seed, types=False) for b in points], owner, more=True
    )
    rest = futures[len(head) :] + roi_futures
    done = gather(rest, progress, len(head), len(head) + len(rest))
    gran = done[: len(GRANULARITY_K)]
    roi_out = done[len(GRANULARITY_K) :]
    notes: list[str] = []
    roi_rows = [_row(f, budget=b) for b, f in zip(points, roi_out, strict=True)]
    if isinstance(base_fig, Figures):
        roi_rows.append(_row(base_fig, budget=None))
        if not points:
            notes.append("The plan spends (almost) nothing without a limit: no ROI curve.")
    gran_rows = [_row(f, k=float(k)) for k, f in zip(GRANULARITY_K, gran, strict=True)]
    return Interaction(
        plan_fig,
        pd.DataFrame([r for r in roi_rows if r]),
        pd.DataFrame([r for r in gran_rows if r]),
        tuple(notes),
    )
