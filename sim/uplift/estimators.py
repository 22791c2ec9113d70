"""One small interface over the CausalML uplift estimators.

``make_estimator(cfg, seed)`` returns an :class:`UpliftEstimator` with
``fit(X, treatment, y, propensity=None, control="control")`` and ``predict(X)`` ->
(n, n_arms) array whose column j is the uplift of ``arms_[j]`` over control. The
estimator is chosen by ``cfg.learner`` (``s``, ``t``, ``x``, ``r``, ``dr`` meta-learners on
a ``cfg.base`` of ``lightgbm``, ``hgb`` or ``xgboost``; ``uplift_tree``,
``uplift_forest``, ``causal_forest``). Classifier variants are used when ``y`` is 0/1.

Choices made once here, so that callers need not know CausalML's pitfalls:

- The data are randomised, so the propensities are known: they are passed to CausalML
  (never estimated; ``p=None`` would fit an elastic net per arm, ~17x slower). The
  propensity used for arm a is the pairwise share P(a | a or control), the quantity
  CausalML's per-arm models need.
- Every model is seeded from ``seed`` and uses ``cfg.n_jobs`` threads, also for
  scikit-learn's OpenMP (HistGradientBoosting) via ``threadpoolctl``.
- CausalML's R classifier hard-codes ``n_jobs=-1`` in its cross-fitting; its fit runs
  inside ``joblib.parallel_config(backend="sequential")`` so the folds run one after
  another in this process (each fold's model still uses ``cfg.n_jobs`` threads).
- The DR classifier gets an explicit regressor as ``treatment_effect_learner``
  (otherwise it regresses on hard 0/1 predictions).
- CausalML's INFO logging, its warnings and forestci's duecredit message are silenced,
  and the matplotlib style CausalML sets on import ("fivethirtyeight") is undone.

CausalML is imported lazily (about 4 s), on the first fit.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Self

import numpy as np

from sim.uplift.config import BINARY_ONLY_LEARNERS, META_LEARNERS, EstimatorConfig

__all__ = [
    "UpliftEstimator",
    "check_compatible",
    "derive_seed",
    "import_causalml",
    "make_estimator",
]

_LOGGERS = ("causalml", "duecredit", "forestci", "lightgbm")


def derive_seed(seed: int, *keys: int) -> int:
    """A 31-bit integer seed for libraries that take ``random_state=int``.

    Derived through ``np.random.SeedSequence`` so nearby seeds give unrelated streams.
    """
    state = np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint32)
    return int(state[0]) & 0x7FFFFFFF


def check_compatible(cfg: EstimatorConfig, binary_outcome: bool) -> None:
    """Raise ``ValueError`` if ``cfg`` cannot handle the outcome type (checked before fitting)."""
    if not binary_outcome and cfg.learner in BINARY_ONLY_LEARNERS:
        raise ValueError(
            f"estimator {cfg.name!r}: learner {cfg.learner!r} needs a binary 0/1 outcome; "
            "use a meta-learner (s, t, x, r, dr) or causal_forest for a continuous outcome"
        )


@contextlib.contextmanager
def _quiet(n_jobs: int) -> Iterator[None]:
    """Silence CausalML's logging and warnings and cap native thread pools at ``n_jobs``."""
    from threadpoolctl import threadpool_limits

    previous = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings(), threadpool_limits(None if n_jobs < 0 else n_jobs):
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def import_causalml() -> None:
    """Import CausalML, undoing its global side effect: it sets matplotlib's style."""
    import matplotlib

    with _quiet(-1), matplotlib.rc_context():  # restores rcParams on exit
        import causalml.inference.meta
        import causalml.inference.tree  # noqa: F401


def _base_learner(
    cfg: EstimatorConfig, classifier: bool, random_state: int, effect: bool = False
) -> Any:
    """The gradient-boosting base learner named by ``cfg.base``, with ``cfg`` mapped onto it.

    ``effect`` marks the second-stage effect learner, which also gets ``cfg.effect_params``.
    """
    kw: dict[str, Any]
    if cfg.base == "lightgbm":
        import lightgbm

        kw = {
            "n_estimators": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "num_leaves": min(31, 2**cfg.max_depth),
            "learning_rate": cfg.learning_rate,
            "min_child_samples": cfg.min_samples_leaf,
            "n_jobs": cfg.n_jobs,
            "random_state": random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        cls = lightgbm.LGBMClassifier if classifier else lightgbm.LGBMRegressor
    elif cfg.base == "hgb":
        from sklearn import ensemble

        kw = {
            "max_iter": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "learning_rate": cfg.learning_rate,
            "min_samples_leaf": cfg.min_samples_leaf,
            # Off unless asked for in ``params``; its validation split is then drawn from
            # ``random_state`` (seeded), so early-stopped fits stay reproducible.
            "early_stopping": False,
            "random_state": random_state,
        }
        cls = (
            ensemble.HistGradientBoostingClassifier
            if classifier
            else ensemble.HistGradientBoostingRegressor
        )
    else:  # xgboost; min_samples_leaf has no exact counterpart and is not mapped
        import xgboost

        kw = {
            "n_estimators": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "learning_rate": cfg.learning_rate,
            "n_jobs": cfg.n_jobs,
            "random_state": random_state,
            "tree_method": "hist",
            "verbosity": 0,
        }
        cls = xgboost.XGBClassifier if classifier else xgboost.XGBRegressor
    kw.update(cfg.params)
    if effect:
        kw.update(cfg.effect_params)
    return cls(**kw)


def _meta_learner(cfg: EstimatorConfig, binary: bool, control: str, random_state: int) -> Any:
    from causalml.inference import meta

    outcome = _base_learner(cfg, binary, random_state)
    effect = _base_learner(cfg, False, random_state, effect=True)
    c = {"control_name": control}
    if cfg.learner == "s":
        return (meta.BaseSClassifier if binary else meta.BaseSRegressor)(learner=outcome, **c)
    if cfg.learner == "t":
        return (meta.BaseTClassifier if binary else meta.BaseTRegressor)(learner=outcome, **c)
    if cfg.learner == "x":
        if binary:
            return meta.BaseXClassifier(outcome_learner=outcome, effect_learner=effect, **c)
        return meta.BaseXRegressor(learner=outcome, **c)
    if cfg.learner == "r":
        if binary:
            return meta.BaseRClassifier(
                outcome_learner=outcome, effect_learner=effect, random_state=random_state, **c
            )
        return meta.BaseRRegressor(learner=outcome, random_state=random_state, **c)
    # dr
    if binary:
        return meta.BaseDRClassifier(learner=outcome, treatment_effect_learner=effect, **c)
    return meta.BaseDRRegressor(learner=outcome, **c)


def _tree_learner(cfg: EstimatorConfig, random_state: int) -> Any:
    """CausalML's uplift tree, uplift forest or causal forest, configured from ``cfg``."""
    from causalml.inference import tree

    kw: dict[str, Any]
    if cfg.learner == "uplift_tree":
        kw = {"max_depth": cfg.max_depth, "min_samples_leaf": cfg.min_samples_leaf}
        cls: Any = tree.UpliftTreeClassifier
    elif cfg.learner == "uplift_forest":
        kw = {
            "n_estimators": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "min_samples_leaf": cfg.min_samples_leaf,
            "n_jobs": cfg.n_jobs,
        }
        cls = tree.UpliftRandomForestClassifier
    else:  # causal_forest
        kw = {
            "n_estimators": cfg.n_estimators,
            "max_depth": cfg.max_depth,
            "min_samples_leaf": cfg.min_samples_leaf,
            "n_jobs": cfg.n_jobs,
        }
        cls = tree.CausalRandomForestRegressor
    kw["random_state"] = random_state
    kw.update(cfg.params)
    # The tree learners get the control label in fit (integer 0 for the causal forest).
    return lambda control: cls(control_name=control, **kw)


def _pairwise_propensity(
    propensity: Mapping[str, float] | None,
    treatment: np.ndarray,
    control: str,
    arms: list[str],
) -> dict[str, float]:
    """P(arm | arm or control) for each arm, from assignment shares.

    ``propensity`` maps labels to their assignment probability; a missing control entry
    is taken as 1 - sum of the arms. ``None`` uses the observed shares in ``treatment``.
    """
    if propensity is None:
        shares = {lab: float(np.mean(treatment == lab)) for lab in [control, *arms]}
    else:
        missing = [a for a in arms if a not in propensity]
        if missing:
            raise ValueError(f"propensity lacks arms {missing}; given: {sorted(propensity)}")
        shares = {a: float(propensity[a]) for a in arms}
        shares[control] = float(propensity.get(control, 1.0 - sum(shares.values())))
    pair = {a: shares[a] / (shares[a] + shares[control]) for a in arms}
    bad = {a: v for a, v in pair.items() if not 0.0 < v < 1.0 or not np.isfinite(v)}
    if bad:
        raise ValueError(f"propensities must give 0 < P(arm | arm or control) < 1; got {bad}")
    return pair


class UpliftEstimator:
    """An uplift estimator behind a uniform ``fit`` / ``predict``.

    Built by :func:`make_estimator`; ``__init__`` only stores its arguments. Fitted
    attributes: ``arms_`` (treated labels, sorted; the prediction columns), ``control_``,
    ``binary_`` (classifier variant used), ``propensity_`` (pairwise propensities used),
    ``fit_seconds_`` (wall time of the CausalML fit) and ``model_`` (the CausalML object).
    """

    def __init__(self, cfg: EstimatorConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed

    def fit(
        self,
        X: np.ndarray,
        treatment: np.ndarray,
        y: np.ndarray,
        propensity: Mapping[str, float] | None = None,
        control: str = "control",
    ) -> Self:
        """Fit on a randomised experiment.

        ``treatment`` holds arm labels (compared as str); ``propensity`` maps labels to
        their known assignment probabilities (default: the observed shares).
        """
        X = np.asarray(X, dtype=np.float64)
        t = np.asarray(treatment).astype(str)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != t.shape[0] or t.shape != y.shape:
            raise ValueError(
                f"X must be (n, d) with n = len(treatment) = len(y); got X {X.shape}, "
                f"treatment {t.shape}, y {y.shape}"
            )
        labels = sorted(set(t.tolist()))
        if control not in labels:
            raise ValueError(f"control label {control!r} not in treatment labels {labels}")
        arms = [lab for lab in labels if lab != control]
        if not arms:
            raise ValueError("treatment holds only the control arm")
        binary = bool(np.isin(y, (0.0, 1.0)).all())
        check_compatible(self.cfg, binary)
        self.control_ = control
        self.arms_ = arms
        self.binary_ = binary
        self.propensity_ = _pairwise_propensity(propensity, t, control, arms)
        random_state = derive_seed(self.seed)
        learner = self.cfg.learner

        with _quiet(self.cfg.n_jobs):
            import_causalml()  # ~4 s the first time; not part of the fit time
            if learner in META_LEARNERS:
                model = _meta_learner(self.cfg, binary, control, random_state)
                kw: dict[str, Any] = {"X": X, "treatment": t, "y": y}
                if learner in ("x", "r", "dr"):
                    kw["p"] = {a: np.full(len(y), p) for a, p in self.propensity_.items()}
                if learner == "dr":
                    kw["seed"] = random_state
                start = time.perf_counter()
                if learner == "r":
                    from joblib import parallel_config

                    with parallel_config(backend="sequential"):
                        model.fit(verbose=False, **kw)
                else:
                    model.fit(**kw)
                groups = [str(g) for g in model.t_groups]
            elif learner == "causal_forest":
                codes = np.zeros(len(t), dtype=np.int64)
                for j, arm in enumerate(arms):
                    codes[t == arm] = j + 1
                model = _tree_learner(self.cfg, random_state)(0)
                start = time.perf_counter()
                model.fit(X=X, treatment=codes, y=y)
                groups = arms  # code j + 1 is arms[j] by construction
            else:
                model = _tree_learner(self.cfg, random_state)(control)
                start = time.perf_counter()
                model.fit(X=X, treatment=t, y=y)
                groups = [str(g) for g in model.classes_[1:]]
        self.fit_seconds_ = time.perf_counter() - start
        if groups != arms:
            raise RuntimeError(f"CausalML arm order {groups} differs from {arms}")
        self.model_ = model
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted uplift, shape (n, len(arms_)): column j is ``arms_[j]`` minus control."""
        X = np.asarray(X, dtype=np.float64)
        with _quiet(self.cfg.n_jobs):
            if self.cfg.learner == "x":
                p = {a: np.full(len(X), v) for a, v in self.propensity_.items()}
                te = self.model_.predict(X=X, p=p)
            elif self.cfg.learner == "uplift_tree":
                proba = self.model_.predict(X)  # control in column 0
                te = proba[:, 1:] - proba[:, [0]]
            else:
                te = self.model_.predict(X)
        te = np.asarray(te, dtype=np.float64).reshape(len(X), len(self.arms_))
        return te

    def __repr__(self) -> str:
        return f"UpliftEstimator({self.cfg!r}, seed={self.seed})"


def make_estimator(cfg: EstimatorConfig, seed: int) -> UpliftEstimator:
    """Build the uplift estimator described by ``cfg``, seeded from ``seed``."""
    return UpliftEstimator(cfg, seed)
