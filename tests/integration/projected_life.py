"""A small life projected with the real PostgreSQL, Milvus and Neo4j projectors, and the API's own search
services over it: what the retrieval tests search (tests/integration/test_retrieval.py, test_topic_walk.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient

from api.services import Services, build_services
from memory.contract.events import ConversationTurnReceived, Event, MemoryExtracted
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from tests.support import pipeline_events


@dataclass
class Stores:
    settings: Settings
    postgres: PostgresProjector
    milvus: MilvusProjector
    neo4j: Neo4jProjector
    offset: int = 0

    def apply(self, events: list[Event]) -> None:
        items = [
            Positioned(e, LogPosition(self.settings.topics.memories, 0, self.offset + i)) for i, e in enumerate(events)
        ]
        self.offset += len(events)
        for projector in (self.postgres, self.milvus, self.neo4j):
            projector.apply_batch(items)

    def say(self, turn: ConversationTurnReceived, embed: Callable[[list[str]], Any]) -> str:
        """Project what the pipeline makes of the turn (``tests.support.pipeline_events``); returns the id of
        its first memory."""
        events = pipeline_events([turn], embed)
        self.apply(events)
        return next(e.memory_id for e in events if isinstance(e, MemoryExtracted))


@dataclass
class Life:
    stores: Stores
    user: str
    ids: dict[str, str]  # label → memory id


def open_stores(settings: Settings) -> tuple[Stores, Driver]:
    """The projectors of one isolated namespace, and the Neo4j driver to close when done."""
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    topics = (settings.topics.memories,)
    stores = Stores(
        settings,
        PostgresProjector(settings.postgres_dsn, topics),
        MilvusProjector(
            MilvusClient(uri=settings.milvus_uri), settings.milvus_collection, settings.embedding_dim, topics
        ),
        Neo4jProjector(driver, settings.neo4j_database, topics, label_prefix=settings.neo4j_label_prefix),
    )
    return stores, driver


@asynccontextmanager
async def search_services(life: Life, embedder) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    built = await build_services(life.stores.settings, embedder=embedder)
    try:
        yield built
    finally:
        await built.close()
