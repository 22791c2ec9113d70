"""The Hillstrom MineThatData e-mail experiment (March 2008), shipped with the package.

64,000 customers randomised to no e-mail, a women's e-mail or a men's e-mail; outcomes
over the following two weeks: ``visit``, ``conversion``, ``spend``.  Released publicly by
Kevin Hillstrom (MineThatData E-Mail Analytics and Data Mining Challenge) and widely
redistributed with uplift libraries; arm rates: visit 10.62 / 15.14 / 18.28 % and
conversion 0.57 / 0.88 / 1.25 % for no e-mail / women's / men's.  The copy is read from
the package (no download) and its decompressed bytes are checked against the sha256 of
the distributed file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from sim.datasets.csv import DataError, ExperimentData, experiment_from_frame

__all__ = [
    "HILLSTROM_ARMS",
    "HILLSTROM_CONTROL",
    "HILLSTROM_MENS",
    "HILLSTROM_OUTCOMES",
    "HILLSTROM_SHA256",
    "HILLSTROM_TREATMENT_COL",
    "HILLSTROM_WOMENS",
    "hillstrom_experiment",
    "load_hillstrom",
]

HILLSTROM_SHA256 = "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c"
HILLSTROM_TREATMENT_COL = "segment"
HILLSTROM_CONTROL = "No E-Mail"
HILLSTROM_WOMENS = "Womens E-Mail"
HILLSTROM_MENS = "Mens E-Mail"
HILLSTROM_ARMS = (HILLSTROM_WOMENS, HILLSTROM_MENS)
HILLSTROM_OUTCOMES = ("visit", "conversion", "spend")


def _shipped_copy() -> bytes:
    return resources.files("sim.datasets").joinpath("hillstrom.csv.gz").read_bytes()


def load_hillstrom(path: str | Path | None = None) -> pd.DataFrame:
    """Return the Hillstrom table (64,000 rows, 12 columns) after verifying its checksum.

    ``path`` points at another gzip copy (tests use this); default is the shipped one.
    Raises :class:`DataError` if the decompressed bytes do not match ``HILLSTROM_SHA256``.
    """
    where = "the shipped copy sim/datasets/hillstrom.csv.gz" if path is None else str(path)
    try:
        packed = _shipped_copy() if path is None else Path(path).read_bytes()
        raw = gzip.decompress(packed)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read Hillstrom data from {where}: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != HILLSTROM_SHA256:
        raise DataError(
            f"Hillstrom data in {where} is not the published file: sha256 {digest} "
            f"!= {HILLSTROM_SHA256}; restore it from version control"
        )
    return pd.read_csv(io.BytesIO(raw))


def hillstrom_experiment(
    outcome: str = "visit",
    feature_cols: Sequence[str] | None = None,
    frame: pd.DataFrame | None = None,
) -> ExperimentData:
    """Hillstrom as an :class:`ExperimentData` for one outcome (the other two are dropped).

    ``outcome`` is one of ``visit``, ``conversion`` (binary) or ``spend`` (continuous).
    """
    if outcome not in HILLSTROM_OUTCOMES:
        raise DataError(
            f"Hillstrom outcome {outcome!r} is not one of {', '.join(HILLSTROM_OUTCOMES)}"
        )
    table = load_hillstrom() if frame is None else frame
    return experiment_from_frame(
        table,
        treatment_col=HILLSTROM_TREATMENT_COL,
        control_label=HILLSTROM_CONTROL,
        outcome_col=outcome,
        feature_cols=feature_cols,
        drop_cols=[o for o in HILLSTROM_OUTCOMES if o != outcome],
        binary_outcome=outcome != "spend",
        source="Hillstrom",
    )
