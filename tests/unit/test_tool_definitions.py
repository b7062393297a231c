"""The tool schemas a model is given agree with what the handlers accept, and the pure parts of the tools,
the conversation window and the idempotency key rules read input as documented."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from api.conversations.search import bound
from api.errors import InvalidRequest
from api.idempotency.middleware import key_of
from api.idempotency.store import fingerprint
from api.tools import archival, definitions, recall
from api.tools.arguments import BadArguments, parse_arguments
from api.tools.registry import REGISTRY

STRUCTS: dict[str, type[msgspec.Struct]] = {
    "archival_memory_insert": archival.InsertArguments,
    "archival_memory_search": archival.SearchArguments,
    "conversation_search": recall.SearchArguments,
}
JSON_TYPES = {str: "string", int: "integer"}


def test_the_registry_lists_the_tools_in_the_contracts_order() -> None:
    order = [definitions.name_of(d) for d in definitions.ALL]
    assert order == [
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    ]
    assert list(REGISTRY) == [name for name in order if name in REGISTRY]


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_each_schema_names_the_arguments_its_handler_reads(name: str) -> None:
    parameters: dict[str, Any] = REGISTRY[name].definition["function"]["parameters"]
    fields = msgspec.structs.fields(STRUCTS[name])
    assert set(parameters["properties"]) == {f.encode_name for f in fields}
    assert set(parameters["required"]) == {f.encode_name for f in fields if f.required}
    for field in fields:
        kind = field.type if field.required else next(t for t in field.type.__args__ if t is not type(None))
        assert parameters["properties"][field.encode_name]["type"] == JSON_TYPES[kind]
    assert parameters["additionalProperties"] is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('{"query": "bees"}', {"query": "bees"}), ({"query": "bees"}, {"query": "bees"}), ("  ", {})],
)
def test_arguments_are_an_object_or_its_json_text(raw: Any, expected: dict[str, Any]) -> None:
    assert parse_arguments("t", raw) == expected


@pytest.mark.parametrize(("raw", "says"), [("{", "not valid JSON"), ("[1]", "JSON object, got list"), ("3", "int")])
def test_other_arguments_are_refused_naming_the_tool(raw: str, says: str) -> None:
    with pytest.raises(BadArguments, match=f"bad arguments for t: .*{says}"):
        parse_arguments("t", raw)


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2026-03-02", False, datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-03-02", True, datetime(2026, 3, 3, tzinfo=UTC)),  # the whole day
        ("2026-03-02T10:00:00+02:00", False, datetime(2026, 3, 2, 8, tzinfo=UTC)),
        ("2026-03-02t10:00:00z", True, datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=UTC)),
        ("9999-12-31", True, None),  # no day after it: no upper bound
    ],
)
def test_a_window_bound_is_a_utc_instant(value: str, end: bool, expected: datetime | None) -> None:
    assert bound(value, "end_date" if end else "start_date", end) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "2026-03-02T10:00:00", "2026-03-02 10:00:00Z", "yesterday", ""])
def test_other_bounds_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidRequest, match="start_date must be a date"):
        bound(value, "start_date", end=False)


def test_a_fingerprint_tells_every_part_of_a_request_apart() -> None:
    base = fingerprint("POST", "/v1/memories", b"", b"{}")
    assert base == fingerprint("post", "/v1/memories", b"", b"{}")
    others = {
        fingerprint("PUT", "/v1/memories", b"", b"{}"),
        fingerprint("POST", "/v1/memories/", b"", b"{}"),
        fingerprint("POST", "/v1/memories", b"a=1", b"{}"),
        fingerprint("POST", "/v1/memories", b"", b"{ }"),
        fingerprint("POST", "/v1/memorie", b"s", b"{}"),  # the same bytes split elsewhere
    }
    assert base not in others and len(others) == 5


def test_an_idempotency_key_is_visible_ascii_sent_once() -> None:
    def scope(*values: bytes) -> Any:
        return {"headers": [(b"idempotency-key", v) for v in values]}

    assert key_of(scope()) is None
    assert key_of(scope(b"3f2a-!~")) == "3f2a-!~"
    for bad in (b"", b"a b", b"x" * 256, "é".encode(), b"a\tb"):
        with pytest.raises(InvalidRequest, match="visible ASCII"):
            key_of(scope(bad))
    with pytest.raises(InvalidRequest, match="send one Idempotency-Key header, not 2"):
        key_of(scope(b"a", b"b"))


@pytest.mark.parametrize("name", ["core_memory_append", "core_memory_replace"])
def test_the_core_memory_tools_schemas_name_the_arguments_their_handlers_read(name: str) -> None:
    from api.blocks.tool_handlers import ARGUMENTS

    parameters: dict[str, Any] = REGISTRY[name].definition["function"]["parameters"]
    assert list(parameters["properties"]) == list(ARGUMENTS[name])
    assert parameters["required"] == list(ARGUMENTS[name])
    assert {p["type"] for p in parameters["properties"].values()} == {"string"}
    assert parameters["additionalProperties"] is False
    assert REGISTRY[name].needs.value == "memories:write"
