"""A tool call's ``arguments``: an object, or the JSON text of one, as a model emits it; checked against the
tool's argument struct, strictly. Whatever is wrong is a 422 naming the tool and the argument."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec

from api.errors import Unprocessable
from memory.contract.validation import InvalidInput, check_text

T = TypeVar("T")


class BadArguments(Unprocessable):
    def __init__(self, tool: str, problem: str):
        super().__init__(f"bad arguments for {tool}: {problem}")


def parse_arguments(tool: str, raw: dict[str, Any] | str) -> dict[str, Any]:
    """The arguments as an object; a blank string is no arguments (some models send "" for none)."""
    if isinstance(raw, dict):
        return raw
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadArguments(tool, f"arguments is not valid JSON ({exc})") from None
    except RecursionError:
        raise BadArguments(tool, "arguments is nested too deeply") from None
    if not isinstance(value, dict):
        raise BadArguments(tool, f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def read(tool: str, arguments: dict[str, Any], into: type[T]) -> T:
    """``arguments`` as ``into`` (a msgspec struct with ``forbid_unknown_fields``): msgspec's message names the
    missing, unknown or mistyped argument (``Expected `int`, got `str` - at `$.page```)."""
    try:
        return msgspec.convert(arguments, type=into, strict=True)
    except msgspec.ValidationError as exc:
        raise BadArguments(tool, str(exc)) from None


def text_argument(tool: str, value: str, name: str, max_chars: int) -> None:
    """Not blank, no control characters, within ``max_chars``."""
    try:
        check_text(value, name, max_chars)
    except InvalidInput as exc:
        raise BadArguments(tool, str(exc)) from None


def page_argument(tool: str, page: int | None, last: int) -> int:
    page = page or 0
    if not 0 <= page <= last:
        raise BadArguments(tool, f"page must be between 0 and {last}, got {page}")
    return page
