"""The paper's inputs: the study tables of a results folder and the calibration file.

Every table the paper reads is declared here with the columns it needs and the study of
``python -m experiments.reproduce`` that writes it, so a missing or outdated table is
reported before anything is built, all at once, each with the command that makes it.
The provenance of a number (config hashes, seeds, git commit) is read from the rows it
comes from (:func:`provenance`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

#: table -> (study of ``experiments.reproduce`` that writes it, columns the paper reads)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "estimand.csv": (
        "estimand",
        (
            "strategy",
            "preset",
            "n_seeds",
            "n_consumers",
            "measured_mean",
            "holdout_estimand_mean",
            "direct_mean",
            "total_mean",
            "measured_minus_estimand",
            "z_estimand",
            "bias_vs_total",
            "bias_vs_total_se",
            "z_total",
            "pulled_forward_share_mean",
            "config_hashes",
            "seeds",
            "git_rev",
        ),
    ),
    "step_size.csv": (
        "step_size",
        (
            "strategy",
            "preset",
            "n_seeds",
            "n_consumers",
            "step_coarse",
            "step_fine",
            "profit_true_coarse",
            "profit_true_fine",
            "difference",
            "seed_se",
            "paired_se",
            "within_seed_se",
            "git_rev",
        ),
    ),
    "tuning.csv": (
        "tuning",
        ("preset", "family", "objective", "trial", "best", "train_seeds", "n_consumers"),
    ),
    "tuned_rows.csv": (
        "tuned",
        (
            "preset",
            "contender",
            "seed",
            "n_consumers",
            "profit_true",
            "response_rate",
            "config_hash",
            "git_rev",
        ),
    ),
    "tuned_comparison.csv": (
        "tuned",
        (
            "preset",
            "family",
            "objective",
            "n_seeds",
            "n_consumers",
            "profit_true_mean",
            "profit_true_lo",
            "profit_true_hi",
            "profit_measured_mean",
            "response_rate_mean",
            "contacts_mean",
            "seeds",
            "config_hashes",
            "git_rev",
        ),
    ),
    "verdicts.csv": (
        "tuned",
        (
            "preset",
            "comparison",
            "a",
            "b",
            "n_seeds",
            "mean_diff",
            "se",
            "lo",
            "hi",
            "verdict",
            "resolved",
            "seeds_needed",
        ),
    ),
    "phase.csv": (
        "phase",
        (
            "preset",
            "tag.tribalism",
            "tag.tolerance",
            "n_seeds",
            "n_consumers",
            "winner",
            "leader",
            "one_to_one_minus_alternative",
            "diff_lo",
            "diff_hi",
            "one_to_one_verdict",
            "best_one_to_one",
            "best_alternative",
            "config_hashes",
            "git_rev",
        ),
    ),
    "attribution.csv": (
        "attribution",
        (
            "preset",
            "tag.trait",
            "tag.level",
            "n_seeds",
            "n_consumers",
            "winner",
            "one_to_one_minus_alternative",
            "diff_lo",
            "diff_hi",
            "one_to_one_verdict",
            "preset_winner",
            "winner_flips",
            "verdict_flips",
            "config_hashes",
            "git_rev",
        ),
    ),
    "morris.csv": ("sensitivity", ("parameter", "mu_star", "mu_star_conf", "sigma")),
    "sobol.csv": ("sensitivity", ("parameter", "S1", "S1_conf", "ST", "ST_conf")),
    "decision_map.csv": (
        "sensitivity",
        (
            "preset",
            "tag.x",
            "tag.y",
            "n_seeds",
            "n_consumers",
            "winner",
            "one_to_one_minus_alternative",
            "diff_lo",
            "diff_hi",
            "x_parameter",
            "y_parameter",
            "config_hashes",
            "git_rev",
        ),
    ),
    "granularity.csv": (
        "granularity",
        (
            "preset",
            "k",
            "n_seeds",
            "n_consumers",
            "profit_true_mean",
            "profit_true_lo",
            "profit_true_hi",
            "best_k",
            "interior_optimum",
            "best_vs_k1",
            "best_vs_kmax",
            "config_hashes",
            "git_rev",
        ),
    ),
    "claims.csv": ("claims", ("claim", "source", "verdict", "evidence", "interval", "conditions")),
}

#: Tables without provenance columns take it from the rows of the same study run.
PROVENANCE_FROM = {
    "verdicts.csv": "tuned_rows.csv",
    "morris.csv": "decision_map.csv",
    "sobol.csv": "decision_map.csv",
    "claims.csv": "tuned_rows.csv",
}

#: Keys of the calibration file the paper reads (written by ``experiments.calibrate``).
CALIBRATION_KEYS = ("preset", "targets", "params", "verify_table", "verify_seed", "verify_n")


class MissingInputs(FileNotFoundError):
    """The results folder or calibration file lacks what the paper reads; the message
    names every missing table, column or key and the command that writes it."""


@dataclass(frozen=True)
class Inputs:
    """Where the paper reads from: a results folder of study tables and a calibration
    file (``<results>/calibration.json`` where it exists, else the committed one)."""

    results: Path
    calibration: Path

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.results / name)

    def calibration_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.calibration.read_text())
        return data


def default_calibration(results: Path, repo: Path) -> Path:
    own = results / "calibration.json"
    return own if own.exists() else repo / "results" / "calibration.json"


def check(inputs: Inputs, tables: Iterable[str]) -> None:
    """Raise :class:`MissingInputs` naming every table, column and key that is missing."""
    problems: list[str] = []
    studies: set[str] = set()
    if not inputs.results.is_dir():
        problems.append(f"{inputs.results} is not a folder of study tables")
    else:
        for name in sorted(set(tables)):
            study, columns = TABLES[name]
            path = inputs.results / name
            if not path.exists():
                problems.append(f"{path} is missing (study {study!r})")
                studies.add(study)
                continue
            header = set(pd.read_csv(path, nrows=0).columns)
            lacking = [c for c in columns if c not in header]
            if lacking:
                problems.append(
                    f"{path} lacks column(s) {', '.join(lacking)}: written by an older "
                    f"study (study {study!r})"
                )
                studies.add(study)
    if not inputs.calibration.exists():
        problems.append(
            f"{inputs.calibration} is missing (written by python -m experiments.calibrate "
            "--out results)"
        )
    else:
        data = json.loads(inputs.calibration.read_text())
        lacking = [k for k in CALIBRATION_KEYS if k not in data]
        if lacking:
            problems.append(f"{inputs.calibration} lacks key(s) {', '.join(lacking)}")
    if problems:
        hint = ""
        if studies:
            hint = (
                "\nWrite them with: python -m experiments.reproduce profile=full "
                f"(or studies={','.join(sorted(studies))}); or build from the tiny tables: "
                "make paper RESULTS=results/tiny"
            )
        raise MissingInputs(
            "The paper cannot be built from these inputs:\n  - " + "\n  - ".join(problems) + hint
        )


def _split(values: Iterable[Any]) -> list[str]:
    out: set[str] = set()
    for v in values:
        if isinstance(v, float) and math.isnan(v):
            continue
        out.update(str(v).split())
    return sorted(out)


def provenance(rows: pd.DataFrame) -> dict[str, Any]:
    """Config hashes, seeds and git commit(s) of ``rows`` (from whichever of the columns
    ``config_hash``/``config_hashes``, ``seed``/``seeds`` and ``git_rev`` they carry)."""
    hashes = _split(
        [*rows.get("config_hash", pd.Series(dtype=str)), *rows.get("config_hashes", [])]
    )
    seeds = sorted(
        {int(s) for s in _split([*rows.get("seed", []), *rows.get("seeds", [])])},
    )
    commits = _split(rows.get("git_rev", []))
    return {
        "config_hash": hashes,
        "seeds": seeds,
        "git_commit": commits[0] if len(commits) == 1 else commits,
    }
