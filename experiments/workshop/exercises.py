"""Exercises: a task, the student's plan, a score on the measured figures, then the truth.

Each exercise fixes a world and a seed (every student and team plays the same market),
says which strategies and knobs are open, and names reference plans to compare with in
the debrief.  The score is what the marketer would report: the incremental profit the
holdout measured.  The debrief then reveals the twin-world truth: true incremental profit
and ROI, and who the campaign paid for (persuadables, sure things, lost causes and
sleeping dogs among the contacted, see :mod:`experiments.workshop.engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from experiments.workshop.engine import TYPE_LABELS, TYPES, Failure, Figures, Job, Outcome
from experiments.workshop.plans import STRATEGIES, Plan, World

NO_LAUNCH = "Do not launch"


@dataclass(frozen=True)
class Exercise:
    """One task on one world.  ``start``: the plan's starting values; ``locked``: plan
    fields the exercise fixes; ``choices``: the values some fields may take; ``decide``:
    "do not launch" is an answer; ``bid``: the student also bids for perfect data."""

    id: str
    title: str
    task: str
    goal: str
    lesson: str
    world: World
    seed: int
    strategies: tuple[str, ...]
    start: Mapping[str, Any] = field(default_factory=dict)
    locked: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    decide: bool = False
    bid: bool = False

    def start_plan(self, strategy: str | None = None) -> Plan:
        """The starting plan for ``strategy`` (the first open one by default)."""
        plan = replace(Plan.default(strategy or self.strategies[0]), **self.start, **self.locked)
        for name, values in self.choices.items():
            if getattr(plan, name) not in values:
                plan = replace(plan, **{name: values[0]})
        return plan

    def problems(self, plan: Plan) -> list[str]:
        """Why the plan is not an answer to this exercise (empty: it is)."""
        if plan.strategy not in self.strategies:
            names = ", ".join(STRATEGIES[s] for s in self.strategies)
            return [f"This exercise is played with: {names}."]
        out = plan.problems()
        for name, value in self.locked.items():
            if getattr(plan, name) != value:
                out.append(f"This exercise fixes {name.replace('_', ' ')} at {value}.")
        for name, values in self.choices.items():
            if getattr(plan, name) not in values:
                out.append(f"Choose {name.replace('_', ' ')} among {', '.join(map(str, values))}.")
        return out

    def job(self, plan: Plan) -> Job:
        return Job(self.world, plan, self.seed)

    def references(self, plan: Plan) -> list[tuple[str, Plan]]:
        """Plans to compare the student's with in the debrief (the student's own plan is
        not repeated)."""
        return [(label, p) for label, p in REFERENCES[self.id](self, plan) if p != plan]


def _tribal(ex: Exercise, plan: Plan) -> list[tuple[str, Plan]]:
    seg = Plan.default("segmented")
    o2o = Plan.default("one_to_one")
    return [
        ("Mass e-mail, weekly", Plan.default("mass")),
        ("8 segments by declared tribe, generic", replace(seg, basis="tribe", k=8, depth=0.0)),
        ("4 segments by observed interests", seg),
        ("Triggers on abandoned carts", Plan.default("triggered")),
        ("One-to-one, perfect knowledge", o2o),
        ("One-to-one, propensity model", replace(o2o, scorer="propensity")),
    ]


def _propensity(ex: Exercise, plan: Plan) -> list[tuple[str, Plan]]:
    return [
        ("Propensity model, top 10 %, offers 0/10/20 %", ex.start_plan()),
        ("Same plan ranked by true uplift (perfect knowledge)", replace(plan, scorer="oracle")),
        ("Propensity model without discounts", replace(plan, offers=(0.0,))),
    ]


def _perfect_data(ex: Exercise, plan: Plan) -> list[tuple[str, Plan]]:
    return [
        ("Your plan with perfect knowledge (oracle)", replace(plan, scorer="oracle")),
        ("Your plan with the propensity model", replace(plan, scorer="propensity")),
    ]


CREEPY_DEPTHS: tuple[float, ...] = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)


def _creepiness(ex: Exercise, plan: Plan) -> list[tuple[str, Plan]]:
    return [(f"Your plan at depth {d:g} %", replace(plan, depth=d)) for d in CREEPY_DEPTHS]


GRANULARITY_KS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)


def _granularity(ex: Exercise, plan: Plan) -> list[tuple[str, Plan]]:
    return [(f"{k} segment{'s' if k > 1 else ''}", replace(plan, k=k)) for k in GRANULARITY_KS]


REFERENCES: dict[str, Callable[[Exercise, Plan], list[tuple[str, Plan]]]] = {
    "tribal_fmcg": _tribal,
    "propensity_10": _propensity,
    "perfect_data": _perfect_data,
    "creepiness": _creepiness,
    "granularity": _granularity,
}

EXERCISES: dict[str, Exercise] = {
    ex.id: ex
    for ex in (
        Exercise(
            id="tribal_fmcg",
            title="1. A tribal FMCG brand",
            task=(
                "You market beer, deodorant and snacks. Tastes are set by the tribe (95 % of "
                "the differences), baskets are small (15) and the margin is 20 %; customers "
                "are privacy-sensitive. Choose the strategy and its settings that earn the "
                "most incremental profit over 60 days."
            ),
            goal=(
                "Finer is not always better: when tribes explain tastes, a mass message or a "
                "few meaningful segments can beat one-to-one, whose data, content and "
                "creepiness costs buy little extra relevance."
            ),
            lesson=(
                "In a tribal market the extra relevance of fine targeting is small, while its "
                "costs (data, a content variant per segment, backlash from personal messages) "
                "are not. Compare the reference plans' *true* profits: which level of "
                "granularity earned money here, and which only looked good on response?"
            ),
            world=World.for_preset("fmcg_tribal"),
            seed=11,
            strategies=("mass", "segmented", "triggered", "one_to_one"),
        ),
        Exercise(
            id="propensity_10",
            title="2. Your propensity model responds at 10 %: is it worth it?",
            task=(
                "The agency's propensity model picks the customers most likely to buy; its "
                "test mailing got a response rate of about 10 %, against 4 % for the weekly "
                "newsletter. Decide whether to launch it, and if so with which share, offers "
                "and channels."
            ),
            goal=(
                "Response is not uplift: a model of who buys finds sure things, who would "
                "have bought anyway, and discounts sent to them are paid for nothing."
            ),
            lesson=(
                "A response rate counts every contacted customer who bought, including those "
                "who would have bought anyway. Look at the share of sure things among the "
                "contacted, and at what their discounts cost. Ranking by *uplift* (the "
                "second reference) asks a different question: whom does the message change?"
            ),
            world=World.for_preset("default"),
            seed=12,
            strategies=("one_to_one",),
            start={"share": 10.0},
            locked={"scorer": "propensity"},
            decide=True,
        ),
        Exercise(
            id="perfect_data",
            title="3. How much is perfect data worth?",
            task=(
                "A specialty retailer (saddlery, individual tastes, baskets of 180) targets "
                "one-to-one with an uplift model learned on a randomised pilot. A data vendor "
                "offers perfect knowledge of each customer's response. Set the campaign's "
                "share, then bid: the most you would pay for perfect data over these 60 days."
            ),
            goal=(
                "The value of perfect information is the gap between the oracle's profit and "
                "the learned model's, and only a simulator can measure it; a noisy pilot "
                "and a measured holdout can hide most of it."
            ),
            lesson=(
                "The oracle knows every customer's true response; the learned model only "
                "what a pilot showed. The difference in their *true* profits is the value of "
                "perfect information: the most any data or model improvement could be worth "
                "here. Did your measured figures let you guess it?"
            ),
            world=World.for_preset("specialty_retail"),
            seed=13,
            strategies=("one_to_one",),
            locked={
                "scorer": "causalml",
                "offers": (0.0, 10.0, 20.0),
                "channels": ("email", "sms", "push"),
                "budget": None,
            },
            choices={"share": (10.0, 20.0, 30.0)},
            bid=True,
        ),
        Exercise(
            id="creepiness",
            title="4. When does creepiness eat the gain of personalisation?",
            task=(
                "Customers of this retailer are twice as privacy-sensitive as usual. Your "
                "one-to-one engine knows each customer's response (perfect knowledge). "
                "Choose how personal the messages are (depth), which data they use and on "
                "which channels, to earn the most incremental profit."
            ),
            goal=(
                "Personalisation raises response until messages feel intrusive; past that "
                "point backlash, opt-outs and sleeping dogs eat the gain, first in "
                "privacy-sensitive tribes and on intimate channels."
            ),
            lesson=(
                "Intrusiveness grows with depth, the sensitivity of the data used (ambient "
                "most), the intimacy of the channel (phone, SMS) and the frequency of "
                "contact. The depth curve below shows the true profit of your plan at every "
                "depth: where does personalisation stop paying?"
            ),
            world=World.for_preset("default", privacy=2.0),
            seed=14,
            strategies=("one_to_one",),
            start={"data_kinds": ("implicit", "explicit", "ambient")},
            locked={"scorer": "oracle"},
        ),
        Exercise(
            id="granularity",
            title="5. How many segments?",
            task=(
                "The omnichannel retailer segments its customers on observed data and sends "
                "one message per segment, after a test wave shows which segments pay. Choose "
                "the basis and the number of segments."
            ),
            goal=(
                "Profit against granularity often has an interior optimum, the 'largest "
                "meaningful grouping': fine segments are precise, but each needs its own "
                "content and its test is noisy."
            ),
            lesson=(
                "Each segment costs a content variant and its test wave is smaller, hence "
                "noisier. The reference curve shows the true profit at every k with your "
                "basis: where is the largest meaningful grouping in this market?"
            ),
            world=World.for_preset("default"),
            seed=15,
            strategies=("segmented",),
        ),
    )
}


@dataclass(frozen=True)
class Score:
    """The student's score: what the marketer measured."""

    profit: float
    low: float
    high: float
    roi: float | None
    response_rate: float
    contacts: int
    launched: bool = True


def score(fig: Figures, launched: bool = True) -> Score:
    if not launched:
        return Score(0.0, 0.0, 0.0, None, 0.0, 0, launched=False)
    low, high = fig.profit.ci95
    return Score(fig.profit.measured, low, high, fig.roi_measured, fig.response_rate, fig.contacts)


@dataclass(frozen=True)
class Debrief:
    """The truth about a plan: sentences (the page's own text, no student input), the
    contacted customers by type, and the reference plans measured beside true."""

    sentences: tuple[str, ...]
    types: pd.DataFrame
    references: pd.DataFrame


def money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}".replace("-", "\u2212")


def types_table(fig: Figures) -> pd.DataFrame:
    """Contacted customers by type: count, share and what the campaign spent on them."""
    t = fig.types
    if t is None:
        return pd.DataFrame(columns=["type", "customers", "share of contacted", "spend on them"])
    return pd.DataFrame(
        {
            "type": [TYPE_LABELS[k] for k in TYPES],
            "customers": [t.counts[k] for k in TYPES],
            "share of contacted": [f"{t.share(k):.1%}" for k in TYPES],
            "spend on them": [round(t.spend[k], 2) for k in TYPES],
        }
    )


def debrief(
    ex: Exercise,
    plan: Plan,
    fig: Figures,
    references: list[tuple[str, Outcome]],
    *,
    launched: bool = True,
    bid: float | None = None,
) -> Debrief:
    """The debrief of ``plan`` (its run ``fig``) against the exercise's references."""
    s = score(fig, launched)
    out: list[str] = []
    true = fig.profit.true
    if launched:
        out.append(
            f"Your holdout measured an incremental profit of {money(s.profit)} (95 % "
            f"interval {money(s.low)} to {money(s.high)}) at a response rate of "
            f"{s.response_rate:.1%}."
        )
        out.append(f"The truth from the twin worlds: {money(true)}.")
        if true is not None and not s.low <= true <= s.high:
            out.append("The holdout's interval misses the truth: the measurement misled you.")
    else:
        out.append(
            f"You decided not to launch: incremental profit 0. Had you launched it, the "
            f"holdout would have measured {money(fig.profit.measured)} and the truth was "
            f"{money(true)}."
        )
    t = fig.types
    if t is not None and t.contacted:
        out.append(
            f"Of the {t.contacted:,} customers {'you' if launched else 'the plan'} contacted, "
            f"{t.counts['persuadable']:,} were persuadables ({t.share('persuadable'):.1%}), "
            f"{t.counts['sure_thing']:,} sure things ({t.share('sure_thing'):.1%}) and "
            f"{t.counts['sleeping_dog']:,} sleeping dogs. The campaign spent "
            f"{money(t.spend['sure_thing'])} on sure things, who would have bought anyway, "
            f"and {money(t.spend['sleeping_dog'])} on sleeping dogs, whom it talked out of "
            "buying."
        )
    elif fig.contacts == 0:
        out.append(
            "The plan contacted nobody: its costs are fixed costs only (platform, data). A "
            "one-to-one engine only sends a message variant whose expected gain covers its "
            "content cost; segments only roll out where the test wave paid."
        )
    if fig.backlash or fig.opt_outs:
        out.append(
            f"Its messages caused {fig.backlash:,} backlash events and {fig.opt_outs:,} "
            "channel opt-outs."
        )
    rows = [_ref_row("Your plan" if launched else "Your plan (not launched)", fig)]
    rows += [_ref_row(label, f) for label, f in references]
    if ex.decide:
        rows.append(NOT_LAUNCHING)
    table = pd.DataFrame([r for r in rows if r])
    if bid is not None:
        oracle = next((f for label, f in references if "oracle" in label), None)
        if isinstance(oracle, Figures) and oracle.profit.true is not None and true is not None:
            vpi = oracle.profit.true - true
            verdict = "would have paid" if bid <= vpi else "was more than perfect data is worth"
            out.append(
                f"Perfect knowledge would truly have earned {money(oracle.profit.true)} with "
                f"your settings: the value of perfect information is {money(vpi)}. Your bid of "
                f"{money(bid)} {verdict}."
            )
    valid = table.dropna(subset=["true profit"]) if "true profit" in table else table.iloc[:0]
    mine = table.iloc[0] if len(table) else None
    if len(valid) > 1 and mine is not None and pd.notna(mine.get("true profit")):
        best = valid.iloc[int(valid["true profit"].to_numpy(float).argmax())]
        by_true = int((valid["true profit"] > mine["true profit"]).sum()) + 1
        by_measured = int((valid["measured profit"] > mine["measured profit"]).sum()) + 1
        out.append(
            f"Best true profit among these plans: {money(best['true profit'])} "
            f"({best['plan']}). Your plan ranks {by_true} of {len(valid)} on true profit and "
            f"{by_measured} on measured profit."
        )
    return Debrief(tuple(out), types_table(fig), table)


NOT_LAUNCHING: dict[str, Any] = {
    "plan": "Not launching",
    "contacts": 0,
    "response rate": 0.0,
    "measured profit": 0,
    "± 95 %": 0,
    "true profit": 0,
    "true ROI": None,
    "sure things %": None,
    "backlash": 0,
}


def _ref_row(label: str, fig: Outcome) -> dict[str, Any]:
    if isinstance(fig, Failure):
        return {"plan": label, "note": fig.message}
    sure = fig.types.share("sure_thing") if fig.types else None
    return {
        "plan": label,
        "contacts": fig.contacts,
        "response rate": round(fig.response_rate * 100, 1),
        "measured profit": round(fig.profit.measured),
        "± 95 %": round(1.96 * fig.profit.se),
        "true profit": None if fig.profit.true is None else round(fig.profit.true),
        "true ROI": None if fig.roi_true is None else round(fig.roi_true, 2),
        "sure things %": None if sure is None else round(sure * 100, 1),
        "backlash": fig.backlash,
    }
