"""Input from students, made safe: team names, and CSV cells a spreadsheet will not run.

Team names are the only free text the page accepts.  They are normalised (NFKC), stripped
of control and format characters, whitespace-collapsed and capped; the page shows them
only as plain text (tables and ``st.text``, never Markdown or HTML), so a name such as
``<script>alert(1)</script>`` is displayed literally and runs nowhere.

Spreadsheets execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some also
after a leading tab or carriage return) as a formula: :func:`csv_cell` prefixes such text
cells with an apostrophe, the OWASP recommendation against CSV injection; numbers stay
numbers.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

import pandas as pd

MAX_TEAM_CHARS = 40
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class InputError(ValueError):
    """Input the page cannot use; the message is for the student."""


def clean_team(raw: object) -> str:
    """A team name fit to store and show, or :class:`InputError` with a readable reason."""
    if not isinstance(raw, str):
        raise InputError("Enter a team name.")
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise InputError(f"Enter a team name (1 to {MAX_TEAM_CHARS} characters).")
    if len(text) > MAX_TEAM_CHARS:
        raise InputError(
            f"The team name is {len(text)} characters long; use at most {MAX_TEAM_CHARS}."
        )
    return text


def team_key(name: str) -> str:
    """Names that differ only in case are the same team."""
    return name.casefold()


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet evaluates: text starting with a formula
    character (after any spaces) gets a leading apostrophe; numbers and empty cells are
    left alone."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV (with a byte-order mark for spreadsheets), every text cell
    through :func:`csv_cell` and quoted."""
    out = table.copy()
    out.columns = [csv_cell(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    buf = io.StringIO()
    out.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
