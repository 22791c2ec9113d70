"""One schema for every configuration: ranges beside the fields, all errors at once.

Every config of the library (market, economics, strategies, estimators, data sets, pilots)
is a dataclass whose fields declare what they accept with :func:`spec` (a range, a set of
choices, the keys a table must have); :func:`build` turns a plain mapping (a composed Hydra
config, a parsed YAML file, a dict in a notebook) into that dataclass and reports *every*
problem of the whole mapping at once, each with its dotted key: unknown keys (with the
nearest valid name, the habit of pymc-marketing's schemas), wrong types, values out of
range or not among the choices.  Constraints between fields (shares that sum to one, a
window that ends after it starts) live in each dataclass's ``__post_init__`` and run once
its fields are valid.  Building a dataclass directly in Python checks the same specs
(:func:`check_fields`), so no invalid config exists anywhere.

The library never imports Hydra; this module is the whole bridge.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """Configuration values that cannot be used; each message names its dotted key.

    ``errors`` lists every problem found; ``str()`` is the one message, or a numbered
    list when there are several.
    """

    def __init__(self, errors: str | Sequence[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        if len(self.errors) == 1:
            text = self.errors[0]
        else:
            text = f"{len(self.errors)} problems:\n" + "\n".join(
                f"  {i}. {e}" for i, e in enumerate(self.errors, 1)
            )
        super().__init__(text)

    def prefixed(self, where: str) -> ConfigError:
        """The same errors with ``where.`` in front of keys that do not start with it."""
        if not where:
            return self
        return ConfigError([e if e.startswith(where) else f"{where}.{e}" for e in self.errors])


def suggest(name: str, choices: Sequence[str]) -> str:
    """Return a ' Did you mean ...?' hint for the nearest valid name, or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


# ----------------------------------------------------------------------------- field specs


@dataclass(frozen=True)
class Spec:
    """What one field accepts.  ``each``: the range or choices apply to every item of a
    list or every value of a table; ``keys``: the exact keys a table must have."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] | None = None
    keys: tuple[str, ...] | None = None
    each: bool = False

    def interval(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{left}{lo}, {hi}{right}"

    def errors(self, where: str, value: Any) -> list[str]:
        """Problems of ``value`` (already of the field's type) under this spec."""
        out: list[str] = []
        if self.keys is not None and isinstance(value, Mapping):
            out += key_errors(where, value, self.keys)
        if self.each and isinstance(value, Mapping):
            items: list[tuple[str, Any]] = [(f"{where}.{k}", v) for k, v in value.items()]
        elif self.each and isinstance(value, list | tuple):
            items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(where, value)]
        for key, v in items:
            out += self._value_errors(key, v)
        return out

    def _value_errors(self, where: str, value: Any) -> list[str]:
        if value is None:
            return []
        if self.choices is not None:
            return [] if value in self.choices else [choice_error(where, value, self.choices)]
        if self.lo is None and self.hi is None:
            return []
        if not _out_of_range(value, self.lo, self.hi, self.lo_open, self.hi_open):
            return []
        return [f"{where} = {value!r} is out of range; it must lie in {self.interval()}."]


def spec(
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    each: bool = False,
) -> Any:
    """A dataclass field with what it accepts declared beside it.

    ``spec(0.1, lo=0, hi=1, lo_open=True)`` is a number in (0, 1] defaulting to 0.1;
    ``spec(factory=list, choices=KINDS, each=True)`` a list of names from ``KINDS``;
    ``spec(factory=..., keys=CHANNELS, lo=0, each=True)`` a table with one non-negative
    value per channel.
    """
    meta = spec_metadata(
        lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, choices=choices, keys=keys, each=each
    )
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def spec_metadata(
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    each: bool = False,
) -> dict[str, Spec]:
    """The metadata :func:`spec` attaches, for a required field declared with
    ``dataclasses.field(metadata=spec_metadata(...))`` (a field without a default)."""
    return {
        "spec": Spec(
            lo,
            hi,
            lo_open,
            hi_open,
            None if choices is None else tuple(choices),
            None if keys is None else tuple(keys),
            each,
        )
    }


def _out_of_range(
    value: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool
) -> bool:
    bad = value != value  # NaN
    if lo is not None:
        bad |= value <= lo if lo_open else value < lo
    if hi is not None:
        bad |= value >= hi if hi_open else value > hi
    return bool(bad)


def choice_error(where: str, value: Any, choices: Sequence[str]) -> str:
    return (
        f"{where}: {value!r} is not a valid choice; valid choices: "
        f"{', '.join(map(str, choices))}.{suggest(str(value), choices)}"
    )


def key_errors(where: str, table: Mapping[Any, Any], valid: Sequence[str]) -> list[str]:
    """Unknown and missing keys of a table that must have exactly the keys ``valid``.

    A missing key that is the nearest name of an unknown one is that key misspelt: it is
    reported once, as the unknown key with its suggestion."""
    out: list[str] = []
    suggested: set[str] = set()
    for k in table:
        if k not in valid:
            hint = suggest(str(k), valid)
            suggested.update(c for c in valid if hint == f" Did you mean {c!r}?")
            out.append(f"{where}: unknown name {k!r}; valid choices: {', '.join(valid)}.{hint}")
    missing = [k for k in valid if k not in table and k not in suggested]
    if missing:
        out.append(f"{where}: missing entries for {', '.join(missing)}.")
    return out


def spec_errors(obj: Any) -> list[str]:
    """Every field of the dataclass instance ``obj`` that breaks its :func:`spec`."""
    out: list[str] = []
    for f in dataclasses.fields(obj):
        s = f.metadata.get("spec")
        if s is not None:
            out += s.errors(f.name, getattr(obj, f.name))
    return out


def check_fields(obj: Any) -> None:
    """Raise one :class:`ConfigError` listing every field of ``obj`` out of its spec.

    Call it first in a config dataclass's ``__post_init__``."""
    errors = spec_errors(obj)
    if errors:
        raise ConfigError(errors)


# ----------------------------------------------------------------------------- helpers


def choice(where: str, value: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``; raise naming the key otherwise."""
    if value not in choices:
        raise ConfigError(choice_error(where, value, choices))
    return value


def check_range(
    where: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` lies in the stated interval."""
    errors = Spec(lo, hi, lo_open, hi_open).errors(where, value)
    if errors:
        raise ConfigError(errors)


# ----------------------------------------------------------------------------- building


def _coerce(where: str, tp: Any, value: Any, errors: list[str]) -> Any:
    """``value`` as type ``tp``; problems go to ``errors`` (the value is then returned as is)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        first: list[str] | None = None
        for arg in args:
            if arg is type(None):
                continue
            attempt: list[str] = []
            out = _coerce(where, arg, value, attempt)
            if not attempt:
                return out
            first = first if first is not None else attempt
        errors.extend(first or [f"{where}: cannot be null."])
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        try:
            return build(tp, value, where)
        except ConfigError as exc:
            errors.extend(exc.errors)
            return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        names = [str(m.value) for m in tp]
        if str(value) not in names:
            errors.append(choice_error(where, value, names))
            return value
        return tp(value)
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            errors.append(f"{where}: expected a mapping, got {type(value).__name__} {value!r}.")
            return value
        kt, vt = args if args else (Any, Any)
        return {
            _coerce(where, kt, k, errors): _coerce(f"{where}.{k}", vt, v, errors)
            for k, v in value.items()
        }
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            errors.append(f"{where}: expected a list, got {type(value).__name__} {value!r}.")
            return value
        item_t = args[0] if args else Any
        items = [_coerce(f"{where}[{i}]", item_t, v, errors) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(f"{where}: expected true or false, got {value!r}.")
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{where}: expected an integer, got {type(value).__name__} {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{where}: expected a number, got {type(value).__name__} {value!r}.")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            errors.append(f"{where}: expected a string, got {type(value).__name__} {value!r}.")
        return value
    return value


def build(cls: type[T], data: Mapping[str, Any] | T | None, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, checking keys, types and specs recursively.

    ``where`` is the dotted path used in error messages (``market.tribes``).  Every
    problem of the mapping is collected and raised as one :class:`ConfigError`.
    """
    if isinstance(data, cls):
        return data
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {data!r}.")
    assert dataclasses.is_dataclass(cls)
    prefix = f"{where}." if where else ""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    errors = [
        f"Unknown key {prefix}{key!s}; valid keys: {', '.join(fields)}."
        f"{suggest(str(key), list(fields))}"
        for key in data
        if key not in fields
    ]
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                errors.append(f"{prefix}{name}: a value is required.")
            continue
        field_errors: list[str] = []
        value = _coerce(f"{prefix}{name}", hints[name], data[name], field_errors)
        s = f.metadata.get("spec")
        if not field_errors and s is not None:
            field_errors = s.errors(f"{prefix}{name}", value)
        errors += field_errors
        kwargs[name] = value
    if errors:
        raise ConfigError(errors)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise exc.prefixed(where) from None


def to_dict(obj: Any) -> Any:
    """Turn a (nested) config dataclass back into plain JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    return obj
