"""What the API refuses before anything is produced: request bodies as decoded, the writer's turns, the 415 guard.

No network: bodies are decoded the way Litestar decodes them (msgspec), the writer is called without its
producer, the content-type guard runs on a one-route app of its own, and the list endpoint on one whose store
only records what it was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from litestar import Litestar, delete, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.testing import TestClient

from api.controllers import MemoriesController
from api.errors import EXCEPTION_HANDLERS, InvalidRequest, PayloadTooLarge
from api.gateway.authenticate import authentication
from api.gateway.tenancy import caller
from api.json_only import json_only
from api.schemas import AddMemoriesRequest, ContextRequest, MemoryList, SearchRequest
from api.services import Services
from api.writer import MemoryWriter
from memory.contract.events import Scope
from memory.settings import Settings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SCOPE = Scope("default", "u")


def add(**fields: Any) -> bytes:
    return msgspec.json.encode({"user_id": "u", "text": "I like tea", **fields})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (add(user_id="x\n"), "user_id"),  # "^...$" alone accepts a trailing newline
        (add(app_id="default\n"), "app_id"),
        (add(agent_id="bot\n"), "agent_id"),
        (add(run_id="r 1"), "run_id"),
        (add(conversation_id="c\n"), "conversation_id"),
        (add(session_id="morning chat"), "session_id"),
        (add(session_id=""), "session_id"),
        (add(user_id="x" * 201), "user_id"),
        (add(metadata={"bad\u0000key": "v"}), "metadata key 'bad\\x00key' contains a NUL character"),
        (add(metadata={"k": "v\u0000"}), "metadata['k'] contains a NUL character"),
        (add(metadata={"k" * 101: "v"}), "length <= 100"),
        (add(metadata={"k": "v" * 1001}), "length <= 1000"),
        (add(metadata={f"k{i}": "v" for i in range(51)}), "length <= 50"),
        (add(occurred_at="2026-03-01T12:00:00"), "timezone"),
        (add(occurred_at="1800-03-01T12:00:00Z"), "occurred_at 1800-03-01T12:00:00+00:00 is outside"),
        (add(occurred_at="9999-12-31T23:59:59+00:00"), "is outside"),
    ],
)
def test_a_write_body_breaking_a_rule_is_refused_while_decoding(body: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(body, type=AddMemoriesRequest)
    assert message in str(caught.value)


@pytest.mark.parametrize("field", ["reference_time", "as_of", "known_as_of"])
@pytest.mark.parametrize("kind", [SearchRequest, ContextRequest])
def test_search_and_context_times_need_a_time_zone(field: str, kind: type[msgspec.Struct]) -> None:
    body: dict[str, Any] = {"query": "tea", "user_id": "u", "max_tokens": 200}
    if kind is SearchRequest:
        del body["max_tokens"]
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        msgspec.json.decode(msgspec.json.encode({**body, field: "2026-03-01T12:00:00"}), type=kind)
    with pytest.raises(msgspec.ValidationError, match=f"{field} .* is outside"):
        msgspec.json.decode(msgspec.json.encode({**body, field: "0001-01-01T00:00:00Z"}), type=kind)
    good = msgspec.json.decode(msgspec.json.encode({**body, field: "2026-03-01T12:00:00+02:00"}), type=kind)
    assert getattr(good, field).utcoffset() is not None


@pytest.mark.parametrize("field", ["occurred_after", "occurred_before"])
def test_filter_times_need_a_time_zone_and_filter_metadata_the_rule(field: str) -> None:
    def search(filters: dict[str, Any]) -> bytes:
        return msgspec.json.encode({"query": "tea", "user_id": "u", "filters": filters})

    with pytest.raises(msgspec.ValidationError, match="timezone"):
        msgspec.json.decode(search({field: "2026-03-01T12:00:00"}), type=SearchRequest)
    with pytest.raises(msgspec.ValidationError, match=r"filters\.metadata key"):
        msgspec.json.decode(search({"metadata": {"a\u0000": "b"}}), type=SearchRequest)


def writer(max_chars: int = 100) -> MemoryWriter:
    settings = Settings(max_content_chars=max_chars)
    return MemoryWriter(settings, producer=None, codec=None, token_key=b"unit-test-key")  # type: ignore[arg-type]


def decoded(**fields: Any) -> AddMemoriesRequest:
    return msgspec.json.decode(msgspec.json.encode({"user_id": "u", **fields}), type=AddMemoriesRequest)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"text": "tea\u0000"}, InvalidRequest, "text contains a NUL character at position 3"),
        ({"text": "tea\u001b[0m"}, InvalidRequest, "text contains the control character U+001B"),
        ({"text": " \n "}, InvalidRequest, "text is empty"),
        ({"text": "x" * 101}, PayloadTooLarge, "text has 101 characters; the limit is 100"),
        (
            {"messages": [{"role": "user", "content": "fine"}, {"role": "user", "content": "bad\u0000"}]},
            InvalidRequest,
            "messages[1].content contains a NUL",
        ),
        (
            {"messages": [{"role": "user", "content": "fine", "name": "Kim\n"}]},
            InvalidRequest,
            "messages[0].name contains the control character U+000A",
        ),
    ],
)
def test_the_writer_refuses_text_the_turn_rule_would_dead_letter(
    fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        writer().build_turns(decoded(**fields), SCOPE, NOW)
    assert message in str(caught.value)


def test_every_turn_of_a_request_carries_its_session_id_and_none_without_one() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    named = writer().build_turns(decoded(messages=messages, session_id="s-2026-05-08"), SCOPE, NOW)
    (unnamed,) = writer().build_turns(decoded(text="tea"), SCOPE, NOW)
    assert [t.session_id for t in named] == ["s-2026-05-08", "s-2026-05-08"]
    assert unnamed.session_id is None


def test_the_writer_keeps_the_given_time_and_uses_now_only_when_absent() -> None:
    (given,) = writer().build_turns(decoded(text="tea", occurred_at="2020-05-01T10:00:00+02:00"), SCOPE, NOW)
    (absent,) = writer().build_turns(decoded(text="tea"), SCOPE, NOW)
    assert given.envelope.occurred_at == datetime(2020, 5, 1, 8, tzinfo=UTC)
    assert absent.envelope.occurred_at == NOW


@post("/write", status_code=200)
async def write(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return data


@delete("/write", status_code=202)
async def remove() -> None:
    return None


@pytest.fixture(scope="module")
def guarded() -> Any:
    with TestClient(Litestar([write, remove], guards=[json_only])) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "text/plain; charset=utf-8"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {},
    ],
)
def test_a_write_that_is_not_declared_json_is_415_even_if_the_body_is_json(guarded: Any, headers: Any) -> None:
    response = guarded.post("/write", content=b'{"a": 1}', headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]


def test_a_form_post_is_415(guarded: Any) -> None:
    assert guarded.post("/write", data={"user_id": "u", "text": "x"}).status_code == 415


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
def test_json_writes_pass(guarded: Any, content_type: str) -> None:
    response = guarded.post("/write", content=b'{"a": 1}', headers={"content-type": content_type})
    assert response.status_code == 200 and response.json() == {"a": 1}


def test_a_delete_without_a_body_needs_no_content_type_but_a_non_json_body_is_415(guarded: Any) -> None:
    assert guarded.delete("/write").status_code == 202
    assert guarded.request("DELETE", "/write", headers={"content-type": "application/json"}).status_code == 202
    assert guarded.request("DELETE", "/write", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    assert guarded.request("DELETE", "/write", content=b"user_id=u").status_code == 415


class ListingReader:
    """Records which states the list endpoint asked the store for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def list_for_user(self, *args: Any) -> MemoryList:
        self.asked.append(args[4])
        return MemoryList(results=[], total=0, limit=args[5], offset=args[6])


@pytest.fixture()
def listing() -> Any:
    # A Services without clients (Litestar checks the dependency's exact type); the list endpoint only calls
    # view().reader, answered here by the recording reader.
    reader = ListingReader()
    services = object.__new__(Services)

    async def view() -> Any:
        return SimpleNamespace(reader=reader)

    services.view = view  # type: ignore[method-assign]

    async def provide() -> Services:
        return services

    handlers: Any = EXCEPTION_HANDLERS  # as api.app passes them (their handlers are narrower than Litestar's type)
    app = Litestar(
        [MemoriesController],
        dependencies={"services": Provide(provide), "caller": Provide(caller, sync_to_thread=False)},
        exception_handlers=handlers,
        middleware=[authentication(Settings(auth_enabled=False), [], docs_public=True)],
    )
    with TestClient(app) as client:
        yield client, reader


def test_listing_reads_the_seeds_retired_state_names_and_refuses_other_names(listing: Any) -> None:
    client, reader = listing
    ok = client.get("/v1/memories", params={"user_id": "u", "state": ["accessed", "decaying", "embedding"]})
    assert ok.status_code == 200, ok.text
    assert client.get("/v1/memories", params={"user_id": "u"}).status_code == 200
    assert reader.asked == [["active", "decaying", "extracted"], ["active", "consolidating", "decaying"]]
    bad = client.get("/v1/memories", params={"user_id": "u", "state": ["active", "fading"]})
    assert bad.status_code == 400
    assert "state" in bad.text and "fading" in bad.text  # the schema's enum refuses it, naming the parameter
    assert len(reader.asked) == 2  # refused before the store is asked


@pytest.mark.parametrize("field", ["occurred_after", "occurred_before"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("null", "occurred"),  # Litestar read it as no filter when the parameter was typed as a datetime
        ("1700000000", "occurred"),  # and a bare number as epoch seconds
        ("2026-02-30T00:00:00Z", "is not a date and time that exists"),
        ("2026-03-01T12:00:00", "occurred"),  # no time zone
    ],
)
def test_listing_time_filters_refuse_what_their_schema_refuses_naming_the_parameter(
    listing: Any, field: str, value: str, message: str
) -> None:
    client, _ = listing
    refused = client.get("/v1/memories", params={"user_id": "u", field: value})
    assert refused.status_code == 400, refused.text
    assert field in refused.text and message in refused.text
    accepted = client.get("/v1/memories", params={"user_id": "u", field: "2026-03-01T12:00:00z"})
    assert accepted.status_code == 200, accepted.text
