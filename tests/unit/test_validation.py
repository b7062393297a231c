"""memory.contract.validation: the one definition of a valid input, class by class, and the turn rule built on it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory.contract.validation import (
    EARLIEST,
    ID_PATTERN,
    LATEST,
    MAX_ID_CHARS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_NAME_CHARS,
    InvalidInput,
    TooLong,
    check_id,
    check_metadata,
    check_name,
    check_optional_id,
    check_text,
    check_timestamp,
)
from memory.errors import InvalidEventError
from memory.ingest.derivation import is_valid_turn, validate_turn
from tests.support import make_turn

CONTROL = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f"]


@pytest.mark.parametrize("value", ["alice", "u-1", "a.b:c@d_e", "x" * MAX_ID_CHARS, "6f1c9a52-3d1e-5b8e-9a3c"])
def test_good_ids_pass_both_the_check_and_the_schema_pattern(value: str) -> None:
    check_id(value, "user_id")
    assert re.search(ID_PATTERN, value)  # msgspec and Litestar apply the pattern with re.search


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("alice\n", "may only contain"),  # "$" alone would let this through
        ("\nalice", "may only contain"),
        ("ali ce", "may only contain"),
        ("alice\x00", "may only contain"),
        ('a" or user_id != "', "may only contain"),  # would break out of a Milvus filter string
        ("x" * (MAX_ID_CHARS + 1), "the limit is 200"),
    ],
)
def test_bad_ids_are_refused_by_the_check_and_by_the_schema_pattern(value: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=f"^user_id .*{re.escape(problem)}"):
        check_id(value, "user_id")
    if len(value) <= MAX_ID_CHARS:
        assert re.search(ID_PATTERN, value) is None


def test_optional_ids_may_be_absent_but_not_invalid() -> None:
    check_optional_id(None, "agent_id")
    with pytest.raises(InvalidInput, match="agent_id"):
        check_optional_id("bot\n", "agent_id")


def test_text_keeps_line_breaks_and_tabs() -> None:
    check_text("line one\nline two\r\n\tindented", "text", 100)


@pytest.mark.parametrize("char", CONTROL)
def test_text_with_a_control_character_is_refused_naming_it_and_where(char: str) -> None:
    with pytest.raises(InvalidInput, match=r"^text contains .* at position 5$") as caught:
        check_text(f"hello{char}world", "text", 100)
    assert f"U+{ord(char):04X}" in str(caught.value) or "NUL" in str(caught.value)
    assert not isinstance(caught.value, TooLong)


@pytest.mark.parametrize("value", ["", " ", "\n\t  \r\n"])
def test_empty_or_blank_text_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match=r"^text is empty$"):
        check_text(value, "text", 100)


def test_text_over_the_limit_is_too_long_and_at_the_limit_is_fine() -> None:
    check_text("x" * 100, "text", 100)
    with pytest.raises(TooLong, match="has 101 characters; the limit is 100"):
        check_text("x" * 101, "text", 100)


@pytest.mark.parametrize("name", [None, "", "Maria", "Jean-Luc Picard", "Zoë Ñúñez", "x" * MAX_NAME_CHARS])
def test_names_may_be_absent_or_any_single_line(name: str | None) -> None:
    check_name(name, "speaker")  # raises if refused


@pytest.mark.parametrize("name", ["Maria\n", "Ma\x00ria", "Ma\tria", "x\x1b[31m"])
def test_a_name_with_any_control_character_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"^speaker contains"):
        check_name(name, "speaker")


def test_a_name_over_the_limit_is_too_long() -> None:
    with pytest.raises(TooLong, match="speaker has 201"):
        check_name("x" * (MAX_NAME_CHARS + 1), "speaker")


def test_good_metadata_passes() -> None:
    check_metadata(
        {"source": "e2e", "note": "two\nlines", "k" * MAX_METADATA_KEY_CHARS: "v" * MAX_METADATA_VALUE_CHARS}
    )


@pytest.mark.parametrize(
    ("metadata", "pattern", "too_long"),
    [
        ({"bad\x00key": "v"}, r"metadata key 'bad\\x00key' contains a NUL", False),
        ({"line\nkey": "v"}, "metadata key .* contains the control character U\\+000A", False),
        ({"k": "v\x00"}, r"metadata\['k'\] contains a NUL", False),
        ({"k": "v\x1b"}, r"metadata\['k'\] contains the control character U\+001B", False),
        ({" ": "v"}, "metadata has an empty key", False),
        ({"k" * (MAX_METADATA_KEY_CHARS + 1): "v"}, "the limit is 100", True),
        ({"k": "v" * (MAX_METADATA_VALUE_CHARS + 1)}, r"metadata\['k'\] has 1001 characters", True),
        ({f"k{i}": "v" for i in range(MAX_METADATA_KEYS + 1)}, "metadata has 51 keys; the limit is 50", True),
    ],
)
def test_bad_metadata_is_refused_naming_the_key(metadata: dict[str, str], pattern: str, too_long: bool) -> None:
    with pytest.raises(InvalidInput, match=pattern) as caught:
        check_metadata(metadata)
    assert isinstance(caught.value, TooLong) is too_long


@pytest.mark.parametrize(
    "moment",
    [
        None,
        EARLIEST,
        LATEST,
        datetime(2026, 3, 1, 12, tzinfo=UTC),
        datetime(2026, 3, 1, 12, tzinfo=timezone(timedelta(hours=-5))),
        # 1899-12-31 23:00 at UTC-2 is 1900-01-01 01:00 UTC: the window is in UTC, whatever the offset.
        datetime(1899, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
    ],
)
def test_aware_timestamps_in_the_window_pass(moment: datetime | None) -> None:
    check_timestamp(moment, "occurred_at")


def test_a_naive_timestamp_is_refused_asking_for_a_time_zone() -> None:
    with pytest.raises(InvalidInput, match=r"^occurred_at needs a time zone"):
        check_timestamp(datetime(2026, 3, 1, 12), "occurred_at")


@pytest.mark.parametrize(
    "moment",
    [
        EARLIEST - timedelta(microseconds=1),
        LATEST + timedelta(microseconds=1),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # astimezone(UTC) would overflow
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    ],
)
def test_timestamps_outside_the_window_are_refused(moment: datetime) -> None:
    with pytest.raises(InvalidInput, match=r"^as_of .* is outside 1900-01-01T00:00:00\+00:00 \.\. 2999-12-31"):
        check_timestamp(moment, "as_of")


def test_refusals_are_invalid_events_so_extraction_dead_letters_them() -> None:
    assert issubclass(InvalidInput, InvalidEventError) and issubclass(TooLong, InvalidInput)


GOOD = make_turn("u1", "I keep bees in Lyon.", "1")


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        (replace(GOOD, text="bees\x00"), "turn text contains a NUL character"),
        (replace(GOOD, text=" \n "), "turn text is empty"),
        (replace(GOOD, text="x" * 20_001), "the limit is 20000"),
        (make_turn("u1\n", "I keep bees.", "1"), r"scope.user_id 'u1\\n' may only contain"),
        (make_turn("u1", "I keep bees.", "1", app_id="default\n"), "scope.app_id"),
        (replace(GOOD, conversation_id="c 1"), "conversation_id"),
        (replace(GOOD, turn_id=""), "turn_id is empty"),
        (replace(GOOD, speaker="Alice\n"), "speaker contains"),
        (replace(GOOD, metadata={"k\x00": "v"}), "metadata key"),
        (replace(GOOD, metadata={"k": "v\x00"}), r"metadata\['k'\]"),
        (make_turn("u1", "I keep bees.", "1", occurred_at=datetime(1800, 1, 1, tzinfo=UTC)), "occurred_at"),
        (replace(GOOD, role="robot"), "role 'robot'"),
    ],
)
def test_validate_turn_applies_the_shared_definition(turn: object, reason: str) -> None:
    assert isinstance(turn, type(GOOD))
    with pytest.raises(InvalidEventError, match=reason):
        validate_turn(turn)
    assert not is_valid_turn(turn)


def test_a_good_turn_is_valid_and_the_limit_is_the_callers() -> None:
    validate_turn(GOOD)
    assert is_valid_turn(GOOD)
    assert not is_valid_turn(GOOD, max_chars=5)
