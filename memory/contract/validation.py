"""What a valid input is: the single definition used by the API (at the door) and by extraction (on the log).

Anything this module refuses would otherwise be refused later by a store or a filter language (PostgreSQL
has no NUL in text, Milvus filters are built from ids, Python's datetime overflows near years 1 and 9999), or
would silently become something else (``"alice\\n"`` is not ``"alice"``). Refusing it here, with the field
and the problem named, means a client hears about it as a 4xx instead of the turn vanishing into the
dead-letter topic, and a turn produced straight to Kafka is dead-lettered with the same reason.

Pure: no I/O. Every check raises ``InvalidInput`` (a ``TooLong`` when only the length is wrong, which the
API answers with 413) naming the field; extraction catches it as an ``InvalidEventError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from memory.errors import InvalidEventError

# Ids (app, user, agent, run, conversation, turn, memory): letters, digits and "_.:@-", matched whole.
ID_CHARS = r"A-Za-z0-9_.:@\-"
MAX_ID_CHARS = 200
# For JSON Schema and msgspec, which apply a pattern with re.search: Python's "$" also matches before a final
# "\n", so "alice\n" would pass "^...$"; the lookahead refuses it, and ECMA regexes (OpenAPI) read it the same.
ID_PATTERN = rf"^[{ID_CHARS}]+$(?!\n)"
_ID = re.compile(rf"[{ID_CHARS}]+")

# Text may hold line breaks and tabs; no other C0/C1 control character (NUL is what PostgreSQL refuses), and
# no lone surrogate (it cannot be encoded as UTF-8 on the way to Kafka).
_TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_TEXT_FORBIDDEN = re.compile(rf"[{_TEXT_CONTROLS}\ud800-\udfff]")
# Names and metadata keys are one line: no control character at all.
_LINE_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_LINE_FORBIDDEN = re.compile(rf"[{_LINE_CONTROLS}\ud800-\udfff]")
# What str.strip() removes (str.isspace()), spelled out: "\s" differs between Python and ECMA regexes.
_SPACES = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The same rules as patterns for the OpenAPI schema, so that clients and fuzzers know them. Documentation
# only: the checks below refuse with a message naming the character and its position. Lone surrogates are
# left out (ECMA and Rust regexes cannot name them; no JSON encoder sends one).
TEXT_PATTERN = rf"^[^{_TEXT_CONTROLS}]*[^{_TEXT_CONTROLS}{_SPACES}][^{_TEXT_CONTROLS}]*$"
NAME_PATTERN = rf"^[^{_LINE_CONTROLS}]*$(?!\n)"
METADATA_KEY_PATTERN = rf"^[^{_LINE_CONTROLS}]*[^{_LINE_CONTROLS}{_SPACES}][^{_LINE_CONTROLS}]*$(?!\n)"
METADATA_VALUE_PATTERN = rf"^[^{_TEXT_CONTROLS}]*$"
# A core memory block's text (a value, content to append, a replacement): text's rule, but it may be empty or blank.
BLOCK_TEXT_PATTERN = rf"^[^{_TEXT_CONTROLS}]*$"

MAX_NAME_CHARS = 200
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_CHARS = 100
MAX_METADATA_VALUE_CHARS = 1_000

# Every timestamp must carry a time zone and fall in this window: PostgreSQL, Neo4j, Milvus (epoch
# milliseconds) and Avro all represent it, and date arithmetic on it ("last 10 years", decay over centuries)
# stays far from datetime's limits (years 1 and 9999). The temporal parser clamps to the same constants.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


class InvalidInput(InvalidEventError):
    """One field breaks a rule; the message starts with the field's name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


class TooLong(InvalidInput):
    """The field is valid but for its length."""


def _describe(char: str) -> str:
    return "a NUL character" if char == "\x00" else f"the control character U+{ord(char):04X}"


def check_id(value: str, field: str) -> None:
    if not value:
        raise InvalidInput(field, "is empty")
    if len(value) > MAX_ID_CHARS:
        raise TooLong(field, f"has {len(value)} characters; the limit is {MAX_ID_CHARS}")
    if not _ID.fullmatch(value):
        raise InvalidInput(field, f"{value!r} may only contain letters, digits and '_.:@-'")


def check_optional_id(value: str | None, field: str) -> None:
    if value is not None:
        check_id(value, field)


def check_text(value: str, field: str, max_chars: int) -> None:
    """Conversation text, a memory's corrected text, a query: not blank, no control characters, bounded."""
    if not value.strip():
        raise InvalidInput(field, "is empty")
    if len(value) > max_chars:
        raise TooLong(field, f"has {len(value)} characters; the limit is {max_chars}")
    if found := _TEXT_FORBIDDEN.search(value):
        raise InvalidInput(field, f"contains {_describe(found.group())} at position {found.start()}")


def check_block_text(value: str, field: str) -> None:
    """A core memory block's text: may be empty; no control characters but tab and line breaks (its length is
    the block's limit, ``memory.blocks.rules``)."""
    if found := _TEXT_FORBIDDEN.search(value):
        raise InvalidInput(field, f"contains {_describe(found.group())} at position {found.start()}")


def check_name(value: str | None, field: str) -> None:
    """A speaker's name: optional, one line, bounded."""
    if value is None:
        return
    if len(value) > MAX_NAME_CHARS:
        raise TooLong(field, f"has {len(value)} characters; the limit is {MAX_NAME_CHARS}")
    if found := _LINE_FORBIDDEN.search(value):
        raise InvalidInput(field, f"contains {_describe(found.group())}")


def check_metadata(metadata: Mapping[str, str], field: str = "metadata") -> None:
    if len(metadata) > MAX_METADATA_KEYS:
        raise TooLong(field, f"has {len(metadata)} keys; the limit is {MAX_METADATA_KEYS}")
    for key, value in metadata.items():
        if not key.strip():
            raise InvalidInput(field, "has an empty key")
        if len(key) > MAX_METADATA_KEY_CHARS:
            limit = MAX_METADATA_KEY_CHARS
            raise TooLong(f"{field} key {key[:20]!r}...", f"has {len(key)} characters; the limit is {limit}")
        if found := _LINE_FORBIDDEN.search(key):
            raise InvalidInput(f"{field} key {key!r}", f"contains {_describe(found.group())}")
        if not isinstance(value, str):
            raise InvalidInput(f"{field}[{key!r}]", "must be a string")
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise TooLong(f"{field}[{key!r}]", f"has {len(value)} characters; the limit is {MAX_METADATA_VALUE_CHARS}")
        if found := _TEXT_FORBIDDEN.search(value):
            raise InvalidInput(f"{field}[{key!r}]", f"contains {_describe(found.group())}")


def check_timestamp(value: datetime | None, field: str) -> None:
    """Aware and within [EARLIEST, LATEST]. A naive timestamp is refused, never read as now or as UTC."""
    if value is None:
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "needs a time zone (e.g. 'Z' or '+02:00')")
    if not EARLIEST <= value <= LATEST:
        raise InvalidInput(field, f"{value.isoformat()} is outside {EARLIEST.isoformat()} .. {LATEST.isoformat()}")


__all__ = [
    "EARLIEST",
    "ID_PATTERN",
    "LATEST",
    "MAX_ID_CHARS",
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_CHARS",
    "MAX_METADATA_VALUE_CHARS",
    "MAX_NAME_CHARS",
    "METADATA_KEY_PATTERN",
    "METADATA_VALUE_PATTERN",
    "NAME_PATTERN",
    "TEXT_PATTERN",
    "InvalidInput",
    "TooLong",
    "check_id",
    "check_metadata",
    "check_name",
    "check_optional_id",
    "check_text",
    "check_timestamp",
]
