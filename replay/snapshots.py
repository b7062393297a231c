"""Canonical snapshots of what each projection holds for a set of user scopes.

A snapshot is plain data in a fixed order, so two stores (live and rebuilt) compare with ``==`` and a
checksum names the difference without shipping the data. Used by ``replay verify`` and the tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import psycopg
from neo4j import Driver
from psycopg.rows import dict_row
from pymilvus import MilvusClient
from redis import Redis

from projections.milvus.collection import FIELDS
from projections.milvus.expressions import scope_filter
from projections.neo4j.labels import namespaced
from projections.redis.keys import generation_key

_MEMORY_COLUMNS = (
    "memory_id, app_id, user_id, agent_id, run_id, text, kind, state, importance, pinned, metadata, source_turn_ids,"
    " source_event_ids, extractor, embedding_model, valid_from, valid_to, known_from, updated_at"
)


def checksum(snapshot: Any) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()


def _split(scope_keys: Sequence[str]) -> list[tuple[str, str]]:
    return [tuple(k.split("/", 1)) for k in scope_keys]  # type: ignore[misc]


def postgres_snapshot(dsn: str, scope_keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Memories, versions, lineage touching them, tombstones, erasures and turns of these scopes."""
    apps = [a for a, _ in _split(scope_keys)]
    users = [u for _, u in _split(scope_keys)]
    scoped = "(app_id, user_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    held = f"SELECT memory_id FROM memories WHERE {scoped}"
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {scoped} ORDER BY memory_id", (apps, users))
        memories = cur.fetchall()
        cur.execute(
            "SELECT event_id, memory_id, event_type, state, text, importance, pinned, valid_from, valid_to, known_at,"
            f" causation_id FROM memory_versions WHERE memory_id IN ({held}) ORDER BY event_id",
            (apps, users),
        )
        versions = cur.fetchall()
        cur.execute(
            "SELECT event_id, relation, from_memory_id, to_memory_id, occurred_at, known_at FROM memory_lineage"
            f" WHERE from_memory_id IN ({held}) OR to_memory_id IN ({held})"
            " ORDER BY relation, from_memory_id, to_memory_id",
            (apps, users, apps, users),
        )
        lineage = cur.fetchall()
        cur.execute(
            "SELECT memory_id, app_id, user_id, forgotten_at, reason FROM memory_tombstones"
            f" WHERE {scoped} ORDER BY memory_id",
            (apps, users),
        )
        tombstones = cur.fetchall()
        cur.execute(
            f"SELECT event_id, app_id, user_id, erased_at, known_at FROM user_erasures WHERE {scoped}"
            " ORDER BY event_id",
            (apps, users),
        )
        erasures = cur.fetchall()
        cur.execute(
            "SELECT event_id, app_id, user_id, conversation_id, turn_id, role, speaker, text, metadata, occurred_at"
            f" FROM conversation_turns WHERE {scoped} ORDER BY event_id",
            (apps, users),
        )
        turns = cur.fetchall()
    return {
        "memories": memories,
        "versions": versions,
        "lineage": lineage,
        "tombstones": tombstones,
        "erasures": erasures,
        "turns": turns,
    }


def milvus_snapshot(client: MilvusClient, collection: str, scope_keys: Sequence[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for app_id, user_id in _split(scope_keys):
        rows.extend(
            client.query(
                collection,
                filter=scope_filter(app_id, user_id),
                output_fields=list(FIELDS),
            )
        )
    for row in rows:
        row["vector"] = [round(float(x), 5) for x in row["vector"]]
    return sorted(rows, key=lambda r: r["memory_id"])


def neo4j_snapshot(driver: Driver, database: str, scope_keys: Sequence[str], prefix: str = "") -> dict[str, Any]:
    q = namespaced(
        """
        MATCH (u:User)-[:HAS_MEMORY]->(m:Memory) WHERE u.scope_key IN $keys
        OPTIONAL MATCH (m)-[:MENTIONS]->(e:Entity)
        WITH u, m, collect(e.entity_id) AS entity_ids
        RETURN u.scope_key AS user, m.memory_id AS memory_id, m.text AS text, m.state AS state,
               m.kind AS kind, m.embedding_model AS model, m.importance AS importance, m.pinned AS pinned,
               m.valid_to AS valid_to, m.speaker AS speaker, entity_ids,
               [(m)-[:ABOUT]->(t:Topic) | t.name] AS topics,
               [(m)-[:SUPERSEDES]->(old:Memory) | old.memory_id] AS supersedes,
               [(m)-[:SUMMARIZES]->(original:Memory) | original.memory_id] AS summarizes
        ORDER BY memory_id
        """,
        prefix,
    )
    records, _, _ = driver.execute_query(q, keys=list(scope_keys), database_=database)
    memories = [
        {
            **r.data(),
            "entity_ids": sorted(r["entity_ids"]),
            "topics": sorted(r["topics"]),
            "supersedes": sorted(r["supersedes"]),
            "summarizes": sorted(r["summarizes"]),
        }
        for r in records
    ]
    rel_q = namespaced(
        """
        MATCH (a:Entity)-[r:RELATED]->(b:Entity) WHERE a.scope_key IN $keys
        RETURN a.entity_id AS a, r.predicate AS p, b.entity_id AS b, r.memory_ids AS memory_ids ORDER BY a, p, b
        """,
        prefix,
    )
    rel_records, _, _ = driver.execute_query(rel_q, keys=list(scope_keys), database_=database)
    relations = [
        {**r.data(), "memory_ids": sorted(r["memory_ids"]) if r["memory_ids"] is not None else None}
        for r in rel_records
    ]
    ent_q = namespaced(
        "MATCH (e:Entity) WHERE e.scope_key IN $keys RETURN e.entity_id AS id, e.name AS name, e.kind AS kind"
        " ORDER BY id",
        prefix,
    )
    ent_records, _, _ = driver.execute_query(ent_q, keys=list(scope_keys), database_=database)
    return {
        "memories": memories,
        "relations": relations,
        "entities": [r.data() for r in ent_records],
    }


def redis_snapshot(client: Redis, scope_keys: Sequence[str], prefix: str = "memstream:") -> dict[str, int | None]:
    result: dict[str, int | None] = {}
    for key in sorted(scope_keys):
        value = client.get(generation_key(prefix, key))
        result[key] = int(value) if value is not None else None
    return result
