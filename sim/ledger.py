"""Columnar record of what happened in a run: contacts, purchases and opt-outs.

Each table is a fixed schema of numpy columns appended in batches (one append per
contact batch or simulation step, never per consumer) and concatenated on demand.
Backlash is a column of the contact table; a *response* (a purchase inside a contact's
response window) is derived in :mod:`sim.measure` from contacts and purchases.
The ledger is the simulator's record and holds latent columns (``persuasion``,
``induced``); the marketer's view is :mod:`sim.observe`.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

import numpy as np
import pandas as pd

CONTACT_SCHEMA: dict[str, type] = {
    "contact_id": np.int64,
    "batch": np.int32,
    "time": np.float64,
    "consumer": np.int32,
    "channel": np.int8,
    "category": np.int16,
    "discount": np.float32,
    "depth": np.float32,
    "data_kinds": np.uint8,
    "arm": np.int16,
    "status": np.int8,
    "backlash": np.bool_,
    "opted_out": np.bool_,
    "intrusiveness": np.float32,
    "persuasion": np.float32,
    "clicked": np.bool_,
}
PURCHASE_SCHEMA: dict[str, type] = {
    "time": np.float64,
    "consumer": np.int32,
    "category": np.int16,
    "value": np.float32,
    "discount": np.float32,
    "offer_contact": np.int64,
    "induced": np.bool_,
}
OPTOUT_SCHEMA: dict[str, type] = {"time": np.float64, "consumer": np.int32, "channel": np.int8}


class ContactStatus(IntEnum):
    """Codes of the contact table's ``status`` column: only ``DELIVERED`` reaches the consumer.

    A row that is not delivered records why, by precedence: kept back for measurement
    (``HOLDOUT``), no address on the channel (``UNREACHABLE``), opted out of it
    (``OPTED_OUT``).
    """

    DELIVERED = 0
    HOLDOUT = 1
    OPTED_OUT = 2
    UNREACHABLE = 3


class Table:
    """An append-only columnar table with a fixed schema."""

    def __init__(self, schema: dict[str, type]) -> None:
        self.schema = schema
        self._chunks: dict[str, list[np.ndarray]] = {k: [] for k in schema}
        self._rows = 0
        self._cache: pd.DataFrame | None = None

    def append(self, **columns: np.ndarray | float) -> None:
        """Append a batch; every schema column must be given, as an array of the batch's
        length or as a scalar (the same value on every row)."""
        if set(columns) != set(self.schema):
            missing = set(self.schema) - set(columns)
            extra = set(columns) - set(self.schema)
            raise ValueError(
                f"ledger append: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        lengths = [np.shape(v)[0] for v in columns.values() if np.ndim(v) > 0]
        if not lengths:
            raise ValueError("ledger append: at least one column must be an array")
        n = lengths[0]
        if n == 0:
            return
        for k, dtype in self.schema.items():
            col: np.ndarray = np.asarray(columns[k], dtype=dtype)
            if col.ndim == 0:  # one value for the batch: held as a view, no memory of n
                col = np.broadcast_to(col, (n,))
            if len(col) != n:
                raise ValueError(f"ledger append: column {k} has {len(col)} rows, expected {n}")
            self._chunks[k].append(col)
        self._rows += n
        self._cache = None

    def __len__(self) -> int:
        return self._rows

    def column(self, name: str) -> np.ndarray:
        chunks = self._chunks[name]
        if not chunks:
            return np.empty(0, dtype=self.schema[name])
        if len(chunks) > 1 or not chunks[0].flags.writeable:  # (a batch's one value)
            self._chunks[name] = [np.concatenate(chunks)]
        return self._chunks[name][0]

    def frame(self) -> pd.DataFrame:
        if self._cache is None:
            self._cache = pd.DataFrame({k: self.column(k) for k in self.schema})
        return self._cache


class Ledger:
    """The three tables of a run."""

    def __init__(self) -> None:
        self.contacts = Table(CONTACT_SCHEMA)
        self.purchases = Table(PURCHASE_SCHEMA)
        self.optouts = Table(OPTOUT_SCHEMA)

    def tables(self) -> dict[str, Table]:
        return {"contacts": self.contacts, "purchases": self.purchases, "optouts": self.optouts}

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Write each table to ``<directory>/<table>.parquet`` atomically."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, table in self.tables().items():
            path = out / f"{name}.parquet"
            tmp = path.with_suffix(".parquet.tmp")
            table.frame().to_parquet(tmp, index=False)
            tmp.replace(path)
            paths.append(path)
        return paths
