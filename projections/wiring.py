"""Builds each projector from settings: the one place that knows which client each store needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from neo4j import GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from memory.settings import Settings
from projections.base import Projector
from projections.milvus.projector import MilvusProjector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector

PROJECTION_NAMES = ("postgres", "milvus", "neo4j", "redis")


def metrics_port(settings: Settings, names: list[str] | tuple[str, ...]) -> int:
    """Where a projections process running ``names`` serves its metrics: ``projections_metrics_port`` plus the
    position of its first store in ``PROJECTION_NAMES`` (all of them: the port itself). Processes splitting the
    stores between them on one host (``python -m projections postgres``, ``... neo4j redis``) each get their own
    port without a setting apiece; the Helm chart computes the same (templates/_helpers.tpl). 0 stays 0 (none)."""
    base = settings.projections_metrics_port
    if base <= 0 or not names:
        return base
    return base + min(PROJECTION_NAMES.index(name) for name in names)


def projector_factory(name: str, settings: Settings) -> Callable[[], Projector]:
    memories = (settings.topics.memories,)
    if name == "postgres":
        return lambda: PostgresProjector(
            settings.postgres_dsn,
            (settings.topics.turns, *memories),
            max_turn_chars=settings.max_content_chars,
            session_gap=timedelta(minutes=settings.session_gap_minutes),
        )
    if name == "milvus":
        return lambda: MilvusProjector(
            MilvusClient(uri=settings.milvus_uri), settings.milvus_collection, settings.embedding_dim, memories
        )
    if name == "neo4j":
        return lambda: Neo4jProjector(
            GraphDatabase.driver(
                settings.neo4j_uri,
                auth=(settings.neo4j_user, settings.neo4j_password),
                notifications_min_severity="OFF",  # "constraint already exists" on every start is noise
            ),
            settings.neo4j_database,
            memories,
            label_prefix=settings.neo4j_label_prefix,
        )
    if name == "redis":
        return lambda: RedisProjector(Redis.from_url(settings.redis_url), memories, prefix=settings.redis_prefix)
    raise ValueError(f"unknown projection {name!r}; choose from {PROJECTION_NAMES}")
