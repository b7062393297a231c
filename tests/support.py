"""Helpers shared by integration and end-to-end tests: isolated namespaces on the shared local stack.

Every test run gets its own topics, PostgreSQL schema, Milvus collection, Neo4j label prefix, Redis key
prefix and user ids, so tests never see each other's data nor that of a running dev system.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import psycopg

from adapters.api_key_pepper import api_key_pepper
from api.gateway.key_store import create_key, ensure_table
from api.gateway.principal import Scope as KeyScope
from memory.contract.events import ConversationTurnReceived, Envelope, Event, MemoryExtracted, Producer, Scope
from memory.contract.ids import turn_event_id_for
from memory.ingest.conversation_context import RECENT_CONVERSATIONS, RecentConversations
from memory.ingest.derivation import activation_event, embedding_events, embedding_text, extraction_events
from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput
from memory.settings import Settings, Topics

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def dsn_with_schema(dsn: str, schema: str) -> str:
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"


def create_schema(dsn: str, schema: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return dsn_with_schema(dsn, schema)


def isolated_settings(base: Settings, **overrides: Any) -> Settings:
    """Settings whose topics, schema and collection belong to this test alone."""
    tag = unique("t")
    topics = Topics(
        turns=f"test.{tag}.turns",
        commands=f"test.{tag}.commands",
        memories=f"test.{tag}.memories",
        deadletter=f"test.{tag}.deadletter",
    )
    return replace(
        base,
        topics=topics,
        postgres_dsn=create_schema(base.postgres_dsn, tag),
        milvus_collection=f"mem_{tag}",
        neo4j_label_prefix=f"T{tag}",
        redis_prefix=f"test:{tag}:",
        faust_app_id=f"memstream-test-{tag}",
        consumer_group_prefix=f"memstream-test-{tag}",
        # No metrics ports unless a test picks free ones (tests/e2e/conftest.py): two systems must never collide.
        **{"streams_metrics_port": 0, "projections_metrics_port": 0, **overrides},
    )


def issue_key(
    settings: Settings,
    app_id: str,
    scopes: Iterable[KeyScope] = (KeyScope.ADMIN,),
    user_id: str | None = None,
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
    name: str = "tests",
) -> str:
    """A new API key in the key table of these settings (the one the API of these settings verifies against)."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        ensure_table(conn)
        issued = create_key(
            conn,
            api_key_pepper(settings),
            app_id,
            user_id=user_id,
            scopes=tuple(scopes),
            name=name,
            expires_at=expires_at,
            rate_limit=rate_limit,
        )
    return issued.key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_turn(
    user_id: str, text: str, turn_id: str, app_id: str = "default", occurred_at: datetime = T0, speaker: str = "Alice"
) -> ConversationTurnReceived:
    scope = Scope(app_id, user_id)
    return ConversationTurnReceived(
        envelope=Envelope(
            turn_event_id_for(scope.key, "c", turn_id),
            "ConversationTurnReceived",
            1,
            scope,
            occurred_at,
            occurred_at,
            None,
            None,
            Producer("tests"),
        ),
        conversation_id="c",
        turn_id=turn_id,
        role="user",
        speaker=speaker,
        text=text,
    )


def pipeline_events(turns: Iterable[ConversationTurnReceived], embed: Callable[[list[str]], Any]) -> list[Event]:
    """What the Faust agents would emit for these turns, computed with the same pure functions."""
    events: list[Event] = []
    conversations = RecentConversations(RECENT_CONVERSATIONS)
    for turn in turns:
        derived = extraction_events(
            turn,
            extract_facts(TurnInput(turn.role, turn.speaker or "", turn.text)),
            "rules-v1",
            turn.envelope.occurred_at + timedelta(seconds=1),
            conversations.context_for(turn),
        )
        events.extend(derived)
        extracted = [e for e in derived if isinstance(e, MemoryExtracted)]
        if extracted:
            vectors = embed([embedding_text(e) for e in extracted])
            for memory, vector in zip(extracted, vectors, strict=True):
                at = turn.envelope.occurred_at + timedelta(seconds=2)
                events.extend(embedding_events(memory, list(vector), "all-MiniLM-L6-v2", at))
                # What the lifecycle agent decides for a memory that repeats and contradicts nothing.
                events.append(activation_event(memory, at))
    return events


def wait_until(check: Callable[[], T], timeout: float = 60.0, interval: float = 0.25, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


def wait_while_progressing(
    measure: Callable[[], int], target: int, stall: float, what: str, interval: float = 0.5, limit: float = 900.0
) -> int:
    """Wait until ``measure()`` reaches ``target``, for as long as it keeps moving: fail only when it has not grown
    for ``stall`` seconds (or after ``limit`` in all). A busy machine or a cold stack makes the pipeline slower, not
    stuck; a fixed deadline would fail it for being slow, this fails it for stopping."""
    started = time.monotonic()
    best, moved = -1, started
    while True:
        value = measure()
        now = time.monotonic()
        if value >= target:
            return value
        if value > best:
            best, moved = value, now
        if now - moved > stall or now - started > limit:
            raise AssertionError(
                f"waiting for {what}: {value} of {target}, no progress for {now - moved:.0f}s"
                f" ({now - started:.0f}s in all)"
            )
        time.sleep(interval)
