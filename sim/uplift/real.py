"""Uplift estimators on a real randomised experiment (Hillstrom or any validated CSV).

:func:`evaluate_experiment` splits the rows (seeded, stratified by arm and, for a binary
outcome, by outcome), fits every estimator on the training part with the known
propensities (the training arm shares), and scores each arm against control on the test
part by Qini and AUUC with bootstrap intervals. The average effect of each arm is the
difference in means over the whole experiment, the number a reader can check by hand.
Everything is derived from one ``seed``; bootstrap draws depend only on (seed, arm), so
all estimators are scored on the same resamples and adding one does not change the others.

Before any fit, :func:`check_sizes` refuses arms too small to fit or score (naming the
arm and its counts).  Figures that are undefined (a normalised Qini whose total effect
cannot be told from zero, see :func:`sim.uplift.evaluation.score_ranking`) are ``None``
with their reason under ``undefined``; small samples and constant predictions are
flagged under ``warnings``.
"""

from __future__ import annotations

import re
import sys
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from sim.datasets.csv import DataError, ExperimentData, experiment_from_frame, load_experiment
from sim.datasets.hillstrom import HILLSTROM_OUTCOMES, load_hillstrom
from sim.uplift.config import DatasetConfig, EstimatorConfig
from sim.uplift.estimators import check_compatible, derive_seed, make_estimator
from sim.uplift.evaluation import (
    difference_in_means,
    plot_qini,
    qini_curve,
    score_ranking,
    uplift_at_top_k,
)

__all__ = [
    "MIN_TEST_ROWS",
    "MIN_TRAIN_ROWS",
    "check_sizes",
    "evaluate_experiment",
    "load_dataset",
    "qini_figure",
    "results_table",
]

_CURVE_POINTS = 201
#: Fewest rows of each arm (control included) in the training part: every outcome model
#: is fitted on one arm's rows, and a learner needs at least two rows, and for a binary
#: outcome both outcomes, to fit at all.
MIN_TRAIN_ROWS = 2
#: Fewest rows of each arm in the test part: a difference in means (and the Qini's total)
#: needs two treated and two control rows for a standard error.
MIN_TEST_ROWS = 2


def load_dataset(cfg: DatasetConfig) -> ExperimentData:
    """Load and validate the experiment described by ``cfg``.

    For ``hillstrom`` the outcome columns other than ``cfg.outcome_col`` are always
    dropped, so no outcome can leak into the features.
    """
    if cfg.name == "hillstrom":
        drop = list(dict.fromkeys([*cfg.drop_cols, *HILLSTROM_OUTCOMES]))
        drop = [c for c in drop if c != cfg.outcome_col]
        return experiment_from_frame(
            load_hillstrom(),
            treatment_col=cfg.treatment_col,
            control_label=cfg.control_label,
            outcome_col=cfg.outcome_col,
            feature_cols=cfg.feature_cols,
            drop_cols=drop,
            binary_outcome=cfg.binary_outcome,
            source="Hillstrom",
        )
    if cfg.path is None:  # DatasetConfig already refuses this; kept for type narrowing
        raise DataError("dataset csv needs a path")
    return load_experiment(
        cfg.path,
        treatment_col=cfg.treatment_col,
        control_label=cfg.control_label,
        outcome_col=cfg.outcome_col,
        feature_cols=cfg.feature_cols,
        drop_cols=cfg.drop_cols,
        binary_outcome=cfg.binary_outcome,
        sep=cfg.sep,
    )


def _boot_rng(seed: int, arm: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 2, zlib.crc32(arm.encode())]))


def _split(data: ExperimentData, seed: int, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test row indices, stratified by arm (and outcome when binary)."""
    from sklearn.model_selection import train_test_split

    binary = bool(np.isin(data.y, (0.0, 1.0)).all())
    strata = data.treatment.astype(object)
    if binary:
        strata = strata + np.where(data.y > 0, "|1", "|0")
    _, counts = np.unique(strata.astype(str), return_counts=True)
    if counts.min() < 2:
        strata = data.treatment
    idx = np.arange(data.n_rows)
    train, test = train_test_split(
        idx, test_size=test_size, random_state=derive_seed(seed, 0), stratify=strata
    )
    return np.sort(train), np.sort(test)


def check_sizes(data: ExperimentData, seed: int, test_size: float) -> None:
    """Refuse, before any fit, an experiment whose arms are too small to fit or score.

    Each arm (control included) needs two rows in the whole file to be split, then
    :data:`MIN_TRAIN_ROWS` rows (with both outcomes, for a binary outcome) in the
    training part and :data:`MIN_TEST_ROWS` in the test part of the seeded split.
    Raises :class:`DataError` naming each arm at fault and its counts.
    """
    labels, counts = np.unique(data.treatment, return_counts=True)
    tiny = [f"{lab!r}: {c} row(s)" for lab, c in zip(labels, counts, strict=True) if c < 2]
    if tiny:
        raise DataError(
            f"arm(s) too small to split into training and test rows: {'; '.join(tiny)} "
            f"of {data.n_rows} (each arm needs at least {MIN_TRAIN_ROWS + MIN_TEST_ROWS})"
        )
    train, test = _split(data, seed, test_size)
    binary = bool(np.isin(data.y, (0.0, 1.0)).all())
    problems = []
    for lab in [data.control, *data.arms]:
        tr = data.treatment[train] == lab
        te = int(np.sum(data.treatment[test] == lab))
        n_tr, pos = int(tr.sum()), int(data.y[train][tr].sum()) if binary else 0
        if n_tr < MIN_TRAIN_ROWS:
            problems.append(f"{lab!r} has {n_tr} training row(s) (needs {MIN_TRAIN_ROWS})")
        elif binary and (pos == 0 or pos == n_tr):
            problems.append(
                f"{lab!r} has {n_tr} training row(s), all with outcome {int(pos > 0)} "
                "(a model needs both outcomes)"
            )
        if te < MIN_TEST_ROWS:
            problems.append(f"{lab!r} has {te} test row(s) (needs {MIN_TEST_ROWS})")
    if problems:
        raise DataError(
            f"arms too small to fit and score with test_size={test_size:g} "
            f"({data.n_rows} rows): " + "; ".join(problems)
        )


def evaluate_experiment(
    data: ExperimentData,
    estimators: Sequence[EstimatorConfig],
    seed: int,
    test_size: float,
    n_boot: int = 200,
    figure_dir: str | Path | None = None,
    score_hook: Callable[[str, str, np.ndarray, np.ndarray], dict[str, Any]] | None = None,
    progress: bool | TextIO = False,
    source: str = "",
) -> dict[str, Any]:
    """Fit and score ``estimators`` on ``data``; return a JSON-serialisable summary.

    Keys: ``seed``, ``test_size``, ``n_boot``, ``outcome``, ``control``, ``n_rows``,
    ``n_train``, ``n_test``, ``propensity`` (training arm shares), ``control_rate``,
    ``arms`` (per arm: ``n``, ``rate``, ``ate``, ``ate_se``, ``ate_ci`` from the whole
    data) and ``estimators`` (per name: ``learner``, ``base``, ``fit_seconds``,
    ``predict_seconds`` and per arm ``qini``, ``qini_ci``, ``auuc``, ``auuc_random``,
    ``auuc_ci``, ``qini_raw``, ``qini_raw_ci``, ``total``, ``total_ci``, ``flags``,
    ``n_test`` on the test part: :func:`sim.uplift.evaluation.score_ranking`),
    ``warnings`` (the data set's and the scores', one sentence each) and ``undefined``
    (dotted key -> reason for each figure left ``None``). ``n_boot=0`` skips the
    intervals (None). With ``figure_dir`` a Qini PNG per arm is written there and listed
    under ``figures``. ``score_hook(estimator, arm, rows, score)`` adds entries per
    estimator and arm from the scored test rows (indices into ``data``), e.g. metrics
    against a known true uplift. ``progress`` shows a progress bar (tqdm) on stderr when
    it is a terminal (``True``) or on the given stream;
    ``source`` names the data in the figures' titles (e.g. ``Hillstrom``).
    """
    names = [e.name for e in estimators]
    if not names:
        raise ValueError("evaluate_experiment needs at least one estimator")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"estimator names must be unique; repeated: {dup}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size} must be in (0, 1)")
    if n_boot != 0 and n_boot < 2:
        raise ValueError(f"n_boot={n_boot} must be 0 (no intervals) or >= 2")
    binary = bool(np.isin(data.y, (0.0, 1.0)).all())
    for cfg in estimators:
        check_compatible(cfg, binary)
    check_sizes(data, seed, test_size)

    train, test = _split(data, seed, test_size)
    t_train = data.treatment[train]
    propensity = {lab: float(np.mean(t_train == lab)) for lab in [data.control, *data.arms]}

    control = data.treatment == data.control
    arms: dict[str, Any] = {}
    for arm in data.arms:
        rows = control | (data.treatment == arm)
        ate, se, lo, hi = difference_in_means(data.y[rows], data.treatment[rows] == arm)
        arms[arm] = {
            "n": int(np.sum(data.treatment == arm)),
            "rate": float(data.y[data.treatment == arm].mean()),
            "ate": ate,
            "ate_se": se,
            "ate_ci": [lo, hi],
        }

    X_test, t_test, y_test = data.X[test], data.treatment[test], data.y[test]
    curves: dict[str, dict[str, pd.DataFrame]] = {arm: {} for arm in data.arms}
    results: dict[str, Any] = {}
    warnings: list[str] = list(data.warnings)
    undefined: dict[str, str] = {}
    bar = _progress_bar(len(estimators) * (1 + len(data.arms) * n_boot), progress)
    for cfg in estimators:
        bar.set_description(f"{cfg.name}: fit")
        est = make_estimator(cfg, seed).fit(
            data.X[train], t_train, data.y[train], propensity=propensity, control=data.control
        )
        bar.update(1)
        start = time.perf_counter()
        pred = est.predict(X_test)
        predict_seconds = time.perf_counter() - start
        per_arm: dict[str, Any] = {}
        for j, arm in enumerate(est.arms_):
            bar.set_description(f"{cfg.name}, {arm}: bootstrap")
            rows = (t_test == data.control) | (t_test == arm)
            y_a, w_a, s_a = y_test[rows], (t_test[rows] == arm).astype(float), pred[rows, j]
            scored = score_ranking(
                y_a,
                w_a,
                s_a,
                n_boot=n_boot,
                rng=_boot_rng(seed, arm) if n_boot else None,
                on_resample=lambda: bar.update(1),
            )
            where = f"estimators.{cfg.name}.arms.{arm}"
            for key, why in scored.pop("undefined").items():
                undefined[f"{where}.{key}"] = why
            warnings += [f"{cfg.name}, {arm}: {w}" for w in scored.pop("warnings")]
            entry: dict[str, Any] = {
                "n_test": int(rows.sum()),
                **scored,
                # Treated minus control mean outcome among the top 30 % by score (the
                # uplift@k of scikit-uplift, strategy "overall").
                "uplift_top30": uplift_at_top_k(s_a, 0.3, y=y_a, treated=w_a),
                # Random targeting's AUUC: half the (normalised) total, signed.
                "auuc_random": 0.5 if y_a[w_a == 1].mean() >= y_a[w_a == 0].mean() else -0.5,
            }
            if score_hook is not None:
                entry.update(score_hook(cfg.name, arm, test[rows], s_a))
            per_arm[arm] = entry
            curves[arm][cfg.name] = qini_curve(y_a, w_a, s_a, n_points=_CURVE_POINTS)
        results[cfg.name] = {
            "learner": cfg.learner,
            "base": cfg.base,
            "fit_seconds": float(est.fit_seconds_),
            "predict_seconds": float(predict_seconds),
            "arms": per_arm,
        }

    out: dict[str, Any] = {
        "seed": int(seed),
        "test_size": float(test_size),
        "n_boot": int(n_boot),
        "outcome": data.outcome,
        "control": data.control,
        "n_rows": data.n_rows,
        "n_train": len(train),
        "n_test": len(test),
        "propensity": propensity,
        "control_rate": float(data.y[control].mean()),
        "arms": arms,
        "estimators": results,
        "warnings": list(dict.fromkeys(warnings)),
        "undefined": undefined,
    }
    bar.close()
    if figure_dir is not None:
        sizes = {arm: m["n_test"] for arm, m in next(iter(results.values()))["arms"].items()}
        paths = qini_figure(
            curves,
            figure_dir,
            control=data.control,
            outcome=data.outcome,
            source=source,
            n_test=sizes,
        )
        out["figures"] = {arm: str(p) for arm, p in paths.items()}
    return out


def _progress_bar(total: int, show: bool | TextIO) -> Any:
    """A tqdm bar over ``total`` steps (fits and bootstrap resamples): on stderr if
    ``show`` is true and stderr a terminal (not a log or a pipe), on ``show`` if it is a
    stream; silent otherwise."""
    from tqdm import tqdm

    if show is True or show is False:
        disable: bool | None = None if show else True
        return tqdm(total=total, disable=disable, file=sys.stderr, unit="step", leave=False)
    return tqdm(total=total, file=show, unit="step", leave=True, mininterval=0)


def results_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (estimator, arm) from :func:`evaluate_experiment`'s summary."""
    rows = []
    for name, est in result["estimators"].items():
        for arm, m in est["arms"].items():
            qci = m.get("qini_ci") or [np.nan, np.nan]
            aci = m.get("auuc_ci") or [np.nan, np.nan]
            rows.append(
                {
                    "estimator": name,
                    "learner": est["learner"],
                    "base": est["base"],
                    "arm": arm,
                    "ate": result["arms"][arm]["ate"],
                    "qini": np.nan if m.get("qini") is None else m["qini"],
                    "qini_lo": qci[0],
                    "qini_hi": qci[1],
                    "auuc": np.nan if m.get("auuc") is None else m["auuc"],
                    "auuc_lo": aci[0],
                    "auuc_hi": aci[1],
                    "fit_seconds": est["fit_seconds"],
                }
            )
    return pd.DataFrame(rows)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "arm"


def qini_figure(
    curves: Mapping[str, Mapping[str, pd.DataFrame]],
    out_dir: str | Path,
    control: str = "control",
    outcome: str = "outcome",
    prefix: str = "qini",
    source: str = "",
    n_test: Mapping[str, int] | None = None,
) -> dict[str, Path]:
    """Save one Qini PNG per arm (``arm -> {estimator -> qini_curve table}``) into ``out_dir``;
    titles name the data (``source``) and the rows scored (``n_test`` per arm)."""
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for arm, by_model in curves.items():
        fig = Figure(figsize=(7.5, 4.0), layout="constrained")
        ax = fig.subplots()
        rows = f": {n_test[arm]:,} rows" if n_test and arm in n_test else ""
        where = f"{source}, " if source else ""
        plot_qini(
            by_model,
            ax,
            ylabel=f"Incremental {outcome} among the treated (Qini)",
            title=f"{arm} vs {control}\n({where}test part{rows})",
        )
        path = out / f"{prefix}_{_slug(arm)}.png"
        fig.savefig(path, dpi=120)
        paths[arm] = path
    return paths
