"""The services the controllers use, built once at start-up from settings and closed at shutdown.

Reads follow the projection target pointer (blue/green rebuilds): each request resolves which target each
store serves (cached for a second) and reads through a pool for that target's PostgreSQL schema and that
target's Milvus collection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

from neo4j import AsyncDriver, AsyncGraphDatabase
from psycopg_pool import AsyncConnectionPool
from pymilvus import MilvusClient
from redis.asyncio import Redis

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.token_key import token_key
from api.access import AccessRecorder
from api.cache import SearchCache
from api.consistency import ConsistencyWaiter
from api.context import ContextBuilder
from api.reader import MemoryReader
from api.retrievers.base import RetrieverImpl
from api.retrievers.dense import DenseRetriever
from api.retrievers.graph import GraphRetriever
from api.retrievers.sparse import SparseRetriever
from api.retrievers.temporal import TemporalRetriever
from api.search import SearchEngine
from api.turn_positions import TurnPositions
from api.writer import CommandWriter, MemoryWriter
from memory.contract.codec import Codec
from memory.retrieval.recipes import Retriever
from memory.settings import Settings
from models.embedder import Embedder, build_embedder
from models.tokens import TokenCounter
from projections.milvus.collection import ensure_collection
from projections.targets import active_targets, settings_for_target

POINTER_TTL_SECONDS = 1.0
FANOUT = 16


@dataclass
class ReadView:
    """What one request reads: the reader and search service of the targets serving now."""

    reader: MemoryReader
    search: SearchEngine
    pool: AsyncConnectionPool
    dsn: str


@dataclass
class Services:
    settings: Settings
    writer: MemoryWriter
    commands: CommandWriter
    milvus: MilvusClient
    embedder: Embedder
    consistency: ConsistencyWaiter
    graph: AsyncDriver
    cache: SearchCache
    access: AccessRecorder
    context: ContextBuilder
    # The write path's producer, also asked by /ready whether the broker answers (api/readiness.py).
    producer: SyncProducer
    # Bounded fan-out: at most this many retriever calls in flight across all requests of this process.
    fanout: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(FANOUT))
    _pools: dict[str, AsyncConnectionPool] = field(default_factory=dict)
    _targets: dict[str, str] = field(default_factory=dict)
    _targets_read_at: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def targets(self) -> dict[str, str]:
        if time.monotonic() - self._targets_read_at > POINTER_TTL_SECONDS:
            self._targets = await asyncio.to_thread(active_targets, self.settings.postgres_dsn)
            self._targets_read_at = time.monotonic()
        return self._targets

    async def _pool(self, dsn: str) -> AsyncConnectionPool:
        async with self._lock:
            pool = self._pools.get(dsn)
            if pool is None:
                # check=: a connection a PostgreSQL restart killed is replaced before a request gets it.
                pool = AsyncConnectionPool(
                    dsn, min_size=1, max_size=8, open=False, check=AsyncConnectionPool.check_connection
                )
                await pool.open(wait=True, timeout=30)
                self._pools[dsn] = pool
            return pool

    async def view(self) -> ReadView:
        targets = await self.targets()
        pg = settings_for_target(self.settings, targets["postgres"])
        collection = settings_for_target(self.settings, targets["milvus"]).milvus_collection
        label_prefix = settings_for_target(self.settings, targets["neo4j"]).neo4j_label_prefix
        pool = await self._pool(pg.postgres_dsn)
        reader = MemoryReader(pool)
        dense = DenseRetriever(self.milvus, collection)
        sparse = SparseRetriever(pool)
        temporal = TemporalRetriever(pool, dense, sparse)
        retrievers: dict[Retriever, RetrieverImpl] = {
            Retriever.DENSE: dense,
            Retriever.SPARSE: sparse,
            Retriever.GRAPH: GraphRetriever(self.graph, self.settings.neo4j_database, label_prefix),
            Retriever.TEMPORAL: temporal,
        }
        engine = SearchEngine(
            retrievers,
            temporal,
            reader,
            self.embedder,
            self.fanout,
            self.cache,
            self.access,
            session_gap=timedelta(minutes=self.settings.session_gap_minutes),
            positions=TurnPositions(reader, self.cache, targets["postgres"]),
        )
        return ReadView(reader, engine, pool, pg.postgres_dsn)

    async def close(self) -> None:
        await self.consistency.close()
        for pool in self._pools.values():
            await pool.close()
        await self.graph.close()
        await self.cache.close()
        await asyncio.to_thread(self.access.flush)


async def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    ensure_topics(settings)
    milvus = MilvusClient(uri=settings.milvus_uri)
    ensure_collection(milvus, settings.milvus_collection, settings.embedding_dim)
    codec = Codec()
    producer = SyncProducer(make_producer(settings))
    key = token_key(settings)  # one key signs and checks every token; see memory/contract/token_key.py
    services = Services(
        settings=settings,
        writer=MemoryWriter(settings, producer, codec, key),
        commands=CommandWriter(settings, producer, codec, key),
        milvus=milvus,
        embedder=embedder or build_embedder(settings, for_queries=True),
        consistency=ConsistencyWaiter(settings, key),
        graph=AsyncGraphDatabase.driver(
            settings.neo4j_uri,
            auth=(settings.neo4j_user, settings.neo4j_password),
            notifications_min_severity="OFF",
        ),
        cache=SearchCache(Redis.from_url(settings.redis_url), settings.redis_prefix, settings.search_cache_ttl_seconds),
        # Its own producer: access records must never queue behind (or slow) the write path's acknowledgements.
        access=AccessRecorder(make_producer(settings), codec, settings.topics.memories),
        context=ContextBuilder(TokenCounter()),
        producer=producer,
    )
    await services.view()  # fail at start-up, not on the first request, if PostgreSQL is unreachable
    return services
