"""The Python SDK's pure parts: the two clients' shared shape, Retry-After, backoff bounds, tool-call shapes and
the read-your-writes book. Its behaviour against the API is tests/e2e/test_sdk_python.py."""

from __future__ import annotations

import inspect
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from memstream_client import (
    AsyncMemstream,
    Conflict,
    ConnectionFailed,
    Memstream,
    PermissionDenied,
    RateLimited,
    ServerError,
    calls,
)
from memstream_client.consistency import Scope, TokenBook, Topic
from memstream_client.engine import Engine, Send, Sleep
from memstream_client.models import parse_time
from memstream_client.retry import RetryPolicy, parse_retry_after
from memstream_client.tool_calls import tool_call_parts


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_") and name != "close"
    }


def test_the_async_client_has_the_sync_clients_methods_with_the_same_signatures() -> None:
    sync, asynchronous = public_methods(Memstream), public_methods(AsyncMemstream)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert asynchronous[name] == signature, name
        assert inspect.iscoroutinefunction(getattr(AsyncMemstream, name)), name
    mem0_names = {"add", "search", "get", "get_all", "update", "delete", "delete_all", "history"}
    tools = {"core_memory_append", "core_memory_replace", "archival_memory_insert", "archival_memory_search"}
    assert mem0_names | tools | {"conversation_search", "get_context", "wait_for", "tools", "execute_tool_call"} <= (
        sync.keys()
    )


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_backoff_is_full_jitter_capped_and_bounded_in_count_and_time() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_seconds=10, base_seconds=0.5, cap_seconds=2)
    rng = random.Random(1)
    delays = [policy.backoff(3, rng) for _ in range(500)]
    assert 0 <= min(delays) < 0.1 and 1.9 < max(delays) <= 2.0  # uniform over [0, cap]
    assert policy.wait_before(0, retry_after=4, elapsed=0) == 4  # the API's word, as is
    assert policy.wait_before(3, retry_after=None, elapsed=0) is None  # retries spent
    assert policy.wait_before(0, retry_after=11, elapsed=0) is None  # would end past max_retry_seconds
    assert policy.wait_before(1, retry_after=3, elapsed=8) is None


def test_a_tool_call_is_read_from_a_dict_its_function_part_or_an_object() -> None:
    arguments = '{"content": "likes tea"}'
    function = {"name": "archival_memory_insert", "arguments": arguments}
    as_dict = {"id": "call_1", "type": "function", "function": function}
    as_object = SimpleNamespace(id="call_1", type="function", function=SimpleNamespace(name="x", arguments=arguments))
    assert tool_call_parts(as_dict) == ("archival_memory_insert", arguments)
    assert tool_call_parts(as_dict["function"]) == ("archival_memory_insert", arguments)
    assert tool_call_parts(as_object) == ("x", arguments)
    assert tool_call_parts({"function": {"name": "tools_without_arguments"}}) == ("tools_without_arguments", {})
    with pytest.raises(TypeError, match="no function name"):
        tool_call_parts({"function": {"arguments": "{}"}})


def test_the_book_keeps_one_token_per_user_and_topic_until_a_read_sees_it() -> None:
    book, alice, bob = TokenBook(), Scope("app", "alice"), Scope("app", "bob")
    book.wrote(alice, Topic.TURNS, "t1")
    book.wrote(alice, Topic.TURNS, "t2")  # the same partition: t2 covers t1
    book.wrote(alice, Topic.COMMANDS, "c1")  # another topic: not covered by t2
    assert book.pending(alice) == ["t2", "c1"] and book.pending(bob) == []
    assert book.scope_of("c1") == alice
    book.seen(alice, ["t2"])
    assert book.pending(alice) == ["c1"]
    book.wrote(alice, Topic.COMMANDS, "c2")
    book.seen(alice, ["c1"])  # an older token seen: the newer one still pends
    assert book.pending(alice) == ["c2"]


def test_times_from_the_api_parse_on_python_3_10_too() -> None:
    assert parse_time("2026-12-04T12:00:00Z") == datetime(2026, 12, 4, 12, tzinfo=UTC)
    assert parse_time("2026-12-04T12:00:00.5Z").microsecond == 500_000
    assert parse_time("2026-12-04T12:00:00.1234567+02:00").microsecond == 123_456


# --- the engine's decisions, driven step by step (it does no I/O: it says what to send and how long to sleep) ----


def drive(exchange: Any, outcomes: list[Any]) -> tuple[list[Any], Any]:
    """Run an engine exchange, answering each ``Send`` with the next outcome; the actions taken and the result."""
    actions, outcome = [], None
    try:
        while True:
            action = exchange.send(outcome)
            actions.append(action)
            outcome = outcomes.pop(0) if isinstance(action, Send) else None
    except StopIteration as done:
        return actions, done.value


def answer(status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body or {"status_code": status, "detail": f"refused {status}"}, headers=headers)


ACCEPTED = {"status": "accepted", "event_ids": ["e1"], "consistency_token": "mst1.a.b", "positions": []}


def add_call() -> Any:
    return calls.add(
        "I like tea",
        user_id="u",
        app_id=None,
        agent_id=None,
        run_id=None,
        conversation_id=None,
        metadata=None,
        infer=False,
        occurred_at=None,
    )


def test_a_post_write_keeps_its_idempotency_key_across_retries_and_waits_as_retry_after_says() -> None:
    engine = Engine(RetryPolicy(max_retries=3, max_retry_seconds=30), read_your_writes=False)
    lost = httpx.ReadError("connection reset")
    outcomes = [
        lost,
        answer(429, headers={"Retry-After": "2"}),
        answer(409, headers={"Retry-After": "1"}),
        answer(202, ACCEPTED),
    ]
    actions, result = drive(engine.run(add_call()), outcomes)
    sends = [a for a in actions if isinstance(a, Send)]
    sleeps = [a.seconds for a in actions if isinstance(a, Sleep)]
    assert len(sends) == 4 and len({s.headers["Idempotency-Key"] for s in sends}) == 1
    assert sleeps[1:] == [2.0, 1.0] and 0 <= sleeps[0] <= 0.5  # Retry-After as is; the first a jittered backoff
    assert result.event_ids == ["e1"]


def test_what_is_not_retried_and_when_retries_run_out() -> None:
    engine = Engine(RetryPolicy(max_retries=1, max_retry_seconds=30), read_your_writes=False)
    with pytest.raises(ServerError) as failed:
        drive(engine.run(add_call()), [answer(500)])  # a bug, not an outage: once
    assert failed.value.status_code == 500 and failed.value.message == "refused 500"
    with pytest.raises(Conflict):  # a 409 without Retry-After is a real conflict
        drive(engine.run(add_call()), [answer(409)])
    with pytest.raises(RateLimited) as limited:
        drive(engine.run(add_call()), [answer(429, headers={"Retry-After": "1"})] * 2)
    assert limited.value.retry_after == 1.0
    with pytest.raises(ConnectionFailed):
        drive(engine.run(add_call()), [httpx.ConnectError("refused")] * 2)


def test_read_your_writes_waits_before_a_checked_write_and_carries_the_token_on_a_read() -> None:
    engine = Engine(RetryPolicy(), read_your_writes=True)
    drive(engine.run(add_call()), [answer(202, ACCEPTED)])
    append = calls.append_block("human", "likes tea", user_id="u", app_id=None, agent_id=None)
    block = {
        "label": "human",
        "value": "likes tea",
        "limit": 2000,
        "version": 1,
        "updated_at": None,
        "app_id": "a",
        "user_id": "u",
        "agent_id": None,
    }
    accepted = {"status": "accepted", "event_ids": ["e2"], "consistency_token": "mst1.c.d", "block": block}
    actions, _ = drive(engine.run(append), [answer(200, {"results": []}), answer(202, accepted)])
    wait, edit = (a for a in actions if isinstance(a, Send))
    assert wait.path == "/v1/memories" and wait.params["consistency_token"] == "mst1.a.b"  # the add, first
    assert edit.path == "/v1/blocks/human/append"
    read = calls.get_block(
        "human", user_id="u", app_id=None, agent_id=None, as_of=None, consistency_token=None, read_your_writes=None
    )
    actions, got = drive(engine.run(read), [answer(200, block)])
    assert [a.params.get("consistency_token") for a in actions] == ["mst1.c.d"] and got.value == "likes tea"
    actions, _ = drive(engine.run(read), [answer(200, block)])
    assert "consistency_token" not in actions[0].params  # seen: no more waiting


def test_the_dispatcher_returns_what_the_model_can_correct_and_raises_the_rest() -> None:
    engine = Engine(RetryPolicy(max_retries=0), read_your_writes=False)
    call = calls.call_tool(
        "core_memory_replace", '{"label": "human", "old": "x", "new": "y"}', user_id="u", app_id=None, agent_id=None
    )
    _, text = drive(engine.dispatch(call), [answer(409, {"status_code": 409, "detail": "'x' is not in block"})])
    assert text == "Error: 'x' is not in block"
    with pytest.raises(PermissionDenied):
        drive(engine.dispatch(call), [answer(403)])
