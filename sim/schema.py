"""Build typed dataclass configs from plain mappings, rejecting what does not fit.

Hydra composes YAML into plain mappings; :func:`build` turns one into the library's
dataclasses so that every value is checked *before* any work starts.  Unknown keys fail
with the nearest valid name (the habit of pymc-marketing's schemas), wrong types name
the dotted key, and range checks live in each dataclass's ``__post_init__``.  The
library never imports Hydra; this module is the whole bridge.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


def suggest(name: str, choices: Sequence[str]) -> str:
    """Return a ' Did you mean ...?' hint for the nearest valid name, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def choice(where: str, value: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``; raise naming the key otherwise."""
    if value not in choices:
        raise ConfigError(
            f"{where}: {value!r} is not a valid choice; valid choices: "
            f"{', '.join(choices)}.{suggest(str(value), choices)}"
        )
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
    bad = value != value  # NaN
    if lo is not None:
        bad |= value <= lo if lo_open else value < lo
    if hi is not None:
        bad |= value >= hi if hi_open else value > hi
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(
            f"{where} = {value!r} is out of range; it must lie in {left}{lo_s}, {hi_s}{right}."
        )


def _coerce(where: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(where, arg, value)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: cannot be None.")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, value, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        names = [m.value for m in tp]
        if isinstance(value, tp):
            return value
        choice(where, str(value), [str(n) for n in names])
        return tp(value)
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}.")
        kt, vt = args if args else (Any, Any)
        return {
            _coerce(f"{where}", kt, k): _coerce(f"{where}.{k}", vt, v) for k, v in value.items()
        }
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}.")
        item_t = args[0] if args else Any
        items = [_coerce(f"{where}[{i}]", item_t, v) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}.")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(
                f"{where}: expected an integer, got {type(value).__name__} {value!r}."
            )
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {type(value).__name__} {value!r}.")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {type(value).__name__} {value!r}.")
        return value
    return value


def build(cls: type[T], data: Mapping[str, Any] | T | None, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, checking keys and types recursively.

    ``where`` is the dotted path used in error messages (``market.tribes``).
    """
    if isinstance(data, cls):
        return data
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {data!r}.")
    assert dataclasses.is_dataclass(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            prefix = f"{where}." if where else ""
            raise ConfigError(
                f"Unknown key {prefix}{key!s}; valid keys: {', '.join(fields)}."
                f"{suggest(str(key), list(fields))}"
            )
    kwargs = {}
    for name in fields:
        if name in data:
            kwargs[name] = _coerce(f"{where}.{name}" if where else name, hints[name], data[name])
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if where and not str(exc).startswith(where):
            raise ConfigError(f"{where}.{exc}") from None
        raise
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


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
