"""Core memory block events in every projector, against the real stores.

The events are the lifecycle agent's own decisions (``memory.lifecycle.on_command`` on block commands), so
what is projected is what the agent writes. PostgreSQL holds the blocks and their history; applying the
events again (new positions, so no checkpoint hides them), or an older one after a newer, changes nothing;
as-of reads see the blocks as they were; an erasure takes them. Milvus, Neo4j and Redis ignore them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.blocks.reader import BlockReader, shown
from memory.contract.events import Event, MemoryCommandIssued, Scope, UserErased, new_command
from memory.lifecycle.decisions import LifecyclePolicy
from memory.lifecycle.on_command import on_command
from memory.lifecycle.state import UserState
from memory.settings import Settings
from projections.postgres.projector import SCHEMA_SQL, PostgresProjector
from replay.erasure import holdings
from replay.stores import postgres_rows
from tests.integration.test_erasure import ZERO, Stores, stores  # noqa: F401 - the fixture, by name
from tests.support import unique

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = START + timedelta(days=1)  # the erasure is known after every block event


def blocks_life(scope: Scope) -> tuple[list[Event], list[datetime]]:
    """Create, append, a refused replace, replace, delete a label; append to human. One hour apart."""
    state = UserState()
    times = [START + timedelta(hours=h) for h in range(6)]
    commands: list[MemoryCommandIssued] = [
        new_command(scope, "block_create", times[0], "tests", text="Project: Apollo", label="notes", limit=100),
        new_command(scope, "block_append", times[1], "tests", text="Deadline: May", label="notes"),
        new_command(scope, "block_replace", times[2], "tests", label="notes", old_text="June", new_text="July"),
        new_command(scope, "block_replace", times[3], "tests", label="notes", old_text="May", new_text="June"),
        new_command(scope, "block_append", times[4], "tests", text="Name: Alice", label="human"),
        new_command(scope, "block_delete", times[5], "tests", label="notes"),
    ]
    events = [e for c in commands for e in on_command(state, c, LifecyclePolicy())]
    return events, times


def blocks_of(settings: Settings, scope: Scope) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.postgres_dsn) as conn:
        return conn.execute(
            "SELECT label, value, char_limit, version, written FROM core_blocks"
            " WHERE app_id = %s AND user_id = %s ORDER BY label",
            (scope.app_id, scope.user_id),
        ).fetchall()


def test_blocks_project_once_however_often_they_arrive_and_only_into_postgres(
    stores: Stores,  # noqa: F811 - the fixture
    settings: Settings,
) -> None:
    scope = Scope("default", unique("user-"))
    events, _ = blocks_life(scope)
    assert len(events) == 6
    stores.apply(events)  # every projector: Milvus, Neo4j and Redis must take them without a dead letter

    assert blocks_of(settings, scope) == [
        ("human", "Name: Alice", 2000, 1, True),
        ("notes", "", 100, 4, False),  # deleted: the row keeps its version, so nothing older brings it back
    ]
    held = holdings(settings, scope.app_id, scope.user_id)
    assert held == {**ZERO, "postgres.core_blocks": 2, "postgres.core_block_versions": 6}

    before = postgres_rows(settings)
    stores.apply(events)  # redelivered at new positions
    stores.apply([events[0], events[1]])  # older changes after newer ones
    assert postgres_rows(settings) == before
    assert blocks_of(settings, scope)[1] == ("notes", "", 100, 4, False)

    erasure = replace(events[-1].envelope, event_id=unique("erase-"), event_type="UserErased", recorded_at=NOW)
    stores.apply([UserErased(envelope=erasure)])
    assert holdings(settings, scope.app_id, scope.user_id) == ZERO
    stores.apply(events)  # known before the erasure: stays erased
    assert blocks_of(settings, scope) == []


@pytest.mark.asyncio
async def test_as_of_and_history_read_the_blocks_as_they_were(
    stores: Stores,  # noqa: F811 - the fixture
    settings: Settings,
) -> None:
    scope = Scope("default", unique("user-"))
    events, times = blocks_life(scope)
    stores.apply(events)
    async with AsyncConnectionPool(settings.postgres_dsn, min_size=1, max_size=2, open=False) as pool:
        reader = BlockReader(pool)
        now = {b.label: b.value for b in shown(scope, await reader.rows(scope))}
        assert now == {"persona": "", "human": "Name: Alice"}  # notes deleted
        half_past_three = times[3] + timedelta(minutes=30)
        then = shown(scope, await reader.rows(scope, as_of=half_past_three))
        assert [(b.label, b.value, b.version) for b in then] == [
            ("persona", "", 0),
            ("human", "", 0),  # not written yet then
            ("notes", "Project: Apollo\nDeadline: June", 3),
        ]
        before_all = shown(scope, await reader.rows(scope, as_of=times[0] - timedelta(seconds=1)))
        assert [b.label for b in before_all] == ["persona", "human"]

        history = await reader.history(scope, "notes")
        assert [(e.version, e.change, e.value) for e in history.entries] == [
            (1, "created", "Project: Apollo"),
            (2, "appended", "Project: Apollo\nDeadline: May"),
            (2, "refused", "Project: Apollo\nDeadline: May"),
            (3, "replaced", "Project: Apollo\nDeadline: June"),
            (4, "deleted", ""),
        ]
        refused = history.entries[2]
        assert refused.reason == "'June' is not in core memory block 'notes'"
        assert [e.occurred_at for e in history.entries] == [times[0], times[1], times[2], times[3], times[5]]
        assert all(e.reason is None for e in history.entries if e.change != "refused")
        # Another agent's blocks are apart from the user's.
        assert await reader.rows(Scope(scope.app_id, scope.user_id, agent_id="other")) == {}


def test_a_schema_from_before_blocks_gains_their_tables_when_the_projector_opens_it(settings: Settings) -> None:
    """A database the previous projector made (every table but the blocks') is migrated by the idempotent DDL
    the projector runs at every start, keeping what it held."""
    before_blocks = SCHEMA_SQL.split("-- Core memory blocks")[0]
    assert "core_blocks" not in before_blocks
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(before_blocks)
        conn.execute(
            "INSERT INTO projection_checkpoints (projection, topic, partition, log_offset) VALUES ('old', 't', 0, 41)"
        )
    PostgresProjector(settings.postgres_dsn, (settings.topics.memories,)).close()
    with psycopg.connect(settings.postgres_dsn) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        }
        kept = conn.execute("SELECT log_offset FROM projection_checkpoints WHERE projection = 'old'").fetchone()
    assert {"core_blocks", "core_block_versions"} <= tables
    assert kept == (41,)
