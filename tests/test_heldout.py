"""Held-out moments of the Hillstrom calibration (sim/heldout.py).

The data's moments are checked against a direct computation from the shipped file; the
simulated analogues against their definitions (customer file, newbie, history terciles)
on a small market (60,000 consumers, seed 3).  The verdict at the unseen seed (2,000,000
consumers) is reproduced from scratch and compared with the committed results (slow).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments._common import market_config
from sim import calibration as cal
from sim import heldout as ho
from sim.datasets import load_hillstrom
from sim.market import Market

RESULTS = Path(__file__).parents[1] / "results" / "calibration.json"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return ho.heldout_targets()


@pytest.fixture(scope="module")
def small_trial() -> cal.Trial:
    preset = market_config(cal.PRESET)
    return cal.simulate_trial(preset, cal.params_from_preset(preset), 3, 60_000)


def test_terciles_cut_at_the_thirds() -> None:
    t = ho.terciles(np.arange(1, 10, dtype=float))
    assert t.tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    rng = np.random.default_rng(0)
    counts = np.bincount(ho.terciles(rng.lognormal(size=30_000)), minlength=4)[1:]
    assert counts.tolist() == [10_000, 10_000, 10_000]
    with pytest.raises(ValueError, match="no values"):
        ho.terciles(np.array([]))


def test_data_moments_equal_the_files_differences(data: pd.DataFrame) -> None:
    """Every moment is the difference of the two arms' means within the subgroup, its se
    the independent-arms binomial formula (tolerance 1e-12)."""
    df = load_hillstrom()
    q1, q2 = df["history"].quantile([1 / 3, 2 / 3])
    tercile = np.where(df["history"] <= q1, 1, np.where(df["history"] <= q2, 2, 3))
    masks = {
        "newbie=1": df["newbie"] == 1,
        "newbie=0": df["newbie"] == 0,
        "history T1": tercile == 1,
        "history T2": tercile == 2,
        "history T3": tercile == 3,
    }
    labels = dict(cal.ARMS)
    assert len(data) == 20
    for r in data.itertuples(index=False):
        sub = df[masks[r.group]]
        treated = sub[sub["segment"] == labels[r.arm]][r.metric]
        control = sub[sub["segment"] == labels["control"]][r.metric]
        assert r.n_treated == len(treated) and r.n_control == len(control)
        assert r.uplift == pytest.approx(treated.mean() - control.mean(), abs=1e-12)
        se = math.sqrt(
            treated.mean() * (1 - treated.mean()) / len(treated)
            + control.mean() * (1 - control.mean()) / len(control)
        )
        assert r.se == pytest.approx(se, rel=1e-12)
    # Each family of subgroups partitions the arm.
    for prefix in ("newbie", "history"):
        family = data[data["group"].str.startswith(prefix)]
        for (arm, _), rows in family.groupby(["arm", "metric"]):
            assert rows["n_treated"].sum() == (df["segment"] == labels[arm]).sum()


def test_simulated_file_and_covariates_follow_their_definitions(small_trial: cal.Trial) -> None:
    """The trial's file is the consumers with a recorded purchase in the year before day 0,
    its newbies those whose first purchase lies in that year, its history their recorded
    spend (a fresh market at the same seed, before the run)."""
    preset = market_config(cal.PRESET)
    cfg = cal.calibrated_market(preset, cal.params_from_preset(preset), 60_000)
    market = Market(cfg, 3)
    members = np.flatnonzero(market.obs.last_purchase >= -365.0)
    assert small_trial.n == members.size and small_trial.n_market == 60_000
    assert 0.05 < members.size / 60_000 < 0.15  # about a tenth of the market
    np.testing.assert_array_equal(small_trial.newbie, market.obs.first_purchase[members] >= -365.0)
    np.testing.assert_allclose(small_trial.history, market.obs.spend[members])
    assert (small_trial.history > 0).all()  # every file member bought
    assert abs(small_trial.newbie.mean() - 0.5) < 0.03  # Hillstrom: 50.2 % newbies
    assert np.bincount(small_trial.arm).tolist() == [
        members.size // 3 + (members.size % 3 > j) for j in range(3)
    ]


def test_customer_file_needs_one_year_of_history() -> None:
    preset = market_config(cal.PRESET)
    import dataclasses

    cfg = dataclasses.replace(preset, n_consumers=1_000, history_days=730.0)
    with pytest.raises(ValueError, match="history_days = 365"):
        cal.customer_file(Market(cfg, 0))


def test_simulated_moments_and_comparison(small_trial: cal.Trial, data: pd.DataFrame) -> None:
    sim = ho.simulated_heldout(small_trial)
    assert list(sim[["group", "arm", "metric"]].itertuples(index=False)) == list(
        data[["group", "arm", "metric"]].itertuples(index=False)
    )
    t3 = sim[sim["group"] == "history T3"]["n_treated"].sum()
    t1 = sim[sim["group"] == "history T1"]["n_treated"].sum()
    assert abs(t3 - t1) <= 0.1 * t1  # terciles of equal size
    table = ho.compare_heldout(sim, data)
    row = table.iloc[0]
    half = 1.959964 * math.sqrt(row["data_se"] ** 2 + row["sim_se"] ** 2)
    assert row["combined_halfwidth"] == pytest.approx(half, rel=1e-6)
    assert bool(row["holds"]) == (abs(row["sim"] - row["data"]) <= half)
    # A simulated uplift equal to the data's holds; one 3 combined se away does not.
    exact = sim.assign(uplift=data["uplift"].to_numpy())
    assert ho.compare_heldout(exact, data)["holds"].all()
    far = sim.assign(uplift=data["uplift"] + 3 * np.sqrt(data["se"] ** 2 + sim["se"] ** 2))
    assert not ho.compare_heldout(far, data)["holds"].any()


@pytest.mark.slow
def test_heldout_verdict_is_reproduced_and_matches_the_committed_results() -> None:
    """The pre-registered check (seed 2024, 2,000,000 consumers, about 10 s): the stored
    calibration gives the held-out moments written in results/calibration.json, to 1e-12."""
    preset = market_config(cal.PRESET)
    trial = cal.simulate_trial(
        preset, cal.params_from_preset(preset), ho.HELDOUT_SEED, ho.HELDOUT_N
    )
    table = ho.compare_heldout(ho.simulated_heldout(trial), ho.heldout_targets())
    stored = json.loads(RESULTS.read_text())["heldout"]
    assert stored["seed"] == ho.HELDOUT_SEED and stored["n"] == ho.HELDOUT_N
    got = pd.DataFrame(stored["moments"])
    np.testing.assert_allclose(got["sim"], table["sim"], rtol=0, atol=1e-12)
    assert got["holds"].tolist() == table["holds"].tolist()
