"""Plain, validated configuration for uplift estimators and real-data sets.

No Hydra here: the entry points compose YAML and hand these dataclasses over
(``OmegaConf.to_object``). ``__post_init__`` checks choices and ranges so that a bad
value fails at composition time with a message naming the key, the valid choices and
the nearest valid name. ``from_dict`` builds one from a plain mapping and refuses
unknown keys the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

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


from sim.schema import ConfigError  # noqa: E402  (one error type for every config)


def _choice(section: str, key: str, value: object, valid: Iterable[str]) -> None:
    choices = sorted(valid)
    if value in choices:
        return
    near = difflib.get_close_matches(str(value), choices, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise ConfigError(
        f"{section}.{key}={value!r} is not a valid choice; valid: {', '.join(choices)}{hint}"
    )


def _check(section: str, key: str, ok: bool, value: object, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{section}.{key}={value!r} is invalid: must be {rule}")


def _from_dict(cls: type, section: str, data: Mapping[str, Any]) -> Any:
    names = [f.name for f in fields(cls)]
    for key in data:
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(
                f"{section}: unknown key {key!r}; valid keys: {', '.join(names)}{hint}"
            )
    return cls(**dict(data))


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
    learner: str = "x"
    base: str = "lightgbm"
    n_estimators: int = 200
    max_depth: int = 6
    learning_rate: float = 0.05
    min_samples_leaf: int = 100
    n_jobs: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    effect_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = "estimator"
        _check(
            s,
            "name",
            isinstance(self.name, str) and bool(self.name),
            self.name,
            "a non-empty string",
        )
        _choice(s, "learner", self.learner, LEARNERS)
        _choice(s, "base", self.base, BASE_LEARNERS)
        _check(s, "n_estimators", self.n_estimators >= 1, self.n_estimators, ">= 1")
        _check(s, "max_depth", self.max_depth >= 1, self.max_depth, ">= 1")
        _check(s, "learning_rate", 0.0 < self.learning_rate <= 1.0, self.learning_rate, "in (0, 1]")
        _check(s, "min_samples_leaf", self.min_samples_leaf >= 1, self.min_samples_leaf, ">= 1")
        _check(
            s,
            "n_jobs",
            self.n_jobs >= 1 or self.n_jobs == -1,
            self.n_jobs,
            ">= 1, or -1 for all cores",
        )
        _check(s, "params", isinstance(self.params, Mapping), self.params, "a mapping")
        self.params = dict(self.params)
        _check(
            s,
            "effect_params",
            isinstance(self.effect_params, Mapping),
            self.effect_params,
            "a mapping",
        )
        _check(
            s,
            "effect_params",
            not self.effect_params or self.learner in {"x", "r", "dr"},
            self.effect_params,
            f"empty for learner {self.learner!r} (only x, r and dr have an effect learner)",
        )
        self.effect_params = dict(self.effect_params)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a plain mapping (e.g. a parsed YAML file), refusing unknown keys."""
        return _from_dict(cls, "estimator", data)


@dataclass
class DatasetConfig:
    """A real randomised experiment: where it is and which columns play which role.

    ``path`` is required for ``csv`` and must be null for ``hillstrom`` (shipped copy;
    its other outcome columns are always dropped, so they never leak into the features).
    ``feature_cols`` = None means every column but treatment, outcome and ``drop_cols``.
    ``test_size`` is the share of rows held out to score the estimators.
    """

    name: str
    path: str | None
    treatment_col: str
    control_label: str
    outcome_col: str
    feature_cols: list[str] | None = None
    drop_cols: list[str] = field(default_factory=list)
    test_size: float = 0.3
    binary_outcome: bool = True

    def __post_init__(self) -> None:
        s = "dataset"
        _choice(s, "name", self.name, DATASET_NAMES)
        if self.name == "csv":
            _check(
                s,
                "path",
                isinstance(self.path, str) and bool(self.path),
                self.path,
                "the path of the CSV file for dataset csv",
            )
        elif self.path is not None:
            raise ConfigError(
                f"{s}.path={self.path!r} is invalid: dataset {self.name!r} is shipped with "
                "the package; leave path null or use dataset csv"
            )
        for key in ("treatment_col", "control_label", "outcome_col"):
            value = getattr(self, key)
            _check(s, key, isinstance(value, str) and bool(value), value, "a non-empty string")
        _check(
            s,
            "outcome_col",
            self.outcome_col != self.treatment_col,
            self.outcome_col,
            "different from treatment_col",
        )
        for key in ("treatment_col", "outcome_col"):
            col = getattr(self, key)
            _check(
                s,
                "drop_cols",
                col not in self.drop_cols,
                list(self.drop_cols),
                f"free of the {key.removesuffix('_col')} column {col!r}",
            )
            if self.feature_cols is not None:
                _check(
                    s,
                    "feature_cols",
                    col not in self.feature_cols,
                    list(self.feature_cols),
                    f"free of the {key} {col!r}",
                )
        if self.feature_cols is not None:
            _check(
                s,
                "feature_cols",
                len(self.feature_cols) > 0,
                list(self.feature_cols),
                "null (all columns) or a non-empty list",
            )
            self.feature_cols = list(self.feature_cols)
        self.drop_cols = list(self.drop_cols)
        _check(s, "test_size", 0.0 < self.test_size < 1.0, self.test_size, "in (0, 1)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a plain mapping (e.g. a parsed YAML file), refusing unknown keys."""
        return _from_dict(cls, "dataset", data)
