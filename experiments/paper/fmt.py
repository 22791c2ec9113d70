"""How a number is written in the paper, by unit, and how to read it back.

One writer for every quoted number and table cell (the paper never formats a result in
Typst), and its inverse for the tests: :func:`parse` reads a shown text back to a float
and :func:`tolerance` is half a unit of its last shown digit, so "the PDF shows the
generated value" is checked as ``|parse(text) - value| <= tolerance(text)``.

Units:

* ``currency``: whole units of the market's currency with thousands separators;
* ``count``: an integer with thousands separators;
* ``share``: a fraction shown as a percentage with one decimal (``0.0348 -> 3.5 %``);
* ``pp``: a difference of fractions in percentage points, two decimals, signed;
* ``percent2``: a fraction as a percentage with two decimals (rates of the Hillstrom file);
* ``z``: a standardised difference, two decimals, signed;
* ``index``: a sensitivity index or a ratio, two decimals;
* ``number``: three significant digits, trailing zeros dropped (model constants, parameter
  values: ``0.5``, ``0.00147``, ``1``);
* ``label`` (a name), ``flag`` (true/false), ``list`` (JSON list): not numbers.

Negative numbers use the minus sign (U+2212), as typeset mathematics does.  Only the
tests read numbers back (:func:`parse`, :func:`tolerance`).
"""

from __future__ import annotations

import math
import re
from typing import Any

MINUS = "\u2212"
NUMERIC_UNITS = ("currency", "count", "share", "pp", "percent2", "z", "index", "number")
UNITS = (*NUMERIC_UNITS, "label", "flag", "list")


class FormatError(ValueError):
    """A value that cannot be written in the unit asked for."""


def _signed(text: str, value: float, plus: bool) -> str:
    if text.lstrip("-").strip("0.,") == "":  # rounds to zero: no sign
        return text.lstrip("-")
    if text.startswith("-"):
        return MINUS + text[1:]
    return ("+" + text) if plus and value > 0 else text


def _sig(value: float, digits: int = 3) -> str:
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def text(value: Any, unit: str) -> str:
    """``value`` written in ``unit`` (see the module docstring)."""
    if unit not in UNITS:
        raise FormatError(f"unknown unit {unit!r}; valid units: {', '.join(UNITS)}")
    if unit == "label":
        return str(value)
    if unit == "flag":
        return "yes" if bool(value) else "no"
    if unit == "list":
        return ", ".join(str(v) for v in value)
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{value!r} is not a number (unit {unit})") from exc
    if not math.isfinite(v):
        return "n/a"
    if unit == "currency":
        return _signed(f"{v:,.0f}", v, plus=False)
    if unit == "count":
        return _signed(f"{round(v):,d}", v, plus=False)
    if unit == "share":
        return _signed(f"{100 * v:,.1f}", v, plus=False) + " %"
    if unit == "percent2":
        return _signed(f"{100 * v:,.2f}", v, plus=False) + " %"
    if unit == "pp":
        return _signed(f"{100 * v:,.2f}", v, plus=True)
    if unit == "z":
        return _signed(f"{v:,.2f}", v, plus=True)
    if unit == "index":
        return _signed(f"{v:,.2f}", v, plus=False)
    shown = _sig(v)
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    return _signed(shown, v, plus=False)


_NUMBER = re.compile(r"^([+\-\u2212]?)([\d,]*\.?\d+)( %)?$")


PERCENT_UNITS = ("share", "percent2", "pp")


def parse(shown: str, unit: str) -> float:
    """The number a shown text stands for, in the unit's own scale (a fraction for the
    percentage units)."""
    m = _NUMBER.match(shown.strip())
    if not m:
        raise FormatError(f"{shown!r} is not a number as the paper writes one")
    sign = -1.0 if m.group(1) in ("-", MINUS) else 1.0
    v = sign * float(m.group(2).replace(",", ""))
    return v / 100 if unit in PERCENT_UNITS else v


def tolerance(shown: str, unit: str) -> float:
    """Half a unit of the last digit ``shown`` (in the unit's own scale, a fraction for
    percentages and percentage points)."""
    m = _NUMBER.match(shown.strip())
    if not m:
        raise FormatError(f"{shown!r} is not a number as the paper writes one")
    digits = m.group(2)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    half = 0.5 * 10.0**-decimals
    scale = 0.01 if unit in PERCENT_UNITS else 1.0
    return half * scale * (1 + 1e-9) + 1e-12
