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

from projections.neo4j.projector import namespaced
from projections.redis.projector import generation_key

_MEMORY_COLUMNS = (
    "memory_id, app_id, user_id, agent_id, run_id, text, kind, state, importance, metadata, source_turn_ids,"
    " source_event_ids, extractor, embedding_model, valid_from, valid_to, known_from, updated_at"
)


def checksum(snapshot: Any) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()


def _split(scope_keys: Sequence[str]) -> list[tuple[str, str]]:
    return [tuple(k.split("/", 1)) for k in scope_keys]  # type: ignore[misc]


def postgres_snapshot(dsn: str, scope_keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    apps = [a for a, _ in _split(scope_keys)]
    users = [u for _, u in _split(scope_keys)]
    scoped = "(app_id, user_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {scoped} ORDER BY memory_id", (apps, users))
        memories = cur.fetchall()
        cur.execute(
            "SELECT v.event_id, v.memory_id, v.event_type, v.state, v.text, v.valid_from, v.valid_to, v.known_at,"
            " v.causation_id FROM memory_versions v JOIN memories m USING (memory_id)"
            " WHERE (m.app_id, m.user_id) IN (SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY v.event_id",
            (apps, users),
        )
        versions = cur.fetchall()
        cur.execute(
            "SELECT event_id, app_id, user_id, conversation_id, turn_id, role, speaker, text, metadata, occurred_at"
            f" FROM conversation_turns WHERE {scoped} ORDER BY event_id",
            (apps, users),
        )
        turns = cur.fetchall()
    return {"memories": memories, "versions": versions, "turns": turns}


def milvus_snapshot(client: MilvusClient, collection: str, scope_keys: Sequence[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for app_id, user_id in _split(scope_keys):
        rows.extend(
            client.query(
                collection,
                filter=f'app_id == "{app_id}" and user_id == "{user_id}"',
                output_fields=[
                    "memory_id",
                    "app_id",
                    "user_id",
                    "agent_id",
                    "run_id",
                    "state",
                    "occurred_at",
                    "model",
                    "vector",
                ],
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
               m.kind AS kind, m.embedding_model AS model, entity_ids
        ORDER BY memory_id
        """,
        prefix,
    )
    records, _, _ = driver.execute_query(q, keys=list(scope_keys), database_=database)
    memories = [{**r.data(), "entity_ids": sorted(r["entity_ids"])} for r in records]
    rel_q = namespaced(
        """
        MATCH (a:Entity)-[r:RELATED]->(b:Entity) WHERE a.scope_key IN $keys
        RETURN a.entity_id AS a, r.predicate AS p, b.entity_id AS b ORDER BY a, p, b
        """,
        prefix,
    )
    rel_records, _, _ = driver.execute_query(rel_q, keys=list(scope_keys), database_=database)
    ent_q = namespaced(
        "MATCH (e:Entity) WHERE e.scope_key IN $keys RETURN e.entity_id AS id, e.name AS name, e.kind AS kind"
        " ORDER BY id",
        prefix,
    )
    ent_records, _, _ = driver.execute_query(ent_q, keys=list(scope_keys), database_=database)
    return {
        "memories": memories,
        "relations": [r.data() for r in rel_records],
        "entities": [r.data() for r in ent_records],
    }


def redis_snapshot(client: Redis, scope_keys: Sequence[str], prefix: str = "memstream:") -> dict[str, int | None]:
    result: dict[str, int | None] = {}
    for key in sorted(scope_keys):
        value = client.get(generation_key(prefix, key))
        result[key] = int(value) if value is not None else None
    return result
