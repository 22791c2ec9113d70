"""Validated loading of a randomised experiment from a CSV file or a DataFrame.

Every check runs before any model work, and every error names the offending column or
row (``data row`` = 1-based row after the header; for a file also its line number) and,
where it helps, the valid choices. Columns are encoded once, here: numeric columns become
float64, booleans 0/1, and text columns one-hot indicator columns named ``column=level``.
Missing values in numeric features are kept as NaN (the tree learners handle them); a
missing categorical value gives a row of zeros in that column's indicators.

Common shapes of real files are accepted: a separator other than the comma (``sep``, or
detected among ``, ; tab |`` from the header line), arm labels written as numbers (a
control label ``0`` matches the text ``0``), and binary outcomes coded as 0/1, true/false,
yes/no, y/n or t/f in any case (:data:`BINARY_CODINGS`).  Duplicate column names are
refused (pandas would silently rename them), and a feature that looks like a row
identifier is reported in :attr:`ExperimentData.warnings` with the ``drop_cols`` fix.
"""

from __future__ import annotations

import csv as _csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = [
    "BINARY_CODINGS",
    "MAX_CATEGORIES",
    "SEPARATORS",
    "DataError",
    "ExperimentData",
    "experiment_from_frame",
    "load_experiment",
]

#: A text feature column with more distinct values than this is refused (an id column,
#: most likely); drop it with ``drop_cols`` or encode it before loading.
MAX_CATEGORIES = 100

_BOOL_TEXT = {"true": 1.0, "false": 0.0}

#: Codings of a binary outcome accepted in text (any case): (positive, negative).
BINARY_CODINGS: Final = (("1", "0"), ("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"))
#: Separators :func:`detect_separator` chooses among.
SEPARATORS: Final = (",", ";", "\t", "|")
#: A feature column whose name reads as an identifier (``id``, ``customer_id``, ``userID``).
_ID_NAME: Final = re.compile(r"(^|[^a-z])id$|^id[^a-z]|[a-z]ID$", re.IGNORECASE)
#: Fewest rows for "every value distinct" to mark an integer feature as id-like.
_ID_MIN_ROWS: Final = 20


class DataError(ValueError):
    """An experiment file or table that cannot be used as it is.

    ``fix`` maps option names to the value that would fix the problem (e.g.
    ``{"binary_outcome": False}``) and ``when`` says when that fix applies ("for a
    continuous outcome"); :meth:`hint` spells it for the caller (keyword arguments here,
    Hydra overrides in the entry points).
    """

    def __init__(self, message: str, fix: Mapping[str, Any] | None = None, when: str = "") -> None:
        self.message = message
        self.fix = dict(fix or {})
        self.when = when
        super().__init__(message + self.hint())

    def hint(self, prefix: str | None = None) -> str:
        """``; for a continuous outcome, pass binary_outcome=False`` (Python), or with
        ``prefix="dataset"`` ``...; set dataset.binary_outcome=false`` (the override)."""
        if not self.fix:
            return ""
        lead = f"; {self.when}, " if self.when else "; "
        if prefix is None:
            return lead + "pass " + ", ".join(f"{k}={v!r}" for k, v in self.fix.items())

        def spell(v: Any) -> str:
            if isinstance(v, bool):
                return str(v).lower()
            if isinstance(v, list | tuple):
                return "[" + ",".join(str(x) for x in v) + "]"
            return "null" if v is None else str(v)

        return lead + "set " + " ".join(f"{prefix}.{k}={spell(v)}" for k, v in self.fix.items())

    def for_overrides(self, prefix: str) -> str:
        """The message with its fix spelled as the command-line override to type."""
        return self.message + self.hint(prefix)


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
    warnings: tuple[str, ...] = ()

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
    sep: str | None = None,
) -> ExperimentData:
    """Read a randomised experiment from a CSV file with a header row and validate it.

    ``feature_cols`` defaults to every column except the treatment, the outcome and
    ``drop_cols``; ``sep`` is the field separator (None: detected from the header line,
    :func:`detect_separator`). Raises :class:`DataError` for anything unusable (see
    module doc).
    """
    p = Path(path)
    if not p.is_file():
        where = "is a directory" if p.is_dir() else "does not exist"
        raise DataError(f"experiment file {str(p)!r} {where}")
    try:
        header = _header_line(p)
    except UnicodeDecodeError as exc:
        raise DataError(f"experiment file {str(p)!r} is not UTF-8 text: {exc}") from exc
    if not header.strip():
        raise DataError(f"experiment file {str(p)!r} is empty (no header row)")
    sep = detect_separator(header) if sep is None else sep
    names = next(_csv.reader([header], delimiter=sep))
    _refuse_duplicates([n.strip() for n in names], f"file {str(p)!r}")
    try:
        # Labels are read as text so that e.g. "007" stays "007".
        frame = pd.read_csv(p, sep=sep, dtype={treatment_col: str})
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"experiment file {str(p)!r} is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(
            f"experiment file {str(p)!r} cannot be parsed as CSV with separator {sep!r}: {exc}",
            fix={"sep": "<separator>"},
            when="if the file uses another separator",
        ) from exc
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


def _header_line(path: Path) -> str:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return fh.readline().rstrip("\r\n")


def detect_separator(header: str) -> str:
    """The separator of a CSV file from its header line: whichever of :data:`SEPARATORS`
    splits it into the most fields (a comma on a tie, and for a single column)."""
    counts = {s: header.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


def _refuse_duplicates(columns: Sequence[str], source: str) -> None:
    seen: dict[str, list[int]] = {}
    for i, c in enumerate(columns, start=1):
        seen.setdefault(c, []).append(i)
    dup = {c: pos for c, pos in seen.items() if len(pos) > 1}
    if dup:
        shown = "; ".join(
            f"{c!r} (columns {', '.join(str(i) for i in pos)})" for c, pos in dup.items()
        )
        raise DataError(
            f"{source} has duplicate column names: {shown}; every column needs its own name"
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
    _refuse_duplicates(columns, source)
    frame.columns = pd.Index(columns)
    control_label = _label(control_label)
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
        warnings=tuple(_id_like(frame, features)),
    )


def _label(value: Any) -> str:
    """An arm label as text: a control label written as a number (``0``, from a YAML or
    command-line value) matches the text ``0`` of the treatment column."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _id_like(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """Warnings for feature columns that look like row identifiers: a name such as
    ``id`` or ``customer_id``, or integers with every value distinct (over at least 20
    rows).  An identifier carries no information on the effect, and a tree may split
    on it and overfit."""
    out = []
    n = len(frame)
    for c in features:
        col = frame[c]
        named = bool(_ID_NAME.search(c))
        distinct = False
        if n >= _ID_MIN_ROWS and pd.api.types.is_integer_dtype(col):
            distinct = bool(col.notna().all() and col.nunique() == n)
        if named or distinct:
            why = "its name reads as an identifier" if named else f"all {n:,} values differ"
            out.append(
                f"feature column {c!r} looks like a row identifier ({why}); if it is one, "
                f"drop it from the features (drop_cols: [{c}])"
            )
    return out


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
    labels = col.astype(str).str.strip().to_numpy(dtype=object).astype(str)
    found = sorted(set(labels.tolist()))
    if control not in found:
        close = [v for v in found if v.lower() == control.lower()]
        raise DataError(
            f"control label {control!r} not found in treatment column {name!r}; "
            f"labels found: {', '.join(repr(v) for v in found)}",
            fix={"control_label": close[0]} if close else None,
            when="labels are case-sensitive",
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
    codings = ", ".join(f"{a}/{b}" for a, b in BINARY_CODINGS)
    if pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=float)
    elif binary and not pd.api.types.is_numeric_dtype(col):
        values = _binary_text(col, name, from_file, codings)
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
                f"{_row(i, from_file)}; accepted codings of a binary outcome: {codings} "
                "(any case)",
                fix={"binary_outcome": False},
                when="for a continuous outcome",
            )
    return values


def _binary_text(col: pd.Series, name: str, from_file: bool, codings: str) -> np.ndarray:
    """A binary outcome written as text: one of :data:`BINARY_CODINGS`, any case."""
    text = col.astype(str).str.strip().str.lower()
    levels = set(text.tolist())
    for pos, neg in BINARY_CODINGS:
        if levels <= {pos, neg}:
            return (text == pos).to_numpy(dtype=float)
    known = {v for pair in BINARY_CODINGS for v in pair}
    first_level = text.iloc[0]
    coding = next((p for p in BINARY_CODINGS if first_level in p), None)
    bad = ~text.isin(coding if coding else known).to_numpy()
    i = _first_true(bad) if bad.any() else 0
    raise DataError(
        f"outcome column {name!r} is not a binary outcome in one coding: it has "
        f"{_show(col.iloc[i])} at {_row(i, from_file)} (values found: "
        f"{', '.join(repr(v) for v in sorted(levels)[:8])}); accepted codings: {codings} "
        "(any case)",
        fix={"binary_outcome": False},
        when="for a continuous outcome",
    )


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
                f"{max_categories}): an identifier, most likely; encode it before loading",
                fix={"drop_cols": [c]},
                when="to drop it from the features",
            )
        onehot = pd.get_dummies(text.where(present), prefix=c, prefix_sep="=", dtype=float)
        blocks.append(onehot.to_numpy(dtype=float))
        names.extend(str(n) for n in onehot.columns)
    X = np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)
    return X, names
