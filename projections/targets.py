"""Projection targets: where a projection's data lives, so that a rebuild can run beside the live one.

A target is a name. ``live`` is what the settings point at; any other name ``N`` lives beside it: the
PostgreSQL schema ``N``, the Milvus collection ``<collection>__N``, the Neo4j label prefix ``N_`` and the
Redis prefix ``<prefix>N:``. Which target each store serves is a row in ``memstream_targets`` in the live
PostgreSQL schema; switching stores to a rebuilt target is one transaction (blue/green), and the
projectors and the API follow the switch.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from memory.settings import Settings

LIVE = "live"
STORES = ("postgres", "milvus", "neo4j", "redis")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

POINTER_DDL = """
CREATE TABLE IF NOT EXISTS memstream_targets (
    store       text PRIMARY KEY,
    target      text NOT NULL,
    previous    text,
    switched_at timestamptz NOT NULL DEFAULT now()
)
"""


class TargetError(ValueError):
    pass


def validate_name(name: str) -> str:
    if name != LIVE and not _NAME.match(name):
        raise TargetError(f"target name {name!r} must match {_NAME.pattern}")
    return name


def with_search_path(dsn: str, schema: str) -> str:
    """The DSN with ``-csearch_path=<schema>`` replacing any search path already in its options."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    options = [o for o in dict(parse_qsl(parts.query)).get("options", "").split() if "search_path" not in o]
    options.append(f"-csearch_path={schema}")
    query.append(("options", " ".join(options)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def settings_for_target(settings: Settings, target: str) -> Settings:
    """Settings whose stores are the given target's (``live``: unchanged)."""
    validate_name(target)
    if target == LIVE:
        return settings
    return replace(
        settings,
        postgres_dsn=with_search_path(settings.postgres_dsn, target),
        milvus_collection=f"{settings.milvus_collection}__{target}",
        neo4j_label_prefix=f"{settings.neo4j_label_prefix}{target.capitalize()}_",
        redis_prefix=f"{settings.redis_prefix}{target}:",
    )


def group_id(settings: Settings, store: str, target: str) -> str:
    """One consumer group per (store, target): a rebuild's committed offsets are what the live projector
    continues from after the switch (Milvus keeps no checkpoint of its own)."""
    base = f"{settings.consumer_group_prefix}.projection.{store}"
    return base if target == LIVE else f"{base}.{target}"


def ensure_pointer_table(conn: psycopg.Connection) -> None:
    # Another process may create it at the same moment: IF NOT EXISTS is not atomic in PostgreSQL.
    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
        conn.execute(POINTER_DDL)


def active_targets(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_pointer_table(conn)
        rows = conn.execute("SELECT store, target FROM memstream_targets").fetchall()
    found: dict[str, str] = {store: target for store, target in rows}
    return {store: found.get(store, LIVE) for store in STORES}


def switch_targets(dsn: str, stores: tuple[str, ...], target: str) -> dict[str, str]:
    """Point every store in ``stores`` at ``target`` at once; returns what each pointed at before."""
    validate_name(target)
    before = active_targets(dsn)
    with psycopg.connect(dsn) as conn, conn.transaction():
        for store in stores:
            conn.execute(
                "INSERT INTO memstream_targets (store, target, previous) VALUES (%s, %s, %s)"
                " ON CONFLICT (store) DO UPDATE SET previous = memstream_targets.target, target = EXCLUDED.target,"
                " switched_at = now()",
                (store, target, before[store]),
            )
    return {store: before[store] for store in stores}


def create_postgres_schema(settings: Settings, target: str) -> None:
    if target == LIVE:
        return
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{validate_name(target)}"')


class ConsumerGroup(NamedTuple):
    role: str  # "worker", or "projection <store> (<target>)"
    topics: tuple[str, ...]  # every topic the group reads


def consumer_groups(settings: Settings, targets: dict[str, str]) -> dict[str, ConsumerGroup]:
    """Every consumer group of the pipeline, by group id: the Faust worker's, and each projection's for the target
    it serves (``targets``: store -> target). The one list the pipeline page and ``memstream status`` read lag for.
    The PostgreSQL projector also reads the turns: it keeps the conversation log."""
    topics = settings.topics
    groups = {settings.faust_app_id: ConsumerGroup("worker", (topics.turns, topics.commands, topics.memories))}
    for store, target in sorted(targets.items()):
        read = (topics.turns, topics.memories) if store == "postgres" else (topics.memories,)
        groups[group_id(settings, store, target)] = ConsumerGroup(f"projection {store} ({target})", read)
    return groups
