"""Rebuilding projections from the log: events per second through the real runner, per store and all at once.

A synthetic log (users spread over ``--scopes`` scopes; per turn a ``ConversationTurnReceived`` and one to
three memories, each ``MemoryExtracted`` + ``EntitiesLinked`` + ``MemoryEmbedded`` (384-d seeded random unit
vector) + ``MemoryActivated``) is produced to fresh topics on the real broker. Then each projection — and
all four at once, one thread each as ``python -m projections`` runs them — consumes it from offset 0 with
``projections.runner.ProjectorRunner`` (new consumer group, fresh targets: PostgreSQL schema, Milvus
collection, Neo4j label prefix, Redis key prefix). The clock runs from the runner's start (group join
included) until it has taken every message of its topics. ``--topic`` replays an existing log as well,
e.g. the memories topic a LoCoMo ingest (``bench.ingest``) left behind.

Milvus Lite's own ceiling is measured in the same run: plain ``MilvusClient.insert`` of the same rows in
big batches into a scratch collection, before and after the Milvus replay; the higher is the ceiling.
Everything the run creates (topics, groups, schemas, collections, labels, keys) is removed at the end.

    .venv/bin/python -m bench.replay                      # 200,000 events
    .venv/bin/python -m bench.replay --events 20000 --topic test.t1827ae4909.memories
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import psycopg
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from adapters.kafka import ensure_topics, make_producer
from bench.common import write_results
from memory.contract.codec import Codec
from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    Producer,
    Relation,
    Scope,
)
from memory.contract.ids import derived_event_id, entity_id_for, memory_id_for
from memory.settings import Settings, Topics
from projections.base import Projector
from projections.milvus.collection import ensure_collection
from projections.milvus.projector import MilvusProjector
from projections.neo4j.labels import LABELS
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from projections.runner import ProjectorRunner
from tests.support import create_schema, unique

NAMES = ("postgres", "milvus", "neo4j", "redis")
DIM = 384
MODEL = "synthetic-384"
PEOPLE = ["Nora", "Sam", "Lea", "Omar", "Kenji", "Ines", "Tom", "Priya"]
PLACES = ["Paris", "Lisbon", "Berlin", "Tokyo", "Oslo", "Rome", "Austin", "Lima"]
THINGS = ["pottery", "coffee", "tennis", "jazz", "a puppy named Rex", "the marathon", "a new laptop", "climbing"]
VERBS = ["loves", "visited", "booked", "recommended", "finished", "planned", "bought", "started"]
WHEN = ["last week", "yesterday", "in May", "every Saturday", "two years ago", "next month"]
TIMEOUT_S = 3600.0
_PRODUCER = Producer("bench.replay")


# ── the synthetic log ─────────────────────────────────────────────────────────────────────────────────


def synthetic_events(count: int, scopes: int, seed: int = 7) -> Iterator[Event]:
    """At least ``count`` events in log order, whole turns only. Deterministic for a seed."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    produced = 0
    turn_no = 0
    while produced < count:
        scope = Scope("bench-replay", f"user-{turn_no % scopes}")
        at = t0 + timedelta(seconds=30 * turn_no)
        turn_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-replay/{seed}/{turn_no}"))
        facts = [_fact(rng) for _ in range(rng.randint(1, 3))]

        def env(kind: str, event_id: str, delay: int, scope: Scope = scope, at: datetime = at) -> Envelope:
            return Envelope(event_id, kind, 1, scope, at, at + timedelta(seconds=delay), None, None, _PRODUCER)

        yield ConversationTurnReceived(
            env("ConversationTurnReceived", turn_id, 0),
            "bench",
            str(turn_no),
            "user",
            "Alex",
            " ".join(text for text, _, _ in facts),
        )
        produced += 1
        unit = vectors.standard_normal((len(facts), DIM), dtype=np.float32)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        for position, (text, names, relation) in enumerate(facts):
            memory_id = memory_id_for(turn_id, position)
            extracted = env("MemoryExtracted", derived_event_id(turn_id, "MemoryExtracted", position), 1)
            entities = tuple(Entity(entity_id_for(scope.key, n), n, k) for n, k in names)
            subject, target = entity_id_for(scope.key, "Alex"), entity_id_for(scope.key, names[-1][0])
            relations = (Relation(subject, relation, target),) if relation else ()
            yield MemoryExtracted(
                extracted, memory_id, text, "fact", (str(turn_no),), (turn_id,), 0.5, "bench", {"role": "user"}
            )
            linked = env("EntitiesLinked", derived_event_id(turn_id, "EntitiesLinked", position), 1)
            yield EntitiesLinked(linked, memory_id, entities, relations)
            embedded = env("MemoryEmbedded", derived_event_id(extracted.event_id, "MemoryEmbedded"), 2)
            yield MemoryEmbedded(embedded, memory_id, MODEL, tuple(unit[position].tolist()))
            activated = env("MemoryActivated", derived_event_id(extracted.event_id, "MemoryActivated"), 2)
            yield MemoryActivated(activated, memory_id)
            produced += 4
        turn_no += 1


def _fact(rng: random.Random) -> tuple[str, list[tuple[str, str]], str]:
    person, place, thing = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(THINGS)
    text = f"Alex {rng.choice(VERBS)} {thing} with {person} in {place} {rng.choice(WHEN)}."
    return text, [("Alex", "person"), (person, "person"), (place, "place")], rng.choice(["", "KNOWS", "VISITED"])


def produce_log(settings: Settings, count: int, scopes: int) -> dict[str, Any]:
    ensure_topics(settings)
    codec = Codec()
    producer = make_producer(settings, **{"queue.buffering.max.messages": 500_000})
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    counts = {"turns": 0, "memory_events": 0, "memories": 0}
    started = time.perf_counter()
    for event in synthetic_events(count, scopes):
        is_turn = isinstance(event, ConversationTurnReceived)
        topic = settings.topics.turns if is_turn else settings.topics.memories
        counts["turns" if is_turn else "memory_events"] += 1
        counts["memories"] += isinstance(event, MemoryExtracted)
        while True:
            try:
                producer.produce(topic, codec.encode(event), event.scope.key.encode(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120) or errors:
        raise KafkaException(f"log not fully produced: {errors[:3]}")
    return {**counts, "events": counts["turns"] + counts["memory_events"], "produce_s": elapsed(started)}


def messages_in(settings: Settings, topics: list[str]) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": unique("bench-count-")})
    try:
        total = 0
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                total += high - low
        return total
    finally:
        consumer.close()


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
        admin = AdminClient({"bootstrap.servers": self.base.kafka_bootstrap})
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


def milvus_rows(count: int, scopes: int) -> Iterator[dict[str, Any]]:
    """The rows the Milvus projection ends with for the synthetic log, built the projector's way."""
    for event in synthetic_events(count, scopes):
        if isinstance(event, MemoryEmbedded):
            scope = event.scope
            yield {
                "memory_id": event.memory_id,
                "app_id": scope.app_id,
                "user_id": scope.user_id,
                "agent_id": "",
                "run_id": "",
                "state": "active",
                "occurred_at": int(event.envelope.occurred_at.timestamp() * 1000),
                "model": event.model,
                "vector": event.vector,
            }


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


# ── report ────────────────────────────────────────────────────────────────────────────────────────────


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def print_table(title: str, runs: dict[str, dict[str, Any]], log_events: int) -> None:
    print(f"\n{title}")
    print(f"  {'projection':<12} {'events':>8} {'seconds':>8} {'events/s':>9} {'apply share':>11}")

    def line(label: str, r: dict[str, Any]) -> None:
        print(f"  {label:<12} {r['events']:>8} {r['seconds']:>8} {r['events_per_s']:>9} {r['apply_share']:>11}")

    for name, run in runs.items():
        if name != "all":
            line(name, run[name])
            continue
        rate = round(log_events / run["seconds"], 1)
        print(f"  {'all four':<12} {log_events:>8} {run['seconds']:>8} {rate:>9}")
        for each in NAMES:
            line(f"  {each}", run[each])


def replay_all(settings: Settings, scratch: Scratch, batch_size: int, names: tuple[str, ...]) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for label, group in [*((name, (name,)) for name in names), ("all", NAMES)]:
        print(f"  replaying into {' + '.join(group)} ...", flush=True)
        runs[label] = with_retries(partial(replay, group, settings, scratch, batch_size))
        if label == "all":
            runs[label]["seconds"] = max(runs[label][n]["seconds"] for n in NAMES)
        summary = {n: runs[label][n]["events_per_s"] for n in group}
        print(f"    events/s {summary} (load {runs[label]['load_avg_1m_before']})", flush=True)
    return runs


def with_retries(run: Callable[[], dict[str, Any]], attempts: int = 3) -> dict[str, Any]:
    """A replay killed by the broker going away (the shared stack restarts it) is run again, on fresh targets."""
    for attempt in range(1, attempts + 1):
        try:
            return {**run(), "attempt": attempt}
        except (RuntimeError, KafkaException) as exc:
            if attempt == attempts:
                raise
            print(f"    attempt {attempt} failed ({exc}); waiting for the broker and trying again", flush=True)
            time.sleep(15)
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="synthetic log size (0: none)")
    parser.add_argument("--scopes", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500, help="the runner's batch (its default is 500)")
    parser.add_argument("--ceiling-batch", type=int, default=1000, help="rows per plain Milvus insert")
    parser.add_argument("--topic", help="also replay this existing memories topic (e.g. a LoCoMo ingest's)")
    parser.add_argument("--turns-topic", help="its turns topic (default: the sibling '.turns' if it exists)")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES), help="single-store replays to run")
    args = parser.parse_args()
    base = Settings.from_env()
    scratch = Scratch(base)
    body: dict[str, Any] = {
        "benchmark": "replay",
        "config": {"events": args.events, "scopes": args.scopes, "batch_size": args.batch_size},
    }
    try:
        if args.events:
            tag = unique("replay")
            topics = Topics(f"bench.{tag}.turns", f"bench.{tag}.commands", f"bench.{tag}.memories", f"bench.{tag}.dlq")
            scratch.topics.extend([topics.turns, topics.commands, topics.memories, topics.deadletter])
            settings = replace(base, topics=topics)
            print(f"producing a synthetic log of {args.events} events over {args.scopes} scopes ...", flush=True)
            log = produce_log(settings, args.events, args.scopes)
            print(f"  {log}", flush=True)
            ceiling_before = milvus_ceiling(settings, scratch, args.events, args.scopes, args.ceiling_batch)
            runs = replay_all(settings, scratch, args.batch_size, tuple(args.only))
            ceiling_after = milvus_ceiling(settings, scratch, args.events, args.scopes, args.ceiling_batch)
            ceiling = max(ceiling_before["rows_per_s"], ceiling_after["rows_per_s"])
            milvus: dict[str, Any] = {"insert_ceiling_before": ceiling_before, "insert_ceiling_after": ceiling_after}
            if "milvus" in runs:
                run = runs["milvus"]["milvus"]
                rows_per_s = log["memories"] / run["seconds"]
                writing = log["memories"] / run["apply_s"]  # inside apply_batch only: the store's share
                milvus.update(
                    ceiling_rows_per_s=ceiling,
                    ceiling_events_per_s=round(ceiling * run["events"] / log["memories"], 1),
                    projector_rows_per_s=round(rows_per_s, 1),
                    percent_of_ceiling=round(100 * rows_per_s / ceiling, 1),
                    apply_rows_per_s=round(writing, 1),
                    apply_percent_of_ceiling=round(100 * writing / ceiling, 1),
                )
            body["synthetic"] = {"log": log, "runs": runs, "milvus": milvus}
            print_table(f"synthetic log: {log['events']} events, batch {args.batch_size}", runs, log["events"])
            if "percent_of_ceiling" in milvus:
                print(
                    f"  Milvus Lite insert ceiling {ceiling} rows/s (before {ceiling_before['rows_per_s']}, after "
                    f"{ceiling_after['rows_per_s']}; batches of {args.ceiling_batch}) = "
                    f"{milvus['ceiling_events_per_s']} memory events/s at this log's events per row\n"
                    f"  Milvus projection: {milvus['projector_rows_per_s']} rows/s end to end "
                    f"= {milvus['percent_of_ceiling']} % of the ceiling; inside apply_batch "
                    f"{milvus['apply_rows_per_s']} rows/s = {milvus['apply_percent_of_ceiling']} %"
                )
        if args.topic:
            body["existing_log"] = replay_existing(base, scratch, args)
        path = write_results("replay", body)
        print(f"\nwrote {path}")
    finally:
        print("cleaning up ...", flush=True)
        scratch.clean()


def replay_existing(base: Settings, scratch: Scratch, args: argparse.Namespace) -> dict[str, Any]:
    turns = args.turns_topic
    if turns is None and args.topic.endswith(".memories"):
        sibling = args.topic[: -len(".memories")] + ".turns"
        admin = AdminClient({"bootstrap.servers": base.kafka_bootstrap})
        turns = sibling if sibling in admin.list_topics(timeout=10).topics else None
    tag = unique("replay")
    topics = Topics(turns or f"bench.{tag}.turns", f"bench.{tag}.commands", args.topic, f"bench.{tag}.dlq")
    scratch.topics.extend([t for t in (topics.commands, topics.deadletter, topics.turns) if t.startswith("bench.")])
    settings = replace(base, topics=topics)
    ensure_topics(settings)  # creates only the missing scratch topics
    count = messages_in(settings, [topics.turns, topics.memories])
    print(f"\nreplaying {args.topic} (+ {topics.turns}): {count} messages ...", flush=True)
    runs = replay_all(settings, scratch, args.batch_size, tuple(args.only))
    print_table(f"existing log {args.topic}: {count} events, batch {args.batch_size}", runs, count)
    return {"memories_topic": args.topic, "turns_topic": topics.turns, "events": count, "runs": runs}


if __name__ == "__main__":
    main()
