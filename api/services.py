"""The services the controllers use, built once at start-up from settings and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from pymilvus import MilvusClient

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from api.reader import MemoryReader
from api.search import SearchService
from api.writer import MemoryWriter
from memory.codec import Codec
from memory.settings import Settings
from models.embedder import Embedder, build_embedder
from projections.milvus.collection import ensure_collection


@dataclass
class Services:
    settings: Settings
    pool: AsyncConnectionPool
    writer: MemoryWriter
    reader: MemoryReader
    search: SearchService

    async def close(self) -> None:
        await self.pool.close()


async def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    ensure_topics(settings)
    codec = Codec()
    pool = AsyncConnectionPool(settings.postgres_dsn, min_size=1, max_size=8, open=False)
    await pool.open(wait=True, timeout=30)
    milvus = MilvusClient(uri=settings.milvus_uri)
    ensure_collection(milvus, settings.milvus_collection, settings.embedding_dim)
    reader = MemoryReader(pool)
    return Services(
        settings=settings,
        pool=pool,
        writer=MemoryWriter(settings, SyncProducer(make_producer(settings)), codec),
        reader=reader,
        search=SearchService(pool, milvus, settings.milvus_collection, embedder or build_embedder(settings), reader),
    )
