"""Generic conversion between the frozen event dataclasses and the plain dicts fastavro reads and writes.

Decoding sits on every consumer's hot path, so each dataclass's field converters are worked out once from
its type hints and cached, not re-derived per message.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
Converter = Callable[[Any], Any]


def to_record(obj: Any) -> Any:
    """Dataclass → dict, tuples → lists, recursively; everything else as is."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_record(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_record(item) for item in obj]
    if isinstance(obj, dict):
        return {key: to_record(value) for key, value in obj.items()}
    return obj


def _identity(value: Any) -> Any:
    return value


def _datetime(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value


@cache
def _converter(tp: Any) -> Converter:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        convert = _converter(inner[0]) if len(inner) == 1 else _identity
        return lambda value: None if value is None else convert(value)
    if origin is tuple:
        item_type = typing.get_args(tp)[0]
        if item_type is float:
            return lambda value: tuple(map(float, value))  # vectors: keep this path tight
        if item_type in (str, int, bytes):
            return tuple
        item = _converter(item_type)
        return lambda value: tuple(item(v) for v in value)
    if origin is dict:
        return dict
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda value: from_record(tp, value)
    if tp is float:
        return float
    if tp is datetime:
        return _datetime
    return _identity


@cache
def _field_converters(cls: type) -> tuple[tuple[str, Converter], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))


def from_record(cls: type[T], record: dict[str, Any]) -> T:
    """dict → dataclass, converting nested records by the dataclass's type hints."""
    converters = _field_converters(cls)  # type: ignore[arg-type]  # dataclass types are hashable
    kwargs = {name: convert(record[name]) for name, convert in converters if name in record}
    return cls(**kwargs)
