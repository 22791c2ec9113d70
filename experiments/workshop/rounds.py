"""Team rounds: several teams submit plans for the same market and seed.

A teacher opens a round on an exercise (its world) and a seed; teams submit plans under a
team name (a team that submits again replaces its entry); the leaderboard ranks them by
measured and by true incremental profit side by side, the truth hidden until the teacher
reveals it; the teacher exports the round as CSV (:func:`experiments.workshop.safety.safe_csv`).

Rounds live in the server process's memory, shared by every session of one classroom,
and are bounded: at most :data:`MAX_ROUNDS` rounds (the oldest closed one is dropped to
open another) and :data:`MAX_TEAMS` teams per round.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pandas as pd

from experiments.workshop.engine import Figures
from experiments.workshop.exercises import EXERCISES, Exercise
from experiments.workshop.plans import STRATEGIES, Plan
from experiments.workshop.safety import InputError, clean_team, safe_csv, team_key

MAX_ROUNDS = 12
MAX_TEAMS = 40
MAX_SEED = 9_999


@dataclass(frozen=True)
class Entry:
    """A team's latest submission."""

    team: str
    plan: Plan
    figures: Figures
    submitted: float
    launched: bool = True


@dataclass
class Round:
    """One round: an exercise's world at one seed, and the teams' entries."""

    number: int
    exercise_id: str
    seed: int
    is_open: bool = True
    revealed: bool = False
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def exercise(self) -> Exercise:
        return EXERCISES[self.exercise_id]

    @property
    def label(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"Round {self.number}: {self.exercise.title} (seed {self.seed}, {state})"


class Rounds:
    """The classroom's rounds (thread-safe: sessions run in their own threads)."""

    def __init__(self) -> None:
        self._rounds: dict[int, Round] = {}
        self._next = 1
        self._lock = threading.Lock()

    def all(self) -> list[Round]:
        with self._lock:
            return list(self._rounds.values())

    def open_rounds(self) -> list[Round]:
        return [r for r in self.all() if r.is_open]

    def get(self, number: int) -> Round:
        with self._lock:
            if number not in self._rounds:
                raise InputError(f"Round {number} does not exist (any more).")
            return self._rounds[number]

    def open(self, exercise_id: str, seed: int) -> Round:
        """Open a round; the oldest closed round makes room when :data:`MAX_ROUNDS` are
        held, and all open ones is an error."""
        if exercise_id not in EXERCISES:
            raise InputError(f"Unknown exercise {exercise_id!r}.")
        if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InputError(f"The seed must be a whole number from 0 to {MAX_SEED}.")
        with self._lock:
            if len(self._rounds) >= MAX_ROUNDS:
                closed = [n for n, r in self._rounds.items() if not r.is_open]
                if not closed:
                    raise InputError(
                        f"{MAX_ROUNDS} rounds are open: close one before opening another."
                    )
                del self._rounds[min(closed)]
            r = Round(self._next, exercise_id, seed)
            self._rounds[r.number] = r
            self._next += 1
            return r

    def close(self, number: int) -> None:
        self.get(number).is_open = False

    def reveal(self, number: int, revealed: bool = True) -> None:
        self.get(number).revealed = revealed

    def delete(self, number: int) -> None:
        with self._lock:
            self._rounds.pop(number, None)

    def check_entry(self, number: int, team: object, plan: Plan) -> tuple[Round, str]:
        """The round and the cleaned team name, or :class:`InputError` with the reason
        (before any run is spent on the plan)."""
        r = self.get(number)
        if not r.is_open:
            raise InputError("This round is closed; ask the teacher to open a new one.")
        name = clean_team(team)
        problems = r.exercise.problems(plan)
        if problems:
            raise InputError(" ".join(problems))
        with self._lock:
            if team_key(name) not in r.entries and len(r.entries) >= MAX_TEAMS:
                raise InputError(f"This round already has {MAX_TEAMS} teams.")
        return r, name

    def submit(
        self, number: int, team: object, plan: Plan, figures: Figures, launched: bool = True
    ) -> Entry:
        """Store a team's plan and its run; a team submitting again replaces its entry."""
        r, name = self.check_entry(number, team, plan)
        entry = Entry(name, plan, figures, time.time(), launched)
        with self._lock:
            if team_key(name) not in r.entries and len(r.entries) >= MAX_TEAMS:
                raise InputError(f"This round already has {MAX_TEAMS} teams.")
            r.entries[team_key(name)] = entry
        return entry

    def leaderboard(self, number: int, truth: bool | None = None) -> pd.DataFrame:
        """One row per team: rank and incremental profit by the measured figures and, if
        ``truth`` (default: once revealed), by the true ones."""
        r = self.get(number)
        show_truth = r.revealed if truth is None else truth
        with self._lock:
            entries = list(r.entries.values())
        rows = []
        for e in entries:
            f = e.figures
            launched = e.launched
            rows.append(
                {
                    "team": e.team,
                    "plan": e.plan.describe() if launched else "not launched",
                    "strategy": STRATEGIES.get(e.plan.strategy, e.plan.strategy),
                    "contacts": f.contacts if launched else 0,
                    "response rate %": round(f.response_rate * 100, 1) if launched else 0.0,
                    "measured profit": round(f.profit.measured) if launched else 0,
                    "± 95 %": round(1.96 * f.profit.se) if launched else 0,
                    "measured ROI": _round(f.roi_measured) if launched else None,
                    "true profit": _true(f.profit.true, launched),
                    "true ROI": _round(f.roi_true) if launched else None,
                    "sure things": f.types.counts["sure_thing"] if launched and f.types else 0,
                    "sleeping dogs": (
                        f.types.counts["sleeping_dog"] if launched and f.types else 0
                    ),
                }
            )
        columns = [
            "rank (measured)",
            "team",
            "measured profit",
            "± 95 %",
            "rank (true)",
            "true profit",
            "measured ROI",
            "true ROI",
            "response rate %",
            "contacts",
            "sure things",
            "sleeping dogs",
            "strategy",
            "plan",
        ]
        table = pd.DataFrame(rows, columns=[c for c in columns if not c.startswith("rank")])
        table.insert(0, "rank (measured)", _rank(table["measured profit"]))
        table.insert(4, "rank (true)", _rank(table["true profit"]))
        table = table.sort_values(["rank (measured)", "team"]).reset_index(drop=True)
        if not show_truth:
            hidden = ["rank (true)", "true profit", "true ROI", "sure things", "sleeping dogs"]
            table = table.drop(columns=hidden)
        return table

    def export_csv(self, number: int) -> bytes:
        """The round's full leaderboard (truth included) as spreadsheet-safe CSV."""
        r = self.get(number)
        table = self.leaderboard(number, truth=True)
        table.insert(0, "round", r.number)
        table.insert(1, "exercise", r.exercise.title)
        table.insert(2, "seed", r.seed)
        return safe_csv(table)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _true(x: float | None, launched: bool) -> float | None:
    if not launched:
        return 0
    return None if x is None else round(x)


def _rank(values: pd.Series) -> pd.Series:
    return values.rank(ascending=False, method="min").astype("Int64")
