"""Reads by memory id keep to the caller's app and user in every statement, against the real PostgreSQL.

Versions, source turns, accesses and lineage links carry no scope of their own; the API's history and lineage
join them to the owner's memories. The rows here include what the projection never writes (a memory naming
another user's turn as its source, a link to another user's memory), as a bug or a forged producer might: the
owner's reads must not show them, and another owner's id must be as absent as an id that never existed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.errors import NotFound
from api.reader import MemoryReader
from memory.settings import Settings
from projections.postgres.projector import SCHEMA_SQL
from replay.audit import NotFoundError, Owner, lineage
from tests.support import create_schema, unique

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ALICE, BOB, ALICE_ELSEWHERE = ("app-a", "alice"), ("app-a", "bob"), ("app-b", "alice")


def memory(conn: psycopg.Connection, memory_id: str, owner: tuple[str, str], text: str, sources: list[str]) -> None:
    conn.execute(
        "INSERT INTO memories (memory_id, app_id, user_id, text, kind, state, importance, source_event_ids,"
        " extractor, valid_from, known_from, updated_at) VALUES (%s, %s, %s, %s, 'fact', 'active', 0.5, %s,"
        " 'rules-v1', %s, %s, %s)",
        (memory_id, *owner, text, sources, T0, T0, T0),
    )
    conn.execute(
        "INSERT INTO memory_versions (event_id, memory_id, event_type, state, text, valid_from, known_at, log_topic,"
        " log_partition, log_offset) VALUES (%s, %s, 'MemoryActivated', 'active', %s, %s, %s, 'm', 0, 0)",
        (f"v-{memory_id}", memory_id, text, T0, T0),
    )


def turn(conn: psycopg.Connection, event_id: str, owner: tuple[str, str], text: str) -> None:
    conn.execute(
        "INSERT INTO conversation_turns (event_id, app_id, user_id, conversation_id, turn_id, role, text,"
        " occurred_at, recorded_at) VALUES (%s, %s, %s, 'c', %s, 'user', %s, %s, %s)",
        (event_id, *owner, event_id, text, T0, T0),
    )


def link(conn: psycopg.Connection, source: str, target: str) -> None:
    conn.execute(
        "INSERT INTO memory_lineage (event_id, relation, from_memory_id, to_memory_id, occurred_at, known_at)"
        " VALUES (%s, 'supersedes', %s, %s, %s, %s)",
        (f"l-{source}-{target}", source, target, T0, T0),
    )


@pytest.fixture
def dsn(stack_settings: Settings) -> Iterator[str]:
    scoped = create_schema(stack_settings.postgres_dsn, unique("t"))
    with psycopg.connect(scoped) as conn:
        conn.execute(SCHEMA_SQL)
        turn(conn, "turn-alice", ALICE, "Alice said she keeps bees.")
        turn(conn, "turn-bob", BOB, "Bob's secret turn.")
        memory(conn, "m-alice", ALICE, "keeps bees", ["turn-alice", "turn-bob"])  # a source it should not have
        memory(conn, "m-alice-old", ALICE, "kept wasps", ["turn-alice"])
        memory(conn, "m-bob", BOB, "Bob's secret", ["turn-bob"])
        memory(conn, "m-elsewhere", ALICE_ELSEWHERE, "the other app's alice", [])
        link(conn, "m-alice", "m-alice-old")
        link(conn, "m-alice", "m-bob")  # across users: never written by the lifecycle
        link(conn, "m-elsewhere", "m-alice")
    yield scoped


def test_lineage_for_an_owner_shows_only_the_owners_rows(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        mine = lineage(conn, "m-alice", Owner(*ALICE))
        everything = lineage(conn, "m-alice")  # the operator's audit: no owner
    assert [t.event_id for t in mine.source_turns] == ["turn-alice"]
    assert [(link.from_memory_id, link.to_memory_id) for link in mine.links] == [("m-alice", "m-alice-old")]
    assert [step.event_id for step in mine.events] == ["v-m-alice"]
    assert {t.event_id for t in everything.source_turns} == {"turn-alice", "turn-bob"}
    assert len(everything.links) == 3


@pytest.mark.parametrize("other", ["m-bob", "m-elsewhere", "no-such-memory"])
def test_another_owners_memory_is_as_absent_as_one_that_never_existed(dsn: str, other: str) -> None:
    with psycopg.connect(dsn) as conn, pytest.raises(NotFoundError) as refused:
        lineage(conn, other, Owner(*ALICE))
    assert str(refused.value) == f"memory {other} not found"


@pytest.fixture
async def reader(dsn: str) -> AsyncIterator[MemoryReader]:
    async with AsyncConnectionPool(dsn, min_size=1, max_size=2, open=False) as pool:
        yield MemoryReader(pool)


async def test_history_and_get_keep_to_the_owner(reader: MemoryReader) -> None:
    history = await reader.history("m-alice", *ALICE)
    assert [entry.event_id for entry in history.entries] == ["v-m-alice"]
    answers = []
    for other in ("m-bob", "m-elsewhere", "no-such-memory"):
        for read in (reader.get, reader.history):
            with pytest.raises(NotFound) as refused:
                await read(other, *ALICE)
            answers.append(refused.value.detail.replace(other, "<id>"))
    assert set(answers) == {"memory <id> not found for user alice"}
