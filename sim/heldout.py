"""Held-out moments of the Hillstrom calibration: e-mail uplift by subgroup.

The calibration (:mod:`sim.calibration`) fits five parameters to Hillstrom's six arm
rates.  The moments here are never used by the fit; they test whether the fitted
model predicts *where* the e-mail works.  They were chosen, and the prediction procedure
below written down, before the fit was run and before the data's subgroup uplifts were
computed (a consequence of the model, not of a search).

Moments (20)
    The **uplift** ``rate(e-mail arm) - rate(no e-mail)`` of ``visit`` and of
    ``conversion``, for each e-mail (women's, men's), within each of five subgroups:

    * ``newbie`` = 1 / 0: first purchase within the last 365 days (Hillstrom's column);
    * ``history`` tercile 1 / 2 / 3: the last year's spend, cut at its 1/3 and 2/3
      quantiles over the whole file (all arms together: the split is randomised, so the
      cut does not depend on the arm).  A tercile holds the values ``<= q1``,
      ``(q1, q2]``, ``> q2``.

Data
    The shipped Hillstrom file (:func:`sim.datasets.load_hillstrom`), 64,000 customers.
    Standard error of an uplift: ``sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)`` (independent arms);
    95 % interval ``± 1.96·se``.

Simulated analogues (the calibration's simulated experiment, :func:`sim.calibration.simulate_trial`)
    The customer file of the simulated market (consumers with a recorded purchase in the
    365 days before day 0), its covariates as the file stands at day 0, a week before the
    send: ``newbie`` = first purchase within the last 365 days (``obs.first_purchase``);
    ``history`` = recorded spend over the last year (``obs.spend`` with the preset's
    ``history_days`` = 365), terciles within the simulated file of each market (the same
    rule as the data's).  Outcomes and arms as in the calibration.

Prediction and verdict
    The fitted preset (``conf/market/hillstrom_like.yaml`` and ``FITTED_ENGAGEMENT``) is
    run once at a seed the fit never used (:data:`HELDOUT_SEED`, with
    :data:`HELDOUT_N` consumers, a file of about 200,000, three times Hillstrom's); the
    simulated uplift has its own binomial standard error.  A moment **holds** when
    ``|sim - data| <= 1.96·sqrt(se_data² + se_sim²)`` (the combined interval: both are
    finite samples); whether the simulated uplift lies inside the data's own 95 % interval
    is reported beside it.  With 20 moments about one miss is expected by chance if the
    model were right; a miss is reported with its numbers as a finding, and no parameter
    is added or refitted to make a moment pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.calibration import ARMS, METRICS, Z95, Trial
from sim.datasets.hillstrom import HILLSTROM_TREATMENT_COL, load_hillstrom

__all__ = [
    "GROUPS",
    "HELDOUT_N",
    "HELDOUT_SEED",
    "compare_heldout",
    "heldout_targets",
    "simulated_heldout",
    "terciles",
    "uplift_table",
]

#: The unseen seed of the held-out check (neither a search seed nor the verification seed).
HELDOUT_SEED = 2024
#: Consumers simulated for it (a customer file of about 200,000).
HELDOUT_N = 2_000_000
#: Subgroups in reporting order: (name, covariate, value).
GROUPS: tuple[tuple[str, str, int], ...] = (
    ("newbie=1", "newbie", 1),
    ("newbie=0", "newbie", 0),
    ("history T1", "tercile", 1),
    ("history T2", "tercile", 2),
    ("history T3", "tercile", 3),
)


def terciles(values: np.ndarray) -> np.ndarray:
    """Tercile (1, 2, 3) of each value: ``<= q1``, ``(q1, q2]``, ``> q2`` with ``q1``,
    ``q2`` the 1/3 and 2/3 quantiles (numpy's linear rule) of ``values``."""
    v = np.asarray(values, float)
    if v.size == 0:
        raise ValueError("no values to cut into terciles")
    q1, q2 = np.quantile(v, [1.0 / 3.0, 2.0 / 3.0])
    return (1 + (v > q1).astype(np.int8) + (v > q2).astype(np.int8)).astype(np.int8)


def uplift_table(
    arm: np.ndarray,
    outcomes: dict[str, np.ndarray],
    covariates: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Uplift per (group, e-mail arm, metric) over consumers with ``arm`` codes 0
    (control), 1 (women's), 2 (men's).

    Columns: ``group``, ``arm``, ``metric``, ``n_treated``, ``n_control``, ``treated``,
    ``control`` (rates), ``uplift``, ``se`` and the Wald 95 % interval.
    """
    rows = []
    for group, covariate, value in GROUPS:
        in_group = covariates[covariate] == value
        for j, (name, _) in enumerate(ARMS):
            if j == 0:
                continue
            for metric in METRICS:
                y = outcomes[metric]
                t = in_group & (arm == j)
                c = in_group & (arm == 0)
                n1, n0 = int(t.sum()), int(c.sum())
                if n1 == 0 or n0 == 0:
                    raise ValueError(f"subgroup {group!r}, arm {name!r} has no consumers")
                p1, p0 = float(y[t].mean()), float(y[c].mean())
                se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
                u = p1 - p0
                rows.append(
                    {
                        "group": group,
                        "arm": name,
                        "metric": metric,
                        "n_treated": n1,
                        "n_control": n0,
                        "treated": p1,
                        "control": p0,
                        "uplift": u,
                        "se": se,
                        "ci_low": u - Z95 * se,
                        "ci_high": u + Z95 * se,
                    }
                )
    return pd.DataFrame(rows)


def heldout_targets(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The 20 moments in Hillstrom's data (see module doc)."""
    df = load_hillstrom() if frame is None else frame
    codes = {label: j for j, (_, label) in enumerate(ARMS)}
    arm = df[HILLSTROM_TREATMENT_COL].map(codes).to_numpy()
    if np.isnan(arm.astype(float)).any():
        raise ValueError(f"unknown arm in column {HILLSTROM_TREATMENT_COL!r}")
    return uplift_table(
        arm.astype(np.int8),
        {m: df[m].to_numpy(bool) for m in METRICS},
        {
            "newbie": df["newbie"].to_numpy(np.int8),
            "tercile": terciles(df["history"].to_numpy(float)),
        },
    )


def simulated_heldout(trials: Trial | Sequence[Trial]) -> pd.DataFrame:
    """The 20 moments in simulated trials (terciles within each trial's file, then pooled)."""
    group = [trials] if isinstance(trials, Trial) else list(trials)
    if not group:
        raise ValueError("no trial to count")
    return uplift_table(
        np.concatenate([t.arm for t in group]),
        {m: np.concatenate([getattr(t, m) for t in group]) for m in METRICS},
        {
            "newbie": np.concatenate([t.newbie.astype(np.int8) for t in group]),
            "tercile": np.concatenate([terciles(t.history) for t in group]),
        },
    )


def compare_heldout(sim: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """Simulated against data uplift per moment: ``z`` = (sim - data) / sqrt(se_d² +
    se_sim²); ``holds``: inside the combined 95 % interval; ``within_ci``: the simulated
    uplift inside the data's own 95 % interval."""
    keys = ["group", "arm", "metric"]
    d = data[[*keys, "uplift", "se", "ci_low", "ci_high", "control", "n_treated"]].rename(
        columns={
            "uplift": "data",
            "se": "data_se",
            "ci_low": "data_ci_low",
            "ci_high": "data_ci_high",
            "control": "data_control",
            "n_treated": "data_n_treated",
        }
    )
    s = sim[[*keys, "uplift", "se", "control", "n_treated"]].rename(
        columns={
            "uplift": "sim",
            "se": "sim_se",
            "control": "sim_control",
            "n_treated": "sim_n_treated",
        }
    )
    m = d.merge(s, on=keys, how="left", validate="one_to_one")
    se = np.sqrt(m["data_se"] ** 2 + m["sim_se"] ** 2)
    m["z"] = (m["sim"] - m["data"]) / se
    m["combined_halfwidth"] = Z95 * se
    m["holds"] = (m["sim"] - m["data"]).abs() <= m["combined_halfwidth"]
    m["within_ci"] = (m["sim"] >= m["data_ci_low"]) & (m["sim"] <= m["data_ci_high"])
    return m
