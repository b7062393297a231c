"""The Python SDK's pure parts: the two clients' shared shape, Retry-After, backoff bounds, tool-call shapes and
the read-your-writes book. Its behaviour against the API is tests/e2e/test_sdk_python.py."""

from __future__ import annotations

import inspect
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from memstream_client import AsyncMemstream, Memstream
from memstream_client.consistency import Scope, TokenBook, Topic
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
