"""Hostile ids and scope values against the real Milvus: every filter matches exactly the value it names.

Rows are written by the real projector into a fresh collection, each with a memory id, user id, agent id and
run id built from one hostile value (quotes, backslashes, an injection attempt, a line feed), next to decoys
that a wrong spelling would match instead (the value with its quotes or backslashes stripped, ``\\n`` read as
``n``, the text before an injected quote). Every reader is then asked for one hostile value: the projector
itself (a fresh one reads rows by id before it writes, and erases a user by scope), the API's visibility
expression in a vector search, the replay tools' scope and id filters. Each answer is exactly that value's
row: no other row, no error. (Metadata is not in Milvus; PostgreSQL takes it as a query parameter.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pymilvus import MilvusClient

from api.filters import Visibility
from memory.contract.events import (
    Envelope,
    Event,
    MemoryActivated,
    MemoryEmbedded,
    MemoryForgotten,
    Producer,
    Scope,
    UserErased,
)
from projections.milvus.expressions import equals, ids_filter, scope_filter
from projections.milvus.projector import MilvusProjector
from tests.integration.memory_life import DIM, positioned, vector
from tests.support import unique

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = [
    'dq"',
    "sq'",
    "bs\\",
    'bs-dq\\"',
    'x") or ("1"=="1',
    'y" or user_id != "',
    "line\nfeed",
    "tab\tand é",
]
# Milvus Lite cannot upsert or delete a row whose key holds a single quote (an internal error, whatever the
# filter: its own key handling), so the projector's writes are tested with the others; reads take them all.
WRITABLE = [v for v in HOSTILE if "'" not in v]
# What a filter spelled wrongly would match instead of the hostile value.
DECOYS = ["dq", "sq", "bs", "bs-dq", "x", "y", "linenfeed", "line\\nfeed", "1"]
VALUES = HOSTILE + DECOYS


def envelope(kind: str, scope: Scope, n: int) -> Envelope:
    return Envelope(f"ev-{kind}-{n}", kind, 1, scope, WHEN, WHEN, None, None, Producer("tests"))


def scope_of(app: str, value: str) -> Scope:
    return Scope(app, value, agent_id=value, run_id=value)


def memory_of(value: str) -> str:
    return f"m-{value}"


def embedded(app: str, n: int, value: str) -> MemoryEmbedded:
    memory_id = memory_of(value)
    return MemoryEmbedded(
        envelope=envelope("MemoryEmbedded", scope_of(app, value), n),
        memory_id=memory_id,
        model="test",
        vector=vector(memory_id),
    )


@pytest.fixture
def collection(milvus: MilvusClient) -> Iterator[str]:
    name = unique("hostile_")
    yield name
    milvus.drop_collection(name)


@pytest.fixture
def app() -> str:
    return unique("app-")


def projector(milvus: MilvusClient, collection: str) -> MilvusProjector:
    return MilvusProjector(milvus, collection, DIM, ("memstream.memories.v1",))


def apply(milvus: MilvusClient, collection: str, events: list[Event]) -> None:
    projector(milvus, collection).apply_batch(positioned(events))  # a fresh one: nothing remembered, rows read


def stored(milvus: MilvusClient, collection: str, expression: str) -> list[dict[str, object]]:
    return milvus.query(collection, filter=expression, output_fields=["memory_id", "user_id", "state"])


def test_each_filter_for_a_hostile_value_returns_exactly_its_row(
    milvus: MilvusClient, collection: str, app: str
) -> None:
    apply(milvus, collection, [embedded(app, n, value) for n, value in enumerate(VALUES)])
    assert len(stored(milvus, collection, equals("app_id", app))) == len(VALUES)

    for value in HOSTILE:
        mine = [memory_of(value)]
        by_id = stored(milvus, collection, ids_filter(mine))
        assert [r["memory_id"] for r in by_id] == mine, value
        by_scope = stored(milvus, collection, scope_filter(app, value, agent_id=value, run_id=value))
        assert [r["memory_id"] for r in by_scope] == mine, value
        assert by_scope[0]["user_id"] == value

        # The API's dense retriever: the visibility expression (states of the stored row included).
        seen = Visibility(app, value, agent_id=value, run_id=value, include_archived=True)
        expression = seen.milvus().replace('state in ["', 'state in ["stored","')
        hits = milvus.search(collection, data=[list(vector(memory_of(value)))], filter=expression, limit=10)
        assert [h["id"] for h in hits[0]] == mine, value


def test_the_projector_reads_updates_and_erases_exactly_the_hostile_rows(
    milvus: MilvusClient, collection: str, app: str
) -> None:
    values = WRITABLE + DECOYS
    apply(milvus, collection, [embedded(app, n, value) for n, value in enumerate(values)])

    # A fresh projector reads each row by id before it changes its state: only the hostile rows move.
    apply(
        milvus,
        collection,
        [
            MemoryActivated(envelope=envelope("MemoryActivated", scope_of(app, v), n), memory_id=memory_of(v))
            for n, v in enumerate(WRITABLE)
        ],
    )
    states = {r["memory_id"]: r["state"] for r in stored(milvus, collection, equals("app_id", app))}
    assert states == {memory_of(v): "active" if v in WRITABLE else "stored" for v in values}

    # Forgetting a hostile memory deletes that row only (the projector deletes by its id filter).
    forget = ['dq"', "bs\\", "line\nfeed"]
    apply(
        milvus,
        collection,
        [
            MemoryForgotten(envelope=envelope("MemoryForgotten", scope_of(app, v), n), memory_id=memory_of(v))
            for n, v in enumerate(forget)
        ],
    )
    remaining = [v for v in values if v not in forget]
    assert {r["memory_id"] for r in stored(milvus, collection, equals("app_id", app))} == set(map(memory_of, remaining))

    # Erasing one hostile user deletes that user's row and nobody else's.
    for n, value in enumerate(WRITABLE):
        apply(milvus, collection, [UserErased(envelope=envelope("UserErased", Scope(app, value), n), reason="test")])
        remaining = [v for v in remaining if v != value]
        left = {r["memory_id"] for r in stored(milvus, collection, equals("app_id", app))}
        assert left == set(map(memory_of, remaining)), value
