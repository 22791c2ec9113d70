"""Global sensitivity of the verdict (Saltelli et al., 2008) with SALib.

The outcome is the debate's verdict in one number, Δ = true total incremental profit of the
best one-to-one a marketer can field (learned or propensity scorer) minus that of the best
alternative (mass, segments, tribes, triggers, context, hybrid), every family at the
setting tuned for the base preset.  Morris screening (elementary effects, ``mu_star`` and
``sigma`` with bootstrap intervals) ranks 17 market and economics parameters; Sobol indices
(first order ``S1`` and total ``ST``, with bootstrap intervals) are then estimated for the
most influential few, the others at the base preset's values.  Every sample point runs on
the same seed (common random numbers across points), so the indices describe how the
verdict moves with the parameters on that seed's market; the decision map repeats its grid
over several seeds to draw the band where the paired interval contains 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from experiments.studies.jobs import frozen
from experiments.studies.tuned import ONE_TO_ONE
from experiments.studies.variants import Variant
from sim import presets


@dataclass(frozen=True)
class Parameter:
    """A sensitivity parameter: a name in marketing terms, bounds, and where it goes.

    ``target`` is a dotted market key (``market:...``), an economics key (``economics:...``)
    or a scale of a whole economics table (``scale:data_cost_per_month``).  ``log``: sampled
    uniformly on the log scale.
    """

    name: str
    target: str
    lo: float
    hi: float
    log: bool = False

    def bounds(self) -> list[float]:
        return [math.log(self.lo), math.log(self.hi)] if self.log else [self.lo, self.hi]

    def value(self, x: float) -> float:
        return math.exp(x) if self.log else x


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("taste tribalism", "market:tribes.variance_share", 0.05, 0.95),
    Parameter("tolerance of personalisation", "market:creepiness.threshold_median", 0.3, 4.0, True),
    Parameter("spread of privacy attitudes across tribes", "market:creepiness.tribe_sd", 0.0, 1.0),
    Parameter("consent to implicit data", "market:consent.share.implicit", 0.3, 1.0),
    Parameter("consent to explicit data", "market:consent.share.explicit", 0.1, 0.9),
    Parameter("margin rate", "economics:margin_rate", 0.15, 0.6),
    Parameter("basket value", "market:purchase.basket_mean", 30.0, 300.0, True),
    Parameter("organic purchase rate", "market:purchase.base_rate", 0.0008, 0.004, True),
    Parameter("data cost (x preset)", "scale:data_cost_per_month", 0.25, 4.0, True),
    Parameter(
        "content cost per creative", "economics:content_cost_per_variant", 50.0, 1500.0, True
    ),
    Parameter("e-mail reach", "market:channels.email.reach", 0.4, 1.0),
    Parameter("word of mouth", "market:awareness.wom_gain", 0.0, 4.0),
    Parameter("gain of personalisation", "market:response.depth_gain", 0.5, 4.0),
    Parameter("discount sensitivity", "market:purchase.discount_sensitivity", 1.0, 6.0),
    Parameter("number of tribes", "market:tribes.n", 4.0, 24.0),
    # Not identified by Hillstrom's two-week window: how long a contact's awareness lasts
    # (half-life 14-280 days) and how much of the gap one e-mail closes (assumed 0.05; the
    # range runs from none to the whole gap, the former fit's value).
    Parameter("awareness decay per day", "market:awareness.decay", 0.0025, 0.05, True),
    Parameter("e-mail awareness gain", "market:channels.email.awareness_gain", 0.0, 1.0),
)


def problem(params: tuple[Parameter, ...]) -> dict[str, Any]:
    return {
        "num_vars": len(params),
        "names": [p.name for p in params],
        "bounds": [p.bounds() for p in params],
    }


def point_variant(preset: str, params: tuple[Parameter, ...], x: np.ndarray, label: str) -> Variant:
    """The preset with the parameters set to the sample point ``x`` (in sampling space)."""
    econ_name = preset if preset in presets.options("economics") else "default"
    base_econ = presets.economics(econ_name)
    market: dict[str, Any] = {}
    econ: dict[str, Any] = {}
    for p, xi in zip(params, x, strict=True):
        v = p.value(float(xi))
        kind, _, key = p.target.partition(":")
        if key == "tribes.n":
            v = round(v)
        if kind == "market":
            market[key] = v
        elif kind == "economics":
            econ[key] = v
        else:
            econ[key] = {k: c * v for k, c in getattr(base_econ, key).items()}
    return Variant(
        preset, label, market=frozen(market), economics=frozen(econ), tags=(("point", label),)
    )


def morris_points(params: tuple[Parameter, ...], trajectories: int, seed: int) -> np.ndarray:
    return morris_sample.sample(problem(params), N=trajectories, num_levels=4, seed=seed)


def sobol_points(params: tuple[Parameter, ...], n: int, seed: int) -> np.ndarray:
    return sobol_sample.sample(problem(params), N=n, calc_second_order=False, seed=seed)


def delta(rows: pd.DataFrame) -> pd.Series:
    """Δ per sample point: best fielded one-to-one minus best alternative (true profit)."""
    wide = rows.pivot_table(index="tag.point", columns="contender", values="profit_true")
    one = wide[[c for c in wide.columns if c in ONE_TO_ONE]].max(axis=1)
    alt = wide[[c for c in wide.columns if c not in ONE_TO_ONE]].max(axis=1)
    return one - alt


def morris_table(
    params: tuple[Parameter, ...], X: np.ndarray, y: np.ndarray, seed: int
) -> pd.DataFrame:
    res = morris_analyze.analyze(
        problem(params), X, y, num_levels=4, seed=seed, print_to_console=False
    )
    return pd.DataFrame(
        {
            "parameter": res["names"],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "sigma": res["sigma"],
        }
    ).sort_values("mu_star", ascending=False, ignore_index=True)


def sobol_table(params: tuple[Parameter, ...], y: np.ndarray, seed: int) -> pd.DataFrame:
    # SALib's Sobol analysis seeds its bootstrap only for a truthy seed (0 means unseeded).
    res = sobol_analyze.analyze(problem(params), y, calc_second_order=False, seed=seed + 1)
    return pd.DataFrame(
        {
            "parameter": [p.name for p in params],
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    ).sort_values("ST", ascending=False, ignore_index=True)
