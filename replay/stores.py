"""Whole-store views for replay: every memory a projection target holds, canonical and keyed by memory id.

``verify`` compares two targets with these; ``drop`` empties one. Unlike ``snapshots`` (a few scopes, for
tests) these read everything, in pages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import psycopg
from neo4j import GraphDatabase
from psycopg.rows import dict_row
from pymilvus import MilvusClient
from redis import Redis

from memory.settings import Settings
from projections.neo4j.labels import LABELS, namespaced

PG_TABLES = (
    "memories",
    "memory_versions",
    "memory_accesses",
    "memory_lineage",
    "memory_tombstones",
    "user_erasures",
    "conversation_turns",
    "conversation_sessions",
    "core_blocks",
    "core_block_versions",
    "projection_checkpoints",
)


# One memory's history, canonical: every column but the log position.
_VERSIONS = (
    "json_agg(json_build_array(v.event_id, v.event_type, v.state, v.text, v.importance, v.pinned, v.valid_from,"
    " v.valid_to, v.known_at, v.causation_id) ORDER BY v.event_id)"
)


# Tables compared row by row, and the key that names a row in a difference report.
_KEYED_TABLES: dict[str, Callable[[dict[str, Any]], str]] = {
    "memory_lineage": lambda r: f"lineage/{r['relation']}/{r['from_memory_id']}/{r['to_memory_id']}",
    "memory_tombstones": lambda r: f"tombstone/{r['memory_id']}",
    "user_erasures": lambda r: f"erasure/{r['event_id']}",
    "core_blocks": lambda r: f"block/{r['app_id']}/{r['user_id']}/{r['agent_id']}/{r['label']}",
    "core_block_versions": lambda r: f"block_version/{r['event_id']}",
    # A conversation's session by its explicit id, an inferred one by its start (inferred ones never overlap).
    "conversation_sessions": lambda r: (
        f"session/{r['app_id']}/{r['user_id']}/{r['conversation_id']}/{r['session_id'] or r['started_at']}"
    ),
}


def digest(row: Any) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:16]


def postgres_rows(settings: Settings) -> dict[str, str]:
    """memory id → digest of the memory row and its version history (log positions excluded: a rebuild
    reads the same log, but the comparison should not hinge on where duplicates happened to sit).

    The rest of the memory side is keyed by kind, so a difference names what differs: ``lineage/<relation>/
    <from>/<to>``, ``tombstone/<memory id>``, ``erasure/<event id>``, and ``versions/<memory id>`` for the
    history of an id the projection holds no memory for (events that arrived before, or without, their
    ``MemoryExtracted``)."""
    rows: dict[str, str] = {}
    with psycopg.connect(settings.postgres_dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        exists = cur.execute("SELECT to_regclass('memories') IS NOT NULL AS ok").fetchone()
        if not exists or not exists["ok"]:
            return rows
        cur.execute(
            "SELECT m.memory_id, m.app_id, m.user_id, m.agent_id, m.run_id, m.text, m.kind, m.state, m.importance,"
            " m.pinned, m.metadata, m.source_turn_ids, m.source_event_ids, m.extractor, m.embedding_model,"
            " m.valid_from, m.valid_to, m.known_from, m.updated_at,"
            f" (SELECT {_VERSIONS} FROM memory_versions v WHERE v.memory_id = m.memory_id) AS versions"
            " FROM memories m ORDER BY m.memory_id"
        )
        for row in cur:
            rows[row["memory_id"]] = digest(row)
        cur.execute(
            f"SELECT v.memory_id, {_VERSIONS} AS versions FROM memory_versions v"
            " WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.memory_id = v.memory_id) GROUP BY v.memory_id"
        )
        for row in cur:
            rows[f"versions/{row['memory_id']}"] = digest(row)
        for table, key in _KEYED_TABLES.items():
            found = cur.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (table,)).fetchone()
            if found and found["ok"]:  # a schema no projector of this version has opened yet lacks them
                cur.execute(f"SELECT * FROM {table}")
                rows.update((key(row), digest(row)) for row in cur)
    return rows


def postgres_turns(settings: Settings) -> dict[str, str]:
    with psycopg.connect(settings.postgres_dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        exists = cur.execute("SELECT to_regclass('conversation_turns') IS NOT NULL AS ok").fetchone()
        if not exists or not exists["ok"]:
            return {}
        cur.execute(
            "SELECT event_id, app_id, user_id, agent_id, run_id, conversation_id, turn_id, role, speaker, text,"
            " metadata, occurred_at FROM conversation_turns ORDER BY event_id"
        )
        return {row["event_id"]: digest(row) for row in cur}


def milvus_rows(settings: Settings) -> dict[str, str]:
    client = MilvusClient(uri=settings.milvus_uri)
    if not client.has_collection(settings.milvus_collection):
        return {}
    fields = ["memory_id", "app_id", "user_id", "agent_id", "run_id", "state", "occurred_at", "model", "vector"]
    iterator = client.query_iterator(settings.milvus_collection, batch_size=2000, output_fields=fields)
    rows: dict[str, str] = {}
    try:
        while batch := iterator.next():
            for row in batch:
                row["vector"] = [round(float(x), 5) for x in row["vector"]]
                rows[row["memory_id"]] = digest({k: row[k] for k in fields})
    finally:
        iterator.close()
    return rows


def neo4j_rows(settings: Settings) -> dict[str, str]:
    """memory id → digest of the memory node (state, text, importance, pinned, valid_to...), its entities
    with their relations (and which memories asserted them), its topics and its lineage edges."""
    query = namespaced(
        """
        MATCH (u:User)-[:HAS_MEMORY]->(m:Memory)
        OPTIONAL MATCH (m)-[:MENTIONS]->(e:Entity)
        OPTIONAL MATCH (e)-[r:RELATED]->(o:Entity)
        WITH u, m, e, collect(DISTINCT [r.predicate, o.entity_id, r.memory_ids]) AS rels
        WITH u, m, collect([e.entity_id, e.name, e.kind, rels]) AS entities
        RETURN m.memory_id AS id, u.scope_key AS user, m.text AS text, m.state AS state, m.kind AS kind,
               m.embedding_model AS model, m.importance AS importance, m.pinned AS pinned,
               m.valid_to AS valid_to, m.speaker AS speaker, entities,
               [(m)-[:ABOUT]->(t:Topic) | t.topic_id] AS topics,
               [(m)-[:SUPERSEDES]->(old:Memory) | old.memory_id] AS supersedes,
               [(m)-[:SUMMARIZES]->(original:Memory) | original.memory_id] AS summarizes
        """,
        settings.neo4j_label_prefix,
    )
    with GraphDatabase.driver(
        settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password), notifications_min_severity="OFF"
    ) as driver:
        records, _, _ = driver.execute_query(query, database_=settings.neo4j_database)
    rows = {}
    for record in records:
        data = record.data()
        data["entities"] = sorted((e for e in data["entities"] if e[0] is not None), key=lambda e: e[0])
        for entity in data["entities"]:
            entity[3] = sorted(
                [r[0], r[1], sorted(r[2]) if r[2] is not None else None] for r in entity[3] if r[0] is not None
            )
        data["topics"] = sorted(data["topics"])
        data["supersedes"] = sorted(data["supersedes"])
        data["summarizes"] = sorted(data["summarizes"])
        rows[data["id"]] = digest(data)
    return rows


def redis_rows(settings: Settings) -> dict[str, str]:
    """scope → digest of its cache generation."""
    client = Redis.from_url(settings.redis_url)
    prefix = f"{settings.redis_prefix}gen:"
    rows = {}
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        scope = key.decode()[len(prefix) :]
        rows[scope] = digest(client.get(key))
    return rows


def drop(settings: Settings, store: str, whole_schema: bool) -> None:
    """Remove everything one target holds in ``store``."""
    if store == "postgres":
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            if whole_schema:
                schema = conn.execute("SELECT current_schema()").fetchone()
                if schema and schema[0] not in (None, "public"):
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema[0]}" CASCADE')
                    return
            for table in PG_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
    elif store == "milvus":
        client = MilvusClient(uri=settings.milvus_uri)
        if client.has_collection(settings.milvus_collection):
            client.drop_collection(settings.milvus_collection)
    elif store == "neo4j":
        with GraphDatabase.driver(
            settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password), notifications_min_severity="OFF"
        ) as driver:
            for label in LABELS:
                query = namespaced(
                    f"MATCH (n:{label}) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n",
                    settings.neo4j_label_prefix,
                )
                while driver.execute_query(query, database_=settings.neo4j_database).records[0]["n"]:
                    pass
    elif store == "redis":
        client = Redis.from_url(settings.redis_url)
        for pattern in (f"{settings.redis_prefix}gen:*", f"{settings.redis_prefix}checkpoint:*"):
            batch = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(batch), 500):
                client.delete(*batch[start : start + 500])
