"""Plain, validated configuration for uplift estimators and real-data sets.

No Hydra here: the entry points compose YAML and hand these dataclasses over.  Fields
declare their choices and ranges beside them (:func:`sim.schema.spec`);
:func:`sim.schema.build` (or ``from_dict``) builds one from a plain mapping, reporting
every unknown key, wrong type and bad value at once with its dotted key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from sim.schema import ConfigError, build, check_fields, spec, spec_metadata

__all__ = [
    "BASE_LEARNERS",
    "BINARY_ONLY_LEARNERS",
    "DATASET_NAMES",
    "LEARNERS",
    "META_LEARNERS",
    "ConfigError",
    "DatasetConfig",
    "EstimatorConfig",
]

#: Meta-learners of CausalML (Künzel et al. 2019; Nie & Wager 2021; Kennedy 2020).
META_LEARNERS = frozenset({"s", "t", "x", "r", "dr"})
#: Uplift trees and forests (CausalML's own tree implementations).
TREE_LEARNERS = frozenset({"uplift_tree", "uplift_forest", "causal_forest"})
LEARNERS = META_LEARNERS | TREE_LEARNERS
#: The uplift tree and forest split on binary outcomes only.
BINARY_ONLY_LEARNERS = frozenset({"uplift_tree", "uplift_forest"})
#: Base learners of the meta-learners (ignored by the tree learners).
BASE_LEARNERS = frozenset({"lightgbm", "hgb", "xgboost"})
#: ``hillstrom`` is the shipped copy; ``csv`` is any randomised experiment in a CSV file.
DATASET_NAMES = frozenset({"hillstrom", "csv"})


@dataclass
class EstimatorConfig:
    """One uplift estimator: a learner and, for meta-learners, its base learner.

    ``n_estimators``, ``max_depth``, ``learning_rate`` and ``min_samples_leaf`` map onto
    the base learner (boosting rounds / trees, depth, shrinkage, minimum leaf size);
    ``n_jobs`` is the thread count of every model (-1 = all cores); ``params`` are extra
    keyword arguments passed verbatim to the base learner (or, for the tree learners, to
    the CausalML class) and override the mapped ones; ``effect_params`` override them once
    more for the second-stage effect learner of the X, R and DR learners only (e.g. a
    shallower tree for the noisy imputed effects than for the outcome models).
    """

    name: str
    learner: str = spec("x", choices=sorted(LEARNERS))
    base: str = spec("lightgbm", choices=sorted(BASE_LEARNERS))
    n_estimators: int = spec(200, lo=1)
    max_depth: int = spec(6, lo=1)
    learning_rate: float = spec(0.05, lo=0.0, hi=1.0, lo_open=True)
    min_samples_leaf: int = spec(100, lo=1)
    n_jobs: int = spec(1, lo=-1)
    params: dict[str, Any] = field(default_factory=dict)
    effect_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.name:
            raise ConfigError("name: must be a non-empty string.")
        if self.n_jobs == 0:
            raise ConfigError("n_jobs = 0 is invalid; use >= 1, or -1 for all cores.")
        self.params = dict(self.params)
        self.effect_params = dict(self.effect_params)
        if self.effect_params and self.learner not in {"x", "r", "dr"}:
            raise ConfigError(
                f"effect_params: must be empty for learner {self.learner!r} "
                "(only x, r and dr have an effect learner)."
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a plain mapping (e.g. a parsed YAML file), refusing unknown keys."""
        return build(cls, data, "estimator")


@dataclass
class DatasetConfig:
    """A real randomised experiment: where it is and which columns play which role.

    ``path`` is required for ``csv`` and must be null for ``hillstrom`` (shipped copy;
    its other outcome columns are always dropped, so they never leak into the features).
    ``feature_cols`` = None means every column but treatment, outcome and ``drop_cols``.
    ``test_size`` is the share of rows held out to score the estimators.  ``sep`` is the
    CSV field separator (one character, or ``tab``); None detects it from the header.
    """

    name: str = field(metadata=spec_metadata(choices=sorted(DATASET_NAMES)))
    path: str | None
    treatment_col: str
    control_label: str
    outcome_col: str
    feature_cols: list[str] | None = None
    drop_cols: list[str] = field(default_factory=list)
    test_size: float = spec(0.3, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    binary_outcome: bool = True
    sep: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        errors: list[str] = []
        if self.sep is not None:
            self.sep = "\t" if self.sep in ("tab", "\\t") else self.sep
            if len(self.sep) != 1:
                errors.append(
                    f"sep = {self.sep!r}: one character (e.g. ';'), 'tab', or null to detect it."
                )
        if self.name == "csv" and not self.path:
            errors.append("path: dataset csv needs the path of the CSV file (dataset.path=...).")
        elif self.name != "csv" and self.path is not None:
            errors.append(
                f"path = {self.path!r}: dataset {self.name!r} is shipped with the package; "
                "leave path null or use dataset csv."
            )
        for key in ("treatment_col", "control_label", "outcome_col"):
            if not getattr(self, key):
                errors.append(f"{key}: must be a non-empty string.")
        if self.outcome_col == self.treatment_col:
            errors.append(f"outcome_col = {self.outcome_col!r}: must differ from treatment_col.")
        for key in ("treatment_col", "outcome_col"):
            col = getattr(self, key)
            if col in self.drop_cols:
                errors.append(f"drop_cols: must not hold the {key} {col!r}.")
            if self.feature_cols is not None and col in self.feature_cols:
                errors.append(f"feature_cols: must not hold the {key} {col!r}.")
        if self.feature_cols is not None and not self.feature_cols:
            errors.append("feature_cols: null (all columns) or a non-empty list.")
        if errors:
            raise ConfigError(errors)
        self.feature_cols = None if self.feature_cols is None else list(self.feature_cols)
        self.drop_cols = list(self.drop_cols)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a plain mapping (e.g. a parsed YAML file), refusing unknown keys."""
        return build(cls, data, "dataset")
