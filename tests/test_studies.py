"""The study machinery: paired verdicts, the power calculation, resumable cell jobs, tuning."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.studies.jobs import CellJob, Contender, JobRunner, frozen, run_cell_job
from experiments.studies.paired import NO_CLEAR_WINNER, paired, seeds_needed, winner
from experiments.studies.tuning import FAMILIES, tune


def test_paired_interval_is_the_t_interval_of_the_differences() -> None:
    a = np.array([10.0, 12.0, 9.0, 14.0, 11.0])
    b = a - np.array([2.0, 1.0, 1.5, 3.0, 2.0])
    pr = paired("a", "b", a, b)
    d = a - b
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    assert pr.mean == pytest.approx(d.mean())
    assert (pr.lo, pr.hi) == pytest.approx((d.mean() - half, d.mean() + half))
    assert pr.verdict == "a beats b"
    assert paired("b", "a", b, a).verdict == "a beats b"
    tie = paired("a", "b", a, a + np.array([1.0, -1.0, 0.5, -0.5, 0.0]))
    assert tie.verdict == NO_CLEAR_WINNER
    with pytest.raises(ValueError, match="same seeds"):
        paired("a", "b", a, b[:3])


def test_winner_is_clear_only_against_the_runner_up() -> None:
    best, pr = winner({"x": [5.0, 6.0, 5.5], "y": [1.0, 1.2, 0.9], "z": [5.1, 5.8, 5.6]})
    assert best == "x" or best == "z"
    assert pr is not None and pr.verdict == NO_CLEAR_WINNER


def test_seeds_needed_matches_the_normal_power_formula() -> None:
    # (1.96 + 0.8416)^2 * (sd/delta)^2 with sd/delta = 2: 31.4 -> 32 seeds.
    assert seeds_needed(2.0, 1.0) == 32
    assert seeds_needed(0.1, 1.0) == 3  # never fewer than three
    assert seeds_needed(1.0, 0.0) == 10**6


def test_cell_jobs_are_keyed_by_their_config_and_resume(tmp_path: Path) -> None:
    """A stored job is not run again; the table is the same whatever the worker count."""
    job = CellJob(
        "t",
        "default",
        3,
        (Contender("mass", "mass", frozen({"end_day": 20.0})), Contender("none", "none")),
        market=frozen({"n_consumers": 1500, "horizon_days": 25.0}),
    )
    other = CellJob(job.study, job.preset, 4, job.contenders, job.market)
    assert job.key != other.key and job.key == CellJob(**job.__dict__).key
    calls: list[str] = []

    def run(j: CellJob) -> pd.DataFrame:
        calls.append(j.key)
        return run_cell_job(j)

    one = JobRunner(tmp_path / "a", n_jobs=1, progress=lambda s: None).run([job, other], run, "t")
    again = JobRunner(tmp_path / "a", n_jobs=1, progress=lambda s: None).run([job, other], run, "t")
    assert calls == [job.key, other.key]  # the second run found both stored
    two = JobRunner(tmp_path / "b", n_jobs=2, progress=lambda s: None).run(
        [job, other], run_cell_job, "t"
    )
    cols = [c for c in one.columns if c not in {"job_seconds", "git_rev"}]
    pd.testing.assert_frame_equal(one[cols], again[cols])
    pd.testing.assert_frame_equal(one[cols], two[cols])
    none = one[one["contender"] == "none"].iloc[0]
    assert none["profit_true"] == 0.0 and none["contacts"] == 0


def test_tuning_is_seeded_and_finds_the_maximum_of_a_known_objective() -> None:
    """On a closed-form objective TPE with a seed is reproducible and gets close to the top."""
    fam = FAMILIES["one_to_one_learned"]

    def objective(ov: dict) -> float:
        return -((ov["max_share"] - 0.3) ** 2) - (ov["depth"] - 0.7) ** 2

    a = tune(fam, objective, n_trials=30, seed=5)
    b = tune(fam, objective, n_trials=30, seed=5)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert a.best_value > -0.02


def test_a_cell_shares_its_baseline_without_changing_any_figure() -> None:
    """Sharing the no-campaign world and the opening prices across strategies changes no
    number: each strategy's result equals its own stand-alone run, bit for bit."""
    from sim import presets
    from sim.experiment import Cell, RunConfig, run_experiment

    market = presets.market("default", n_consumers=2000, horizon_days=30)
    econ = presets.economics("default")
    cell = Cell(market, econ, seed=7)
    for option in ("mass", "triggered", "one_to_one"):
        strategy = presets.strategy(option, end_day=30.0)
        alone = run_experiment(RunConfig(seed=7, market=market, strategy=strategy, economics=econ))
        full = cell.run(strategy, truth="full").to_dict()
        total = cell.run(strategy, truth="total")
        ref = alone.to_dict()
        full.pop("run_seconds"), ref.pop("run_seconds")
        assert full == ref, option
        assert total.incremental_profit.true == alone.incremental_profit.true
        assert total.incremental_profit.measured == alone.incremental_profit.measured
        assert total.incremental_profit.direct is None
    assert cell.run(presets.strategy("mass"), truth="none").incremental_profit.true is None


def test_tuned_figure_draws_each_bar_beside_its_own_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A summary whose families come in alphabetical order (as a groupby writes them) is
    drawn in the fixed family order with each bar's length, interval and truth tick those of
    the family its label names (the bars were once drawn in the table's order)."""
    from experiments.studies import plots

    fams = ["triggered", "mass", "one_to_one_oracle", "contextual"]
    values = {"triggered": 1.0, "mass": 4.0, "one_to_one_oracle": 9.0, "contextual": -2.0}
    rows = [
        {
            "preset": "default",
            "family": f,
            "objective": obj,
            "profit_true_mean": values[f] + (0.5 if obj == "truth" else 0.0),
            "profit_true_lo": values[f] - 1,
            "profit_true_hi": values[f] + 1,
            "n_consumers": 1000,
            "n_seeds": 3,
        }
        for f in sorted(fams)
        for obj in ("measured", "truth")
    ]
    captured: list[object] = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: captured.append(fig))
    plots.tuned_figure(pd.DataFrame(rows), tmp_path / "t.png")
    ax = captured[0].axes[0]  # type: ignore[attr-defined]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    by_label = {plots.FAMILY_LABELS[f]: values[f] for f in fams}
    assert widths == [by_label[lab] for lab in labels]
    ticks = next(ln for ln in ax.lines if ln.get_label() == "tuned on the truth").get_xdata()
    assert list(ticks) == [by_label[lab] + 0.5 for lab in labels]
