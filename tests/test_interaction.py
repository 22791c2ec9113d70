"""The fact-5 ablation study (experiments.studies.interaction) on a tiny market."""

from __future__ import annotations

import numpy as np

from experiments.studies.interaction import ABLATIONS, main, study, summary


def test_interaction_is_hybrid_minus_its_parts_for_every_ablation() -> None:
    """500 consumers, seed 1: one row per ablation, the interaction is exactly hybrid - mass
    alone - follow-up alone, the mass-alone run does not depend on the follow-up, and the
    switches change the runs (the no-fatigue hybrid differs from the preset's)."""
    rows = study([1], 500, 1)
    assert list(rows["ablation"]) == list(ABLATIONS)
    expected = rows["hybrid"] - rows["mass alone"] - rows["follow-up alone"]
    np.testing.assert_array_equal(rows["interaction"], expected)
    hybrid = rows.set_index("ablation")["hybrid"]
    assert hybrid["no fatigue"] != hybrid["none (preset)"]
    table = summary(rows)
    assert (table["seeds"] == 1).all() and table["se"].isna().all()


def test_unknown_argument_is_refused(capsys) -> None:
    assert main(["seed=1"]) == 2
    assert "valid keys: seeds, n_consumers, jobs" in capsys.readouterr().err
