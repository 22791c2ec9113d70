"""The workshop page: Streamlit widgets over the plain modules of this package.

Four modes: *Explore* (set the world and a plan, see measured beside true figures and the
ROI and granularity curves), *Exercises* (a task, a score on the measured figures, then
the debrief), *Team round* (submit a plan to the round the teacher opened, see the
leaderboard) and *Teacher* (open, reveal, close and export rounds).

Safety: every control is bounded (:mod:`experiments.workshop.plans`); the only free text,
a team name, is cleaned (:mod:`experiments.workshop.safety`) and shown only through
``st.text`` and ``st.dataframe``, never Markdown or HTML; errors reach the student as
messages, never as tracebacks.
"""

from __future__ import annotations

import hmac
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from experiments.workshop import plans as P
from experiments.workshop.curves import interact
from experiments.workshop.engine import (
    EXTRA_TRUTHS,
    Busy,
    Failure,
    Figures,
    Job,
    Outcome,
    Runner,
)
from experiments.workshop.exercises import (
    EXERCISES,
    NO_LAUNCH,
    Exercise,
    debrief,
    money,
    score,
    types_table,
)
from experiments.workshop.rounds import MAX_SEED, Rounds
from experiments.workshop.safety import MAX_TEAM_CHARS, InputError

log = logging.getLogger(__name__)
MODES = ("Explore", "Exercises", "Team round", "Teacher")
MAX_SEED_EXPLORE = 999
MEASURED, TRUE = "measured (holdout)", "true (twin worlds)"


@st.cache_resource
def shared_runner() -> Runner:
    """One pool and one cache of runs for the whole classroom (the server process)."""
    raw = os.environ.get("WORKSHOP_WORKERS", "")
    workers = int(raw) if raw.isdigit() else min(2, os.cpu_count() or 1)
    return Runner(min(workers, 8))


@st.cache_resource
def shared_rounds() -> Rounds:
    """The classroom's rounds, held in the server process's memory."""
    return Rounds()


def session_id() -> str:
    if "session" not in st.session_state:
        st.session_state["session"] = uuid.uuid4().hex
    return str(st.session_state["session"])


# ------------------------------------------------------------------ controls


def _label(name: str) -> str:
    b = P.BOUNDS[name]
    return f"{b.label} ({b.unit})"


def _help(name: str) -> str:
    b = P.BOUNDS[name]
    return f"{b.help} Range {b.lo:g} to {b.hi:g} {b.unit}.".strip()


def _slider(where: Any, name: str, value: float, key: str, *, integer: bool = False) -> Any:
    b = P.BOUNDS[name]
    fmt = "%d" if integer else ("%.2f" if b.step < 1 else "%.0f")
    cast: Callable[[float], Any] = int if integer else float
    return where.slider(
        _label(name),
        cast(b.lo),
        cast(b.hi),
        cast(value),
        cast(b.step),
        format=fmt,
        key=key,
        help=_help(name),
    )


def _number(where: Any, name: str, value: float, key: str, fmt: str = "%.2f") -> float:
    b = P.BOUNDS[name]
    return float(
        where.number_input(
            _label(name),
            min_value=float(b.lo),
            max_value=float(b.hi),
            value=float(min(max(value, b.lo), b.hi)),
            step=float(b.step),
            format=fmt,
            key=key,
            help=_help(name),
        )
    )


def world_controls(where: Any, prefix: str) -> P.World:
    """The market and cost controls (the preset sets every default)."""
    preset = where.selectbox(
        "Market", list(P.MARKETS), format_func=P.MARKETS.__getitem__, key=f"{prefix}_preset"
    )
    base = P.World.for_preset(preset)
    k = f"{prefix}_{preset}_"
    v: dict[str, Any] = {"preset": preset}
    market = where.expander("Market", expanded=True)
    v["customers"] = _slider(market, "customers", base.customers, k + "customers", integer=True)
    v["days"] = _slider(market, "days", base.days, k + "days", integer=True)
    v["tribalism"] = _slider(market, "tribalism", base.tribalism, k + "tribalism")
    v["privacy"] = _slider(market, "privacy", base.privacy, k + "privacy")
    for kind in ("implicit", "explicit", "ambient"):
        name = f"consent_{kind}"
        v[name] = _slider(market, name, getattr(base, name), k + name)
    v["margin"] = _slider(market, "margin", base.margin, k + "margin")
    v["basket"] = _number(market, "basket", base.basket, k + "basket", "%.0f")
    costs = where.expander("Costs")
    for kind in ("implicit", "explicit", "ambient"):
        name = f"data_{kind}"
        v[name] = _number(costs, name, getattr(base, name), k + name)
    v["content"] = _number(costs, "content", base.content, k + "content", "%.0f")
    for ch in P.CHANNEL_LABELS:
        name = f"contact_{ch}"
        v[name] = _number(costs, name, getattr(base, name), k + name, "%.3f")
    return P.World(**v)


def plan_controls(
    where: Any,
    prefix: str,
    strategies: tuple[str, ...] = tuple(P.STRATEGIES),
    locked: Mapping[str, Any] | None = None,
    choices: Mapping[str, tuple[Any, ...]] | None = None,
    start: Callable[[str], P.Plan] | None = None,
) -> P.Plan:
    """The strategy and its knobs, from ``start(strategy)`` (default: the strategy's
    preset); ``locked`` fields are shown but fixed."""
    locked = dict(locked or {})
    choices = dict(choices or {})
    if len(strategies) > 1:
        strategy = where.selectbox(
            "Strategy", strategies, format_func=P.STRATEGIES.__getitem__, key=f"{prefix}_strategy"
        )
    else:
        strategy = strategies[0]
        where.caption(f"Strategy: {P.STRATEGIES[strategy]}")
    base = replace(start(strategy) if start else P.Plan.default(strategy), **locked)
    k = f"{prefix}_{strategy}_"
    v: dict[str, Any] = {}
    cols = where.columns(2)
    left, right = cols[0], cols[1]
    if strategy in ("mass", "segmented"):
        v["channel"] = left.selectbox(
            "Channel",
            list(P.CHANNEL_LABELS),
            index=list(P.CHANNEL_LABELS).index(base.channel),
            format_func=P.CHANNEL_LABELS.__getitem__,
            key=k + "channel",
        )
        v["every_days"] = _slider(left, "every_days", base.every_days, k + "every_days")
        v["discount"] = _slider(right, "discount", base.discount, k + "discount")
    if strategy == "segmented":
        v["basis"] = right.selectbox(
            "Segment on",
            list(P.BASIS_LABELS),
            index=list(P.BASIS_LABELS).index(base.basis),
            format_func=P.BASIS_LABELS.__getitem__,
            key=k + "basis",
        )
        v["k"] = right.select_slider(
            "Segments (k)",
            options=list(P.K_CHOICES),
            value=base.k,
            key=k + "k",
            help="1 = mass. Capped at 256: finer test waves are noise.",
        )
        v["depth"] = _slider(left, "depth", base.depth, k + "depth")
    if strategy == "triggered":
        v["events"] = tuple(
            left.multiselect(
                "Trigger events",
                list(P.EVENT_LABELS),
                default=list(base.events),
                format_func=P.EVENT_LABELS.__getitem__,
                key=k + "events",
            )
        )
        v["trigger_channel"] = left.selectbox(
            "Channel",
            list(P.CHANNEL_LABELS),
            index=list(P.CHANNEL_LABELS).index(base.trigger_channel),
            format_func=P.CHANNEL_LABELS.__getitem__,
            key=k + "trigger_channel",
        )
        v["delay_hours"] = _slider(left, "delay_hours", base.delay_hours, k + "delay_hours")
        v["discount"] = _slider(right, "discount", base.discount, k + "discount")
        v["depth"] = _slider(right, "depth", base.depth, k + "depth")
    if strategy == "one_to_one":
        if "scorer" in locked:
            left.caption(f"Scorer: {P.SCORER_LABELS[locked['scorer']]}")
        else:
            v["scorer"] = left.selectbox(
                "Scorer",
                list(P.SCORER_LABELS),
                index=list(P.SCORER_LABELS).index(base.scorer),
                format_func=P.SCORER_LABELS.__getitem__,
                key=k + "scorer",
            )
        if "share" in choices:
            v["share"] = left.select_slider(
                _label("share"),
                options=list(choices["share"]),
                value=base.share if base.share in choices["share"] else choices["share"][0],
                key=k + "share",
                help=_help("share"),
            )
        else:
            v["share"] = _slider(left, "share", base.share, k + "share")
        v["depth"] = _slider(left, "depth", base.depth, k + "depth")
        if "offers" in locked:
            right.caption("Offers: " + ", ".join(f"{o:g} %" for o in locked["offers"]))
        else:
            v["offers"] = tuple(
                right.multiselect(
                    "Offers (% off)",
                    list(P.OFFER_CHOICES),
                    default=list(base.offers),
                    key=k + "offers",
                    help="The engine picks the best offer per customer.",
                )
            )
        if "channels" in locked:
            right.caption("Channels: " + ", ".join(P.CHANNEL_LABELS[c] for c in locked["channels"]))
        else:
            v["channels"] = tuple(
                right.multiselect(
                    "Channels",
                    list(P.CHANNEL_LABELS),
                    default=list(base.channels),
                    format_func=P.CHANNEL_LABELS.__getitem__,
                    key=k + "channels",
                )
            )
        v["data_kinds"] = tuple(
            right.multiselect(
                "Data used",
                list(P.DATA_LABELS),
                default=list(base.data_kinds),
                format_func=P.DATA_LABELS.__getitem__,
                key=k + "data_kinds",
            )
        )
    if "budget" not in locked:
        limit = left.checkbox("Limit the budget", value=False, key=k + "limit")
        if limit:
            b = P.BOUNDS["budget"]
            v["budget"] = float(
                left.number_input(
                    _label("budget"),
                    min_value=0.0,
                    max_value=float(b.hi),
                    value=1000.0,
                    step=float(b.step),
                    key=k + "budget",
                    help=_help("budget"),
                )
            )
    v["holdout"] = _slider(right, "holdout", base.holdout, k + "holdout")
    return replace(base, **v)


# ------------------------------------------------------------------ results


def _pct(x: float) -> str:
    return f"{x:.2%}"


def show_figures(fig: Outcome, *, truth: bool = True) -> None:
    """The plan's figures: what the marketer measures, then (``truth``) what happened."""
    if isinstance(fig, Failure):
        st.error(fig.message)
        return
    low, high = fig.profit.ci95
    st.markdown("**What the marketer measures** (random holdout)")
    cols = st.columns(4)
    cols[0].metric(
        "Response rate",
        _pct(fig.response_rate),
        help="Contacts followed by a purchase within the response window (sure things included).",
    )
    cols[1].metric(
        "Profit, measured",
        money(fig.profit.measured),
        help="Incremental profit after all campaign costs, by the holdout comparison.",
    )
    cols[2].metric(
        "ROI, measured",
        "n/a" if fig.roi_measured is None else f"{fig.roi_measured:.2f}",
        help="Measured incremental profit / total campaign cost.",
    )
    cols[3].metric("Contacts", f"{fig.contacts:,}")
    st.caption(
        f"Measured profit, 95 % interval: {money(low)} to {money(high)}. Holdout "
        f"{fig.holdout:,} customers, treated {fig.treated:,}, campaign cost "
        f"{money(fig.cost_total)}."
    )
    if fig.contacts == 0:
        st.warning(
            "This plan made no contacts: no message variant was expected to cover its content "
            "cost, no segment passed its test wave, or no trigger fired. Its cost is fixed cost."
        )
    if not truth:
        return
    st.markdown("**What really happened** (twin worlds: the same market without the campaign)")
    cols = st.columns(4)
    cols[0].metric(
        "Profit, true",
        money(fig.profit.true),
        help="Incremental profit from the twin worlds, after all campaign costs.",
    )
    cols[1].metric("ROI, true", "n/a" if fig.roi_true is None else f"{fig.roi_true:.2f}")
    cols[2].metric("Backlash events", f"{fig.backlash:,}")
    cols[3].metric("Channel opt-outs", f"{fig.opt_outs:,}")
    if fig.profit.extra:
        st.caption(
            "Also from the twin worlds, true profit "
            + "; ".join(f"{EXTRA_TRUTHS[k]}: {money(v)}" for k, v in fig.profit.extra.items())
        )


def curve_chart(
    df: pd.DataFrame, x: str, title: str, *, log_x: bool = False
) -> alt.LayerChart | alt.FacetChart:
    """Measured incremental profit (95 % interval) beside true, against ``x``."""
    d = df.copy()
    d["low"] = d["measured"] - 1.96 * d["se"]
    d["high"] = d["measured"] + 1.96 * d["se"]
    long = d.melt(
        id_vars=[x], value_vars=["measured", "true"], var_name="figure", value_name="profit"
    )
    long["figure"] = long["figure"].map({"measured": MEASURED, "true": TRUE})
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    xenc = alt.X(f"{x}:Q", title=title, scale=scale)
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=xenc,
            y=alt.Y("profit:Q", title="incremental profit"),
            color=alt.Color(
                "figure:N",
                title=None,
                scale=alt.Scale(domain=[MEASURED, TRUE], range=["#4C72B0", "#DD8452"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[x, "figure", alt.Tooltip("profit:Q", format=",.0f")],
        )
    )
    bars = alt.Chart(d).mark_rule(color="#4C72B0").encode(x=xenc, y="low:Q", y2="high:Q")
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="grey").encode(y="y:Q")
    return alt.layer(bars, lines, zero).properties(height=260)


# ------------------------------------------------------------------ modes


def _progress() -> tuple[Any, Callable[[int, int], None]]:
    bar = st.progress(0.0, text="Simulating the market...")

    def update(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Simulating: {done} of {total} runs")

    return bar, update


def _runs(runner: Runner, jobs: list[Job]) -> list[Outcome] | None:
    bar, update = _progress()
    try:
        out = runner.run(jobs, session_id(), update)
    except Busy as exc:
        bar.empty()
        st.warning(str(exc))
        return None
    bar.empty()
    return out


def explore(runner: Runner, rounds: Rounds) -> None:
    st.title("Explore: one market, one plan, the truth beside the measurement")
    with st.sidebar:
        world = world_controls(st, "x")
        seed = int(
            st.number_input(
                "Market draw (seed)",
                0,
                MAX_SEED_EXPLORE,
                1,
                1,
                key="x_seed",
                help=f"0 to {MAX_SEED_EXPLORE}: the same seed, the same customers.",
            )
        )
    st.caption(world.describe())
    plan = plan_controls(st, "x")
    problems = world.problems() + plan.problems()
    if problems:
        for p in problems:
            st.error(p)
        return
    st.subheader("Your plan")
    plan_area = st.container()
    bar, update = _progress()

    def on_plan(fig: Outcome) -> None:
        with plan_area:
            show_figures(fig)

    try:
        result = interact(world, plan, seed, runner, session_id(), update, on_plan)
    except Busy as exc:
        bar.empty()
        st.warning(str(exc))
        return
    bar.empty()
    for note in result.notes:
        st.info(note)
    fig = result.plan
    cols = st.columns(2)
    with cols[0]:
        st.subheader("ROI curve of this plan")
        if len(result.roi):
            roi = result.roi.assign(spend=result.roi["spend"].clip(lower=1.0))
            st.altair_chart(
                curve_chart(roi, "spend", "variable spend (contact + personalisation)", log_x=True),
                width="stretch",
            )
            table = pd.DataFrame(
                {
                    "budget": [
                        "no limit" if pd.isna(b) else f"{b:,.0f}" for b in result.roi["budget"]
                    ],
                    "variable spend": result.roi["spend"].round(0),
                    "profit, measured": result.roi["measured"].round(0),
                    "profit, true": result.roi["true"].round(0),
                    "ROI, measured": result.roi["roi_measured"].round(2),
                    "ROI, true": result.roi["roi_true"].round(2),
                }
            )
            st.dataframe(table, hide_index=True)
            st.caption("Vertical bars: the holdout's 95 % interval.")
    with cols[1]:
        st.subheader("Granularity curve of this world")
        if len(result.granularity):
            st.altair_chart(
                curve_chart(result.granularity, "k", "segments k (log scale)", log_x=True),
                width="stretch",
            )
    if isinstance(fig, Figures) and fig.types is not None:
        st.subheader("Who the plan reached (the truth)")
        st.dataframe(types_table(fig), hide_index=True)
        costs = pd.DataFrame({"cost": list(fig.cost), "amount": list(fig.cost.values())})
        st.dataframe(costs.round(2), hide_index=True)


def exercises(runner: Runner, rounds: Rounds) -> None:
    ex_id = st.sidebar.selectbox(
        "Exercise", list(EXERCISES), format_func=lambda i: EXERCISES[i].title, key="ex_pick"
    )
    ex = EXERCISES[ex_id]
    st.title(ex.title)
    st.markdown(ex.task)
    st.caption(f"{ex.world.describe()}; seed {ex.seed}")
    plan = plan_controls(st, f"ex_{ex.id}", ex.strategies, ex.locked, ex.choices, ex.start_plan)
    launched, bid = decisions(ex, f"ex_{ex.id}")
    problems = ex.problems(plan)
    for p in problems:
        st.error(p)
    key = f"exres_{ex.id}"
    if st.button("Run my plan", disabled=bool(problems), key=f"run_{ex.id}", type="primary"):
        out = _runs(runner, [ex.job(plan)])
        if out is not None:
            st.session_state[key] = {"plan": plan.key(), "fig": out[0], "reveal": False}
    held = st.session_state.get(key)
    if not held or held["plan"] != plan.key():
        st.info("Set your plan, then run it: you will see what a marketer would measure.")
        return
    fig = held["fig"]
    if isinstance(fig, Failure):
        st.error(fig.message)
        return
    st.subheader("Your score: what your holdout measured")
    s = score(fig, launched)
    cols = st.columns(4)
    cols[0].metric("Score: incremental profit, measured", money(s.profit))
    cols[1].metric("95 % interval", f"{money(s.low)} to {money(s.high)}")
    cols[2].metric("Response rate", _pct(s.response_rate))
    cols[3].metric("ROI, measured", "n/a" if s.roi is None else f"{s.roi:.2f}")
    if st.button("Reveal the truth", key=f"reveal_{ex.id}"):
        held["reveal"] = True
    if not held["reveal"]:
        return
    refs = ex.references(plan)
    out = _runs(runner, [Job(ex.world, p, ex.seed) for _, p in refs])
    if out is None:
        return
    d = debrief(
        ex, plan, fig, list(zip([r[0] for r in refs], out, strict=True)), launched=launched, bid=bid
    )
    st.subheader("Debrief: the truth")
    for sentence in d.sentences:
        st.markdown(sentence)
    st.dataframe(d.types, hide_index=True)
    st.dataframe(d.references, hide_index=True)
    st.markdown(f"**What to take away.** {ex.lesson}")
    st.caption(f"Learning goal: {ex.goal}")


def decisions(ex: Exercise, prefix: str) -> tuple[bool, float | None]:
    launched = True
    bid: float | None = None
    if ex.decide:
        launched = (
            st.radio(
                "Your decision", ["Launch", NO_LAUNCH], horizontal=True, key=f"{prefix}_decide"
            )
            == "Launch"
        )
    if ex.bid:
        bid = float(
            st.number_input(
                "Your bid for perfect data over these 60 days (currency, 0 to 10,000,000)",
                min_value=0.0,
                max_value=10_000_000.0,
                value=0.0,
                step=1000.0,
                key=f"{prefix}_bid",
            )
        )
    return launched, bid


def team_round(runner: Runner, rounds: Rounds) -> None:
    st.title("Team round")
    open_rounds = rounds.open_rounds()
    if not open_rounds:
        st.info("No round is open yet: the teacher opens one in Teacher mode.")
        return
    labels = {r.number: r.label for r in open_rounds}
    number = st.sidebar.selectbox(
        "Round", list(labels), format_func=labels.__getitem__, key="round_pick"
    )
    r = rounds.get(number)
    ex = r.exercise
    st.subheader(r.label)
    st.markdown(ex.task)
    team = st.text_input(
        f"Team name (1 to {MAX_TEAM_CHARS} characters)",
        max_chars=MAX_TEAM_CHARS,
        key="team_name",
    )
    plan = plan_controls(st, f"round_{number}", ex.strategies, ex.locked, ex.choices, ex.start_plan)
    launched, _ = decisions(replace(ex, bid=False), f"round_{number}")
    if st.button("Submit our plan", type="primary", key=f"submit_{number}"):
        try:
            rounds.check_entry(number, team, plan)
            out = _runs(runner, [Job(ex.world, plan, r.seed)])
            if out is not None:
                fig = out[0]
                if isinstance(fig, Failure):
                    st.error(fig.message)
                else:
                    entry = rounds.submit(number, team, plan, fig, launched)
                    st.success("Plan submitted. The leaderboard shows your team as:")
                    st.text(entry.team)
        except InputError as exc:
            st.error(str(exc))
    st.subheader("Leaderboard")
    st.button("Refresh", key=f"refresh_{number}")
    st.dataframe(rounds.leaderboard(number), hide_index=True)
    if not r.revealed:
        st.caption("The truth is hidden until the teacher reveals it.")


def teacher(runner: Runner, rounds: Rounds) -> None:
    st.title("Teacher")
    code = os.environ.get("WORKSHOP_TEACHER_CODE", "")
    if code:
        entered = st.text_input("Teacher code", type="password", key="teacher_code")
        if not hmac.compare_digest(entered.encode(), code.encode()):
            st.info("Enter the teacher code set when the workshop was started.")
            return
    st.subheader("Open a round")
    cols = st.columns([3, 1, 1])
    ex_id = cols[0].selectbox(
        "Exercise", list(EXERCISES), format_func=lambda i: EXERCISES[i].title, key="t_ex"
    )
    seed = int(
        cols[1].number_input(
            f"Seed (0 to {MAX_SEED})", 0, MAX_SEED, EXERCISES[ex_id].seed, 1, key="t_seed"
        )
    )
    if cols[2].button("Open round", key="t_open"):
        try:
            rounds.open(ex_id, seed)
        except InputError as exc:
            st.error(str(exc))
    if st.button(
        "Prepare the exercises (runs every reference plan once, about a minute)", key="t_prepare"
    ):
        jobs = [
            Job(ex.world, p, ex.seed)
            for ex in EXERCISES.values()
            for p in [ex.start_plan(), *(p for _, p in ex.references(ex.start_plan()))]
        ]
        if _runs(runner, jobs) is not None:
            st.success(f"{len(jobs)} runs ready in the shared cache.")
    for r in reversed(rounds.all()):
        with st.expander(r.label, expanded=r.is_open):
            row = st.columns(4)
            revealed = row[0].toggle("Reveal the truth", value=r.revealed, key=f"t_rev_{r.number}")
            if revealed != r.revealed:
                rounds.reveal(r.number, revealed)
            if r.is_open and row[1].button("Close", key=f"t_close_{r.number}"):
                rounds.close(r.number)
            if row[2].button("Delete", key=f"t_del_{r.number}"):
                rounds.delete(r.number)
                continue
            row[3].download_button(
                "Export CSV",
                data=rounds.export_csv(r.number),
                file_name=f"round_{r.number}.csv",
                mime="text/csv",
                key=f"t_csv_{r.number}",
            )
            st.dataframe(rounds.leaderboard(r.number, truth=True), hide_index=True)


def main() -> None:
    st.set_page_config(page_title="Targeting workshop", layout="wide")
    runner, rounds = shared_runner(), shared_rounds()
    st.sidebar.title("Targeting workshop")
    mode = st.sidebar.radio("Mode", MODES, key="mode", horizontal=True)
    view = {
        "Explore": explore,
        "Exercises": exercises,
        "Team round": team_round,
        "Teacher": teacher,
    }[mode]
    try:
        view(runner, rounds)
    except InputError as exc:
        st.error(str(exc))
    except Exception:  # a bug: logged in full on the server, never a traceback on the page
        log.exception("workshop page failed")
        st.error("Something went wrong on this page; the server's log has the details.")
