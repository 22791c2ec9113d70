"""The records the paper is typeset from: a quoted number and a table cell.

A *number* (``numbers.json``) is a value with its unit and shown text
(:mod:`experiments.paper.fmt`), the producer that computed it, the input files, and the
provenance of the rows it comes from (config hashes, seeds, git commit).  Where it is one
cell of an input, ``ref`` points at that cell (``{"file", "row", "col"}`` of a CSV, or
``{"file", "path"}`` into a JSON file), so a test can read it back independently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from experiments.paper import fmt
from experiments.paper.inputs import provenance


def clean(value: Any) -> Any:
    """A JSON-safe value: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def cell_ref(file: str, row: int, col: str) -> dict[str, Any]:
    return {"file": file, "row": int(row), "col": col}


def json_ref(file: str, *path: str | int) -> dict[str, Any]:
    return {"file": file, "path": list(path)}


def num(value: Any, unit: str, ref: dict[str, Any] | None = None) -> dict[str, Any]:
    """A shown number: its value, unit and text (and the input cell it is, if any)."""
    out: dict[str, Any] = {"value": clean(value), "unit": unit, "text": fmt.text(value, unit)}
    if ref is not None:
        out["ref"] = ref
    return out


@dataclass
class Numbers:
    """The numbers of one group, as a producer writes them."""

    producer: str
    prov: dict[str, Any] | None = None
    """Provenance of the numbers that name no rows (a calibration file's own)."""
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put(
        self,
        key: str,
        value: Any,
        unit: str,
        inputs: tuple[str, ...],
        rows: pd.DataFrame | None = None,
        ref: dict[str, Any] | None = None,
        prov: dict[str, Any] | None = None,
    ) -> None:
        """Add a number; its provenance is read from ``rows`` or given as ``prov``."""
        if key in self.entries:
            raise ValueError(f"number {key!r} written twice by {self.producer}")
        if prov is None and rows is not None:
            prov = provenance(rows)
        if prov is None:
            prov = self.prov or {"config_hash": [], "seeds": [], "git_commit": None}
        self.entries[key] = {
            **num(value, unit, ref),
            "producer": self.producer,
            "inputs": list(inputs),
            **prov,
        }
