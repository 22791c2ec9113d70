"""Validated loading of a randomised experiment from a CSV file or a DataFrame.

Every check runs before any model work, and every error names the offending column or
row (``data row`` = 1-based row after the header; for a file also its line number) and,
where it helps, the valid choices. Columns are encoded once, here: numeric columns become
float64, booleans 0/1, and text columns one-hot indicator columns named ``column=level``.
Missing values in numeric features are kept as NaN (the tree learners handle them); a
missing categorical value gives a row of zeros in that column's indicators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MAX_CATEGORIES",
    "DataError",
    "ExperimentData",
    "experiment_from_frame",
    "load_experiment",
]

#: A text feature column with more distinct values than this is refused (an id column,
#: most likely); drop it with ``drop_cols`` or encode it before loading.
MAX_CATEGORIES = 100

_BOOL_TEXT = {"true": 1.0, "false": 0.0}


class DataError(ValueError):
    """An experiment file or table that cannot be used as it is."""


@dataclass(frozen=True)
class ExperimentData:
    """A randomised experiment ready for the uplift estimators.

    ``X`` is float64 of shape (n, len(feature_names)); ``treatment`` holds the arm label
    of each row as str; ``y`` the outcome as float; ``arms`` the labels other than
    ``control``, sorted (the column order of every estimator's prediction).
    """

    X: np.ndarray
    feature_names: list[str]
    treatment: np.ndarray
    y: np.ndarray
    control: str
    arms: list[str]
    outcome: str

    @property
    def n_rows(self) -> int:
        """Number of rows (customers) in the experiment."""
        return int(self.y.shape[0])


def load_experiment(
    path: str | Path,
    treatment_col: str,
    control_label: str,
    outcome_col: str,
    feature_cols: Sequence[str] | None = None,
    drop_cols: Sequence[str] = (),
    binary_outcome: bool = True,
    max_categories: int = MAX_CATEGORIES,
) -> ExperimentData:
    """Read a randomised experiment from a CSV file with a header row and validate it.

    ``feature_cols`` defaults to every column except the treatment, the outcome and
    ``drop_cols``. Raises :class:`DataError` for anything unusable (see module doc).
    """
    p = Path(path)
    if not p.is_file():
        where = "is a directory" if p.is_dir() else "does not exist"
        raise DataError(f"experiment file {str(p)!r} {where}")
    try:
        # Labels are read as text so that e.g. "007" stays "007".
        frame = pd.read_csv(p, dtype={treatment_col: str})
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"experiment file {str(p)!r} is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"experiment file {str(p)!r} cannot be parsed as CSV: {exc}") from exc
    return _build(
        frame,
        source=f"file {str(p)!r}",
        from_file=True,
        treatment_col=treatment_col,
        control_label=control_label,
        outcome_col=outcome_col,
        feature_cols=feature_cols,
        drop_cols=drop_cols,
        binary_outcome=binary_outcome,
        max_categories=max_categories,
    )


def experiment_from_frame(
    frame: pd.DataFrame,
    treatment_col: str,
    control_label: str,
    outcome_col: str,
    feature_cols: Sequence[str] | None = None,
    drop_cols: Sequence[str] = (),
    binary_outcome: bool = True,
    max_categories: int = MAX_CATEGORIES,
    source: str = "table",
) -> ExperimentData:
    """Validate and encode an already-loaded table (e.g. Hillstrom); see :func:`load_experiment`.

    Row numbers in messages count data rows from 1 in the table's current order.
    """
    return _build(
        frame.reset_index(drop=True),
        source=source,
        from_file=False,
        treatment_col=treatment_col,
        control_label=control_label,
        outcome_col=outcome_col,
        feature_cols=feature_cols,
        drop_cols=drop_cols,
        binary_outcome=binary_outcome,
        max_categories=max_categories,
    )


def _row(i: int, from_file: bool) -> str:
    """Name data row ``i`` (0-based position) as a user finds it."""
    return f"data row {i + 1} (line {i + 2} of the file)" if from_file else f"data row {i + 1}"


def _build(
    frame: pd.DataFrame,
    *,
    source: str,
    from_file: bool,
    treatment_col: str,
    control_label: str,
    outcome_col: str,
    feature_cols: Sequence[str] | None,
    drop_cols: Sequence[str],
    binary_outcome: bool,
    max_categories: int,
) -> ExperimentData:
    columns = [str(c) for c in frame.columns]
    frame.columns = pd.Index(columns)
    if len(frame) == 0:
        raise DataError(f"{source} has a header but no data rows")

    def need(col: str, role: str) -> None:
        if col not in columns:
            raise DataError(
                f"{role} column {col!r} not found in {source}; available columns: "
                + ", ".join(repr(c) for c in columns)
            )

    need(treatment_col, "treatment")
    need(outcome_col, "outcome")
    if treatment_col == outcome_col:
        raise DataError(f"treatment and outcome are the same column {treatment_col!r}")
    for c in drop_cols:
        need(c, "drop_cols")
    if feature_cols is None:
        excluded = {treatment_col, outcome_col, *drop_cols}
        features = [c for c in columns if c not in excluded]
    else:
        features = list(feature_cols)
        for c in features:
            need(c, "feature")
        for c in (treatment_col, outcome_col):
            if c in features:
                raise DataError(f"feature_cols must not contain the treatment/outcome column {c!r}")
    if not features:
        raise DataError(f"{source} has no feature columns left after dropping {list(drop_cols)}")

    treatment = _treatment(frame[treatment_col], treatment_col, control_label, from_file)
    y = _outcome(frame[outcome_col], outcome_col, binary_outcome, from_file)
    X, names = _features(frame, features, from_file, max_categories)
    arms = sorted(set(treatment.tolist()) - {control_label})
    return ExperimentData(
        X=X,
        feature_names=names,
        treatment=treatment,
        y=y,
        control=control_label,
        arms=arms,
        outcome=outcome_col,
    )


def _show(value: object) -> str:
    """A cell as the user wrote it: ``5``, ``'abc'`` (not ``np.int64(5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_true(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _treatment(col: pd.Series, name: str, control: str, from_file: bool) -> np.ndarray:
    missing = col.isna().to_numpy()
    if missing.any():
        where = _row(_first_true(missing), from_file)
        raise DataError(f"treatment column {name!r} has a missing value at {where}")
    labels = col.astype(str).to_numpy(dtype=object).astype(str)
    found = sorted(set(labels.tolist()))
    if control not in found:
        raise DataError(
            f"control label {control!r} not found in treatment column {name!r}; "
            f"labels found: {', '.join(repr(v) for v in found)}"
        )
    if len(found) == 1:
        raise DataError(
            f"treatment column {name!r} holds only the control arm {control!r}; "
            "an experiment needs at least one treated arm"
        )
    return labels


def _outcome(col: pd.Series, name: str, binary: bool, from_file: bool) -> np.ndarray:
    missing = col.isna().to_numpy()
    if missing.any():
        where = _row(_first_true(missing), from_file)
        raise DataError(f"outcome column {name!r} has a missing value at {where}")
    if pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=float)
    else:
        parsed = pd.to_numeric(col, errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            i = _first_true(bad)
            raise DataError(
                f"outcome column {name!r} has a non-numeric value {_show(col.iloc[i])} "
                f"at {_row(i, from_file)}"
            )
        values = parsed.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        i = _first_true(~np.isfinite(values))
        where = _row(i, from_file)
        raise DataError(f"outcome column {name!r} has non-finite {_show(col.iloc[i])} at {where}")
    if binary:
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            i = _first_true(bad)
            raise DataError(
                f"outcome column {name!r} must be binary (0 or 1) but has {_show(col.iloc[i])} at "
                f"{_row(i, from_file)}; pass binary_outcome=False for a continuous outcome"
            )
    return values


def _features(
    frame: pd.DataFrame, features: list[str], from_file: bool, max_categories: int
) -> tuple[np.ndarray, list[str]]:
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for c in features:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            blocks.append(col.to_numpy(dtype=float, na_value=np.nan)[:, None])
            names.append(c)
            continue
        present = col.notna().to_numpy()
        text = col.astype(str).str.strip()
        lowered = text[present].str.lower()
        if len(lowered) and lowered.isin(list(_BOOL_TEXT)).all():
            # True/False with gaps: pandas leaves these as text.
            values = text.str.lower().map(_BOOL_TEXT).where(present)
            blocks.append(values.to_numpy(dtype=float, na_value=np.nan)[:, None])
            names.append(c)
            continue
        parsed = pd.to_numeric(text.where(present), errors="coerce")
        numeric = parsed.notna().to_numpy()
        n_present = int(present.sum())
        if n_present and numeric.sum() * 2 >= n_present:
            # Mostly numbers: a numeric column with stray text, not a categorical one.
            i = _first_true(present & ~numeric)
            raise DataError(
                f"feature column {c!r} is numeric but has a non-numeric value "
                f"{_show(col.iloc[i])} at {_row(i, from_file)}"
            )
        levels = sorted(set(text[present].tolist()))
        if len(levels) > max_categories:
            raise DataError(
                f"feature column {c!r} has {len(levels)} distinct text values (more than "
                f"{max_categories}); drop it with drop_cols or encode it before loading"
            )
        onehot = pd.get_dummies(text.where(present), prefix=c, prefix_sep="=", dtype=float)
        blocks.append(onehot.to_numpy(dtype=float))
        names.extend(str(n) for n in onehot.columns)
    X = np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)
    return X, names
