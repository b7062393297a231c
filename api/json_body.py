"""JSON bodies are read as JSON says: nested too deeply is a 400, and a value of the wrong type is a 400.

Depth: msgspec decodes nested arrays and objects recursively and gives up with ``RecursionError`` near
Python's recursion limit (about a thousand levels); ``[[[[...]]]]`` 100,000 deep fits well within the body
size limit. No request of this API nests more than four levels, so a body deep enough to hit that limit is
refused here, where it is decoded, instead of reaching the generic 500 handler, which is left for real bugs.

Types: Litestar converts the decoded body to the handler's struct leniently (``strict=False``, which query
strings need): ``"true"`` would become a boolean and ``1700000000`` a datetime, though the schema says boolean
and RFC 3339 text. The body is checked strictly against the same struct first, so what the schema refuses
is refused, with msgspec's message naming the field. One leniency stays, JSON Schema's own: ``16.0`` is an
integer. Timestamps are RFC 3339 ``date-time`` as JSON Schema reads it: msgspec also takes a space for the
"T" and an offset without its colon, which the schema's ``format`` refuses, so the body's text is checked too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException
from msgspec import inspect


class JsonBodyRequest(Request[Any, Any, Any]):
    """Litestar's request with a bounded-depth, type-strict ``json()``."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply to decode; no request nests so deep") from None
        data = self.route_handler.parsed_data_field
        if data is not None:
            try:
                msgspec.convert(_integral_floats_as_ints(value), type=data.annotation, strict=True)
                _check_timestamp_text(value, _type_info(data.annotation))
            except (msgspec.ValidationError, ValueError) as exc:
                raise ValidationException(
                    detail=f"Validation failed for {self.method} {self.url.path}",
                    extra=[{"message": str(exc), "key": "data", "source": "body"}],
                ) from None
        return value


# The struct's type tree, built once per request type: msgspec builds it anew on every call (~0.3 ms a
# request, measured on the search route's cache hits).
_type_info = functools.cache(inspect.type_info)

# RFC 3339 date-time (JSON Schema's "date-time" format); the digits themselves msgspec has already checked.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _fields(kind: inspect.Type) -> Iterator[inspect.Type]:
    """The types a value of ``kind`` may be: the arms of a union, the type under Annotated metadata."""
    if isinstance(kind, inspect.Metadata):
        yield from _fields(kind.type)
    elif isinstance(kind, inspect.UnionType):
        for arm in kind.types:
            yield from _fields(arm)
    else:
        yield kind


def _check_timestamp_text(value: Any, kind: inspect.Type, where: str = "$") -> None:
    """Every datetime of the body, as sent, is RFC 3339 text (ValueError naming the field otherwise)."""
    for arm in _fields(kind):
        if isinstance(arm, inspect.DateTimeType) and isinstance(value, str) and not _RFC3339.fullmatch(value):
            raise ValueError(
                f"Expected an RFC 3339 date-time such as 2026-03-01T09:15:00Z, got {value!r} - at `{where}`"
            )
        if isinstance(arm, inspect.StructType) and isinstance(value, dict):
            for field in arm.fields:
                if field.encode_name in value:
                    _check_timestamp_text(value[field.encode_name], field.type, f"{where}.{field.encode_name}")


def _integral_floats_as_ints(value: Any) -> Any:
    """``16.0`` → ``16``, in JSON Schema's reading of "integer"; a float field still takes an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value
