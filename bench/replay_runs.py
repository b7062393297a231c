"""bench.replay's replays: fresh targets per run (and their clean-up), the real runner timed per projection,
and Milvus Lite's own insert ceiling.

Apart from ``bench.replay`` (the command line and the report) so that the entry module reads as the run it
is; the synthetic log they consume is ``bench.replay_log``'s.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from adapters.kafka_auth import client_config
from bench.replay_log import DIM, messages_in, milvus_rows
from memory.contract.codec import Codec
from memory.settings import Settings
from projections.base import Projector
from projections.milvus.collection import ensure_collection
from projections.milvus.projector import MilvusProjector
from projections.neo4j.labels import LABELS
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from projections.runner import ProjectorRunner
from tests.support import create_schema, unique

TIMEOUT_S = 3600.0


# ── fresh targets and their clean-up ──────────────────────────────────────────────────────────────────


@dataclass
class Scratch:
    """Everything this run creates, so that it can all be removed."""

    base: Settings
    schemas: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)

    def dsn(self) -> str:
        self.schemas.append(unique("replay_"))
        return create_schema(self.base.postgres_dsn, self.schemas[-1])

    def collection(self) -> str:
        self.collections.append(unique("replay_"))
        return self.collections[-1]

    def prefix(self) -> str:
        self.prefixes.append(unique("Replay"))
        return self.prefixes[-1]

    def group(self, name: str) -> str:
        self.groups.append(unique(f"bench.replay.{name}."))
        return self.groups[-1]

    def driver(self) -> Driver:
        s = self.base
        auth = (s.neo4j_user, s.neo4j_password)
        driver = GraphDatabase.driver(s.neo4j_uri, auth=auth, notifications_min_severity="OFF")
        self.drivers.append(driver)
        return driver

    def clean(self) -> None:
        with psycopg.connect(self.base.postgres_dsn, autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        milvus = MilvusClient(uri=self.base.milvus_uri)
        for name in self.collections:
            milvus.drop_collection(name)
        redis = Redis.from_url(self.base.redis_url)
        driver = self.driver()
        for prefix in self.prefixes:
            for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
                redis.delete(key)
            _drop_graph(driver, self.base.neo4j_database, prefix)
        for each in self.drivers:
            each.close()
        admin = AdminClient(client_config(self.base))
        for futures in (
            admin.delete_consumer_groups(self.groups, request_timeout=30) if self.groups else {},
            admin.delete_topics(self.topics, operation_timeout=30) if self.topics else {},
        ):
            for future in futures.values():
                try:
                    future.result()
                except KafkaException as exc:
                    print(f"  clean-up: {exc}")


def _drop_graph(driver: Driver, database: str, prefix: str) -> None:
    with driver.session(database=database) as session:
        for label in LABELS:
            session.run(
                f"MATCH (n:{prefix}{label}) CALL {{ WITH n DETACH DELETE n }} IN TRANSACTIONS OF 5000 ROWS"
            ).consume()
        for kind in ("CONSTRAINTS", "INDEXES"):
            names = [r["name"] for r in session.run(f"SHOW {kind} YIELD name RETURN name")]
            for name in names:
                if name.startswith(prefix.lower()):
                    session.run(f"DROP {kind[:-1] if kind == 'CONSTRAINTS' else 'INDEX'} {name} IF EXISTS").consume()


def factory(name: str, settings: Settings, scratch: Scratch) -> Callable[[], Projector]:
    memories, turns = settings.topics.memories, settings.topics.turns
    if name == "postgres":
        dsn = scratch.dsn()
        return lambda: PostgresProjector(dsn, (turns, memories))
    if name == "milvus":
        collection = scratch.collection()
        return lambda: MilvusProjector(MilvusClient(uri=settings.milvus_uri), collection, DIM, (memories,))
    if name == "neo4j":
        prefix, driver = scratch.prefix(), scratch.driver()
        return lambda: Neo4jProjector(driver, settings.neo4j_database, (memories,), label_prefix=prefix)
    if name == "redis":
        prefix = scratch.prefix()
        return lambda: RedisProjector(Redis.from_url(settings.redis_url), (memories,), prefix=f"{prefix}:")
    raise ValueError(name)


# ── replays ───────────────────────────────────────────────────────────────────────────────────────────


class Timed:
    """The projector as the runner sees it, plus when its first batch came and the time spent applying."""

    def __init__(self, inner: Projector):
        self.inner = inner
        self.name = inner.name
        self.topics = inner.topics
        self.first_batch_at: float | None = None
        self.apply_s = 0.0
        self.batches = 0

    def checkpoints(self) -> dict[tuple[str, int], int]:
        return self.inner.checkpoints()

    def apply_batch(self, items: Any) -> None:
        started = time.perf_counter()
        self.first_batch_at = self.first_batch_at or started
        self.inner.apply_batch(items)
        self.apply_s += time.perf_counter() - started
        self.batches += 1

    def close(self) -> None:
        self.inner.close()


def timing(make: Callable[[], Projector]) -> Callable[[], Projector]:
    return lambda: Timed(make())


def replay(names: tuple[str, ...], settings: Settings, scratch: Scratch, batch_size: int) -> dict[str, Any]:
    """Run one runner per projection concurrently from offset 0 until each has taken its whole log."""
    codec = Codec()
    runners: dict[str, ProjectorRunner] = {}
    expected: dict[str, int] = {}
    for name in names:
        make = timing(factory(name, settings, scratch))
        runner = ProjectorRunner(make, settings, codec, scratch.group(name), batch_size)
        runners[name] = runner
        expected[name] = messages_in(settings, list(runner.projector.topics))
    load_before = os.getloadavg()[0]
    threads = {name: threading.Thread(target=r.run, name=f"replay-{name}", daemon=True) for name, r in runners.items()}
    started = time.perf_counter()
    for thread in threads.values():
        thread.start()
    finished: dict[str, float] = {}
    try:
        while len(finished) < len(runners):
            for name, runner in runners.items():
                if name not in finished and runner.applied + runner.dead_lettered >= expected[name]:
                    finished[name] = time.perf_counter()
                elif name not in finished and not threads[name].is_alive():
                    raise RuntimeError(f"{name} runner stopped after {runner.applied} of {expected[name]} messages")
            if time.perf_counter() - started > TIMEOUT_S:
                raise TimeoutError(f"replay of {names} unfinished after {TIMEOUT_S:.0f}s")
            time.sleep(0.02)
    finally:
        for runner in runners.values():
            runner.stop_event.set()
        for thread in threads.values():
            thread.join(timeout=60)
    result: dict[str, Any] = {"load_avg_1m_before": round(load_before, 2)}
    for name, runner in runners.items():
        timed = runner.projector
        assert isinstance(timed, Timed)
        seconds = finished[name] - started
        result[name] = {
            "events": expected[name],
            "dead_lettered": runner.dead_lettered,
            "seconds": round(seconds, 2),
            "events_per_s": round(expected[name] / seconds, 1),
            "first_batch_after_s": round((timed.first_batch_at or started) - started, 2),
            "batches": timed.batches,
            "apply_s": round(timed.apply_s, 2),
            "apply_share": round(timed.apply_s / seconds, 3),  # the rest: consume, decode, commit
        }
    return result


# ── Milvus Lite's own ceiling ─────────────────────────────────────────────────────────────────────────


def milvus_ceiling(settings: Settings, scratch: Scratch, count: int, scopes: int, batch: int) -> dict[str, Any]:
    """Plain inserts of the same rows in big batches into a fresh collection; only the insert calls are timed."""
    client = MilvusClient(uri=settings.milvus_uri)
    collection = scratch.collection()
    ensure_collection(client, collection, DIM)
    rows = 0
    spent = 0.0
    pending: list[dict[str, Any]] = []
    for row in itertools.chain(milvus_rows(count, scopes), [None]):
        if row is not None:
            pending.append(row)
        if pending and (row is None or len(pending) >= batch):
            started = time.perf_counter()
            client.insert(collection, pending)
            spent += time.perf_counter() - started
            rows += len(pending)
            pending = []
    client.drop_collection(collection)
    return {"rows": rows, "batch": batch, "seconds": round(spent, 2), "rows_per_s": round(rows / spent, 1)}
