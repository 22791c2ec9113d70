"""The studies of the sweeps (``conf/experiment/``), one module each.

Each study module has a test of whether a collected table holds it (``has_*``), a
compute function (collected table -> tidy table of means and seed ranges, ``*_table``),
plot functions that draw on a given matplotlib ``Axes`` (``plot_*``) and a function that
draws the whole figure (``figure_*``).  :data:`STUDIES` lists them for
:mod:`experiments.figures`; the shared look is in :mod:`experiments.studies.style`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pandas as pd
from matplotlib.figure import Figure

from experiments.studies import estimators, granularity, phase, roi_curves


@dataclass(frozen=True)
class Study:
    """A study as the figure command runs it."""

    name: str
    present: Callable[[pd.DataFrame], bool]
    table: Callable[[pd.DataFrame, str], pd.DataFrame]
    figure: Callable[[pd.DataFrame, str], Figure]


STUDIES: Final[dict[str, Study]] = {
    s.name: s
    for s in (
        Study(
            "granularity",
            granularity.has_granularity,
            granularity.granularity_table,
            granularity.figure_granularity,
        ),
        Study("phase", phase.has_phase, phase.phase_table, phase.figure_phase),
        Study("roi_curves", roi_curves.has_roi_curves, roi_curves.roi_table, roi_curves.figure_roi),
        Study(
            "estimators",
            estimators.has_estimators,
            estimators.estimators_table,
            estimators.figure_estimators,
        ),
    )
}
