"""The erasure proof: what each store still holds of a user (and of given memory ids), counted.

After ``UserErased`` (or ``MemoryForgotten``) every projection must hold nothing of it; ``holdings`` asks
each store directly rather than trusting the projectors. Zero everywhere is the proof.

What "of the user" means per store:
- PostgreSQL: the user's rows in ``memories``, ``conversation_turns``, ``conversation_sessions``, ``core_blocks``
  and ``core_block_versions``; rows of the user's memories in
  ``memory_versions``, ``memory_accesses`` and ``memory_lineage`` (tables that do not exist count zero).
  History rows carry no user id, so they are found by memory id: the ids given, and every id any store
  still links to the user (the user's memories anywhere, PostgreSQL's tombstones of the user). An id no
  store remembers and no one names cannot be checked; pass the ids known elsewhere (e.g. from write
  receipts) with ``memory_ids``. Tombstones and applied erasures are not counted: they are the
  projection's record of the deletion (ids and times, no text), kept so a redelivered event cannot undo it.
- Milvus: rows of the user, or with one of the ids.
- Neo4j: nodes carrying the user's scope key (user, memories, entities), and memories with one of the ids.
- Redis: the user's cached searches and cache generation. (The cache epoch counters of
  ``projections.cache_epochs`` hold no data and are not counted.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from memory.contract.events import Scope
from memory.settings import Settings
from projections.milvus.expressions import ids_filter, scope_filter
from projections.neo4j.labels import namespaced
from projections.redis.keys import generation_key, search_pattern
from projections.targets import LIVE, ensure_pointer_table, settings_for_target

FETCH_IDS = 500


def holdings(settings: Settings, app_id: str, user_id: str, memory_ids: Iterable[str] | None = None) -> dict[str, int]:
    """``"<store>.<part>"`` → how many rows, nodes or keys of the user (or the ids) it still holds."""
    scope = Scope(app_id, user_id)
    # One connection per URI, shared by every MilvusClient of the process (pymilvus keys them by URI): asking
    # again and again (erasure receipts) opens nothing new, and closing it here would close it for everyone.
    milvus = MilvusClient(uri=settings.milvus_uri)
    auth = (settings.neo4j_user, settings.neo4j_password)
    with (
        psycopg.connect(settings.postgres_dsn, autocommit=True) as conn,
        GraphDatabase.driver(settings.neo4j_uri, auth=auth, notifications_min_severity="OFF") as driver,
    ):
        # Any store's link between the user and a memory id widens what every store is checked for.
        milvus_ids = _milvus_ids(milvus, settings.milvus_collection, scope)
        neo4j_ids = _neo4j_ids(driver, settings, scope)
        ids = set(memory_ids or ()) | _postgres_ids(conn, scope) | milvus_ids | neo4j_ids
        counts = _postgres_counts(conn, scope, sorted(ids))
        counts["milvus.rows"] = len(milvus_ids) + _milvus_others(
            milvus, settings.milvus_collection, sorted(ids - milvus_ids)
        )
        counts["neo4j.nodes"] = _neo4j_nodes(driver, settings, scope, sorted(ids - neo4j_ids))
    redis = Redis.from_url(settings.redis_url)
    try:
        counts["redis.keys"] = _redis_keys(redis, settings.redis_prefix, scope)
    finally:
        redis.close()
    return counts


def left(counts: dict[str, int]) -> int:
    """How much is left in all: zero is the proof."""
    return sum(counts.values())


def targets_to_check(settings: Settings) -> list[str]:
    """Every target a store may still hold data in: the live one (the API's search cache is keyed by the live
    prefix whatever the target), each store's serving target, and the one it served before a switch (a rebuild
    switched without ``--drop-old`` leaves it behind, with whatever it held then)."""
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        ensure_pointer_table(conn)
        rows = conn.execute("SELECT target, previous FROM memstream_targets").fetchall()
    named = {name for row in rows for name in row if name}
    return [LIVE, *sorted(named - {LIVE})]


def holdings_by_target(
    settings: Settings, app_id: str, user_id: str, memory_ids: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """``holdings`` in every target of ``targets_to_check``: target → ``"<store>.<part>"`` → count."""
    ids = list(memory_ids or ())
    return {
        target: holdings(settings_for_target(settings, target), app_id, user_id, ids)
        for target in targets_to_check(settings)
    }


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def _postgres_ids(conn: psycopg.Connection[Any], scope: Scope) -> set[str]:
    ids: set[str] = set()
    for table in ("memories", "memory_tombstones"):
        if _exists(conn, table):
            rows = conn.execute(
                f"SELECT memory_id FROM {table} WHERE app_id = %s AND user_id = %s", (scope.app_id, scope.user_id)
            ).fetchall()
            ids.update(r[0] for r in rows)
    return ids


def _postgres_counts(conn: psycopg.Connection[Any], scope: Scope, ids: list[str]) -> dict[str, int]:
    user = (scope.app_id, scope.user_id)
    queries: dict[str, tuple[str, tuple[Any, ...]]] = {
        "memories": ("(app_id = %s AND user_id = %s) OR memory_id = ANY(%s)", (*user, ids)),
        "memory_versions": ("memory_id = ANY(%s)", (ids,)),
        "memory_accesses": ("memory_id = ANY(%s)", (ids,)),
        # Only once the lineage projection exists (its table comes with a newer PostgreSQL projector).
        "memory_lineage": ("from_memory_id = ANY(%s) OR to_memory_id = ANY(%s)", (ids, ids)),
        "conversation_turns": ("app_id = %s AND user_id = %s", user),
        "conversation_sessions": ("app_id = %s AND user_id = %s", user),
        "core_blocks": ("app_id = %s AND user_id = %s", user),
        "core_block_versions": ("app_id = %s AND user_id = %s", user),
    }
    counts: dict[str, int] = {}
    for table, (where, params) in queries.items():
        found = 0
        if _exists(conn, table):
            row = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()
            found = int(row[0]) if row else 0
        counts[f"postgres.{table}"] = found
    return counts


def _milvus_ids(client: MilvusClient, collection: str, scope: Scope) -> set[str]:
    if not client.has_collection(collection):
        return set()
    iterator = client.query_iterator(
        collection, batch_size=1000, filter=scope_filter(scope.app_id, scope.user_id), output_fields=["memory_id"]
    )
    ids: set[str] = set()
    try:
        while batch := iterator.next():
            ids.update(row["memory_id"] for row in batch)
    finally:
        iterator.close()
    return ids


def _milvus_others(client: MilvusClient, collection: str, ids: list[str]) -> int:
    """Rows with one of these ids (which are not the user's rows by scope: those are counted already)."""
    if not ids or not client.has_collection(collection):
        return 0
    found = 0
    for start in range(0, len(ids), FETCH_IDS):
        chunk = ids[start : start + FETCH_IDS]
        found += len(client.query(collection, filter=ids_filter(chunk), output_fields=["memory_id"]))
    return found


def _neo4j_ids(driver: Driver, settings: Settings, scope: Scope) -> set[str]:
    query = namespaced("MATCH (m:Memory {scope_key: $key}) RETURN m.memory_id AS id", settings.neo4j_label_prefix)
    records, _, _ = driver.execute_query(query, key=scope.key, database_=settings.neo4j_database)
    return {r["id"] for r in records}


def _neo4j_nodes(driver: Driver, settings: Settings, scope: Scope, other_ids: list[str]) -> int:
    """Nodes of the scope (user, memories, entities, topics) plus memories with the other ids, wherever they sit."""
    query = namespaced(
        """
        CALL () {
          MATCH (m:Memory {scope_key: $key}) RETURN count(m) AS n
          UNION ALL MATCH (e:Entity {scope_key: $key}) RETURN count(e) AS n
          UNION ALL MATCH (t:Topic {scope_key: $key}) RETURN count(t) AS n
          UNION ALL MATCH (u:User {scope_key: $key}) RETURN count(u) AS n
          UNION ALL UNWIND $ids AS id MATCH (m:Memory {memory_id: id})
            WHERE m.scope_key IS NULL OR m.scope_key <> $key RETURN count(m) AS n
        }
        RETURN sum(n) AS total
        """,
        settings.neo4j_label_prefix,
    )
    records, _, _ = driver.execute_query(query, key=scope.key, ids=other_ids, database_=settings.neo4j_database)
    return int(records[0]["total"])


def _redis_keys(client: Redis, prefix: str, scope: Scope) -> int:
    cached = sum(1 for _ in client.scan_iter(match=search_pattern(prefix, scope.key), count=1000))
    return cached + int(client.exists(generation_key(prefix, scope.key)))
