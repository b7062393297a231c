"""Crash safety through the real processes, broker and stores.

A component killed with SIGKILL in the middle of an ingest and started again, or a store restarted under
a running pipeline, must lose no turn, duplicate no memory, and leave every projection equal to a clean
rebuild from offset 0 into fresh targets.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from neo4j import Driver, GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived
from memory.contract.ids import memory_id_for
from memory.ingest.derivation import turn_input
from memory.ingest.extraction import extract_facts
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System, start_system
from projections.runner import ProjectorRunner
from projections.targets import LIVE, create_postgres_schema, group_id, settings_for_target
from projections.wiring import PROJECTION_NAMES, projector_factory
from replay.snapshots import checksum, milvus_snapshot, neo4j_snapshot, postgres_snapshot, redis_snapshot
from replay.stores import drop
from tests.e2e.conftest import free_port
from tests.support import bearer, isolated_settings, issue_key, make_turn, unique, wait_until, wait_while_progressing

USERS = 25
PLACES = ("Lisbon", "Oslo", "Kyoto", "Lima", "Quito", "Dakar", "Hanoi", "Perth")
FRIENDS = ("Marta", "Jonas", "Keiko", "Diego", "Amara", "Linh")


# ------------------------------------------------------------------------------------------------ inputs


def synthetic_turns(app_id: str, count: int, first: int = 0) -> list[ConversationTurnReceived]:
    """Short turns, one informative sentence each, spread over USERS users (so over every partition)."""
    return [
        make_turn(
            f"user-{i % USERS:02d}",
            f"I visited the old harbour of {PLACES[i % len(PLACES)]} with {FRIENDS[i % len(FRIENDS)]} on trip {i}.",
            str(i),
            app_id=app_id,
        )
        for i in range(first, first + count)
    ]


def expected_memories(turns: Sequence[ConversationTurnReceived]) -> dict[str, tuple[str, str]]:
    """memory id -> (source turn id, text), from the same pure extractor the worker runs."""
    expected: dict[str, tuple[str, str]] = {}
    for turn in turns:
        for position, fact in enumerate(extract_facts(turn_input(turn))):
            expected[memory_id_for(turn.event_id, position)] = (turn.turn_id, fact.text)
    assert len(expected) == len(turns), "the synthetic turns should give exactly one memory each"
    return expected


def scope_keys(turns: Sequence[ConversationTurnReceived]) -> list[str]:
    return sorted({t.scope.key for t in turns})


def feed(settings: Settings, turns: Sequence[ConversationTurnReceived]) -> None:
    codec = Codec()
    SyncProducer(make_producer(settings)).produce_all(
        [(settings.topics.turns, t.scope.key.encode(), codec.encode(t)) for t in turns]
    )


class Feeder(threading.Thread):
    """Produces turns at a steady rate, as live traffic would, so a crash lands in the middle of the ingest.

    The producer is idempotent with the default delivery timeout (5 minutes), so a broker restart delays
    turns but neither loses nor duplicates them.
    """

    def __init__(self, settings: Settings, turns: Sequence[ConversationTurnReceived], per_second: float):
        super().__init__(daemon=True, name="feeder")
        self._settings = settings
        self._turns = turns
        self._per_second = per_second
        self._producer: Producer = make_producer(settings, log_level=0)  # outages show as delivery errors
        self._codec = Codec()
        self.stop_event = threading.Event()
        self.delivered = 0
        self.errors: list[str] = []

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.errors.append(str(err))

    def run(self) -> None:
        chunk = max(1, int(self._per_second / 10))
        for start in range(0, len(self._turns), chunk):
            began = time.monotonic()
            for turn in self._turns[start : start + chunk]:
                if self.stop_event.is_set():
                    return
                while True:
                    try:
                        self._producer.produce(
                            self._settings.topics.turns,
                            key=turn.scope.key.encode(),
                            value=self._codec.encode(turn),
                            on_delivery=self._on_delivery,
                        )
                        break
                    except BufferError:
                        self._producer.poll(0.1)
            self._producer.poll(0)
            self.stop_event.wait(max(0.0, 0.1 - (time.monotonic() - began)))
        while self._producer.flush(1.0) and not self.stop_event.is_set():
            pass

    def finish(self, timeout: float) -> None:
        """Wait until every turn is delivered: as long as deliveries keep coming, and at most ``timeout`` seconds
        without a new one (a broker restart can hold an idempotent producer's retries for a while; a stalled
        producer still fails here, with what it had delivered)."""
        seen, last_progress = -1, time.monotonic()
        while self.is_alive() and time.monotonic() - last_progress < timeout:
            self.join(1.0)
            if self.delivered != seen:
                seen, last_progress = self.delivered, time.monotonic()
        assert not self.is_alive(), (
            f"the feeder delivered nothing for {timeout:.0f}s: {self.delivered} of {len(self._turns)} turns, "
            f"{len(self._producer)} still queued, errors {self.errors[:3]}"
        )
        assert not self.errors, f"turns not delivered: {self.errors[:3]}"
        assert self.delivered == len(self._turns), f"delivered {self.delivered} of {len(self._turns)} turns"


# ------------------------------------------------------------------------------------------------ probes


class Offsets:
    """End offsets of the topics and committed offsets of the pipeline's consumer groups."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._consumers: dict[str, Consumer] = {}
        topics = settings.topics
        # Who consumes what: the Faust worker (its group is the app id) and one group per projector.
        self.groups: dict[str, tuple[str, tuple[str, ...]]] = {
            "streams": (settings.faust_app_id, (topics.turns, topics.memories)),
            **{
                name: (
                    group_id(settings, name, LIVE),
                    (topics.turns, topics.memories) if name == "postgres" else (topics.memories,),
                )
                for name in PROJECTION_NAMES
            },
        }

    def _consumer(self, group: str) -> Consumer:
        if group not in self._consumers:
            self._consumers[group] = Consumer(
                client_config(
                    self._settings,
                    **{
                        "group.id": group,
                        "enable.auto.commit": False,
                        "log_level": 0,  # a probe; the broker restart shows in the wait's message, not as noise
                    },
                )
            )
        return self._consumers[group]

    def _partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(self._settings.kafka_partitions)]

    def end(self, topic: str) -> dict[int, int]:
        probe = self._consumer("memstream-test-probe")
        return {tp.partition: probe.get_watermark_offsets(tp, timeout=5)[1] for tp in self._partitions(topic)}

    def total(self, topic: str) -> int:
        return sum(self.end(topic).values())

    def lags(self) -> dict[str, int]:
        """Messages each consumer has not yet committed past; all zero means nothing is in flight."""
        ends = {topic: self.end(topic) for topic in (self._settings.topics.turns, self._settings.topics.memories)}
        result: dict[str, int] = {}
        for name, (group, topics) in self.groups.items():
            wanted = [tp for topic in topics for tp in self._partitions(topic)]
            committed = self._consumer(group).committed(wanted, timeout=5)
            result[name] = sum(ends[tp.topic][tp.partition] - max(tp.offset, 0) for tp in committed)
        return result

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()


@dataclass
class Stores:
    neo4j: Driver
    milvus: MilvusClient
    redis: Redis

    @classmethod
    def connect(cls, settings: Settings) -> Stores:
        return cls(
            GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password)),
            MilvusClient(uri=settings.milvus_uri),
            Redis.from_url(settings.redis_url),
        )

    def close(self) -> None:
        self.neo4j.close()
        self.redis.close()


def inactive_memories(settings: Settings, app_id: str) -> list[tuple[str, str, str, list[str]]]:
    """The memories not (yet) active, with their history: what a failure message should show."""
    with psycopg.connect(settings.postgres_dsn, connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT m.memory_id, m.state, m.text, array_agg(v.event_type ORDER BY v.log_offset)"
            " FROM memories m LEFT JOIN memory_versions v USING (memory_id)"
            " WHERE m.app_id = %s AND m.state <> 'active' GROUP BY m.memory_id, m.state, m.text LIMIT 5",
            (app_id,),
        ).fetchall()
    return [(r[0], r[1], r[2], list(r[3])) for r in rows]


def trace_missing(settings: Settings, app_id: str, expected: dict[str, tuple[str, str]]) -> str:
    """Where the memories PostgreSQL lacks went: their events on the memory log, by partition and offset."""
    with psycopg.connect(settings.postgres_dsn, connect_timeout=3) as conn:
        held = {r[0] for r in conn.execute("SELECT memory_id FROM memories WHERE app_id = %s", (app_id,)).fetchall()}
    missing = sorted(set(expected) - held)[:5]
    if not missing:
        return "none missing"
    codec = Codec()
    consumer = Consumer(client_config(settings, **{"group.id": unique("trace-"), "enable.auto.commit": False}))
    topic = settings.topics.memories
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    seen: dict[str, list[str]] = {m: [] for m in missing}
    done: set[int] = {p for p, end in ends.items() if end == 0}
    while len(done) < len(ends):
        message = consumer.poll(5.0)
        if message is None:
            break
        if message.error() is None:
            event = codec.decode(message.value())
            memory_id = str(getattr(event, "memory_id", ""))
            partition, offset = message.partition() or 0, message.offset() or 0
            if memory_id in seen:
                seen[memory_id].append(f"{type(event).__name__} {partition}@{offset}")
            if offset + 1 >= ends[partition]:
                done.add(partition)
    consumer.close()
    return "; ".join(f"{m} (turn {expected[m][0]}): {seen[m] or 'no event on the memory log'}" for m in missing)


def active_memories(settings: Settings, app_id: str) -> int:
    try:
        with psycopg.connect(settings.postgres_dsn, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT count(*) FROM memories WHERE app_id = %s AND state = 'active'", (app_id,)
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0  # the projector has not created its tables yet
    except psycopg.OperationalError:
        return -1  # PostgreSQL is restarting
    return int(row[0]) if row else 0


def alive(system: System) -> None:
    system.check_alive()  # a crashed component fails the wait at once, with its log


def wait_settled(system: System, offsets: Offsets, stall: float, what: str, limit: float = 1800.0) -> None:
    """Every consumer of the pipeline has committed past everything on its topics. Waits as long as the total lag
    keeps shrinking: a cold stack or a busy machine slows the drain, and only a drain stopped for ``stall``
    seconds (or ``limit`` in all) fails."""
    last: dict[str, Any] = {}

    def drained() -> int:
        alive(system)
        try:
            last["lags"] = offsets.lags()
        except KafkaException as exc:
            last["lags"] = f"probe failed: {exc}"
            return -(2**62)  # no reading is no progress
        return -sum(last["lags"].values())  # grows towards 0 as the consumers commit

    try:
        wait_while_progressing(drained, 0, stall=stall, what=what, limit=limit)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; lags: {last.get('lags')}\n{logs_of(system)}") from None


def logs_of(system: System, chars: int = 2500) -> str:
    return "\n".join(f"--- {name} log ---\n{system.log_tail(name, chars)}" for name in system.procs)


# ------------------------------------------------------------------------------------------------ checks


def live_snapshots(settings: Settings, stores: Stores, keys: Sequence[str]) -> dict[str, Any]:
    return {
        "postgres": postgres_snapshot(settings.postgres_dsn, keys),
        "milvus": milvus_snapshot(stores.milvus, settings.milvus_collection, keys),
        "neo4j": neo4j_snapshot(stores.neo4j, settings.neo4j_database, keys, settings.neo4j_label_prefix),
        "redis": redis_snapshot(stores.redis, keys, settings.redis_prefix),
    }


def assert_nothing_lost_or_duplicated(
    settings: Settings,
    app_id: str,
    turns: Sequence[ConversationTurnReceived],
    expected: dict[str, tuple[str, str]],
    live: dict[str, Any],
) -> None:
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT memory_id, source_turn_ids, text, state FROM memories WHERE app_id = %s", (app_id,)
        ).fetchall()
        versions = conn.execute(
            "SELECT v.event_type, count(*), count(DISTINCT v.memory_id) FROM memory_versions v"
            " JOIN memories m USING (memory_id) WHERE m.app_id = %s GROUP BY v.event_type",
            (app_id,),
        ).fetchall()
        logged_turns = conn.execute(
            "SELECT count(*), count(DISTINCT turn_id) FROM conversation_turns WHERE app_id = %s", (app_id,)
        ).fetchone()
    ids = Counter(r[0] for r in rows)
    missing = expected.keys() - ids.keys()
    assert not missing, (
        f"{len(missing)} of {len(expected)} memories lost, e.g. {[expected[m] for m in sorted(missing)[:3]]}"
    )
    assert not ids.keys() - expected.keys(), f"unexpected memories: {sorted(ids.keys() - expected.keys())[:3]}"
    assert len(rows) == len(expected), f"{len(rows)} memory rows for {len(expected)} memories"
    by_source = Counter((tuple(r[1]), r[2]) for r in rows)
    duplicated = [k for k, n in by_source.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} (source turn, text) pairs stored more than once, e.g. {duplicated[:2]}"
    assert set(by_source) == {((turn_id,), text) for turn_id, text in expected.values()}
    states = Counter(r[3] for r in rows)
    assert states == {"active": len(expected)}, f"memory states: {dict(states)}"
    # One history row per lifecycle step: a re-processed event is a duplicate, not a second version.
    assert sorted(versions) == [
        (t, len(expected), len(expected)) for t in ("MemoryActivated", "MemoryEmbedded", "MemoryExtracted")
    ], versions
    assert logged_turns == (len(turns), len(turns)), f"conversation log holds {logged_turns} of {len(turns)} turns"

    milvus_ids = Counter(r["memory_id"] for r in live["milvus"])
    assert milvus_ids.keys() == expected.keys() and len(live["milvus"]) == len(expected), (
        f"milvus holds {len(live['milvus'])} rows for {len(milvus_ids)} of {len(expected)} memories"
    )
    assert {r["state"] for r in live["milvus"]} == {"active"}
    graph = live["neo4j"]["memories"]
    assert len(graph) == len(expected) and {m["memory_id"] for m in graph} == expected.keys(), (
        f"neo4j holds {len(graph)} memory rows for {len({m['memory_id'] for m in graph})} of {len(expected)} memories"
    )
    assert {m["state"] for m in graph} == {"active"}
    assert all(m["entity_ids"] for m in graph), "a memory lost its entity links"
    forgotten = sorted(k for k, v in live["redis"].items() if v is None)
    assert not forgotten, f"scopes whose cache generation is gone from Redis: {forgotten}"


def rebuild(settings: Settings, stores: Stores, keys: Sequence[str], stall: float = 120.0) -> dict[str, Any]:
    """Replay both topics from offset 0 into a fresh target (schema, collection, label and key prefixes), with
    the projectors the live process builds, each in a new consumer group."""
    target = unique("rb")
    fresh = settings_for_target(settings, target)
    create_postgres_schema(settings, target)
    offsets = Offsets(settings)
    try:
        totals = {"turns": offsets.total(settings.topics.turns), "memories": offsets.total(settings.topics.memories)}
    finally:
        offsets.close()
    codec = Codec()
    runners = {
        name: ProjectorRunner(projector_factory(name, fresh), settings, codec, group_id=unique(f"{target}-{name}-"))
        for name in PROJECTION_NAMES
    }
    wanted = {name: totals["memories"] + (totals["turns"] if name == "postgres" else 0) for name in runners}
    threads = [threading.Thread(target=r.run, daemon=True, name=f"rebuild-{n}") for n, r in runners.items()]
    for thread in threads:
        thread.start()
    try:
        def applied() -> int:
            if any(not t.is_alive() for t in threads):
                return sum(wanted.values())  # stopped early: checked below
            return sum(min(r.applied, wanted[n]) for n, r in runners.items())

        wait_while_progressing(applied, sum(wanted.values()), stall=stall, what=f"the rebuild to apply {wanted}")
        assert all(t.is_alive() for t in threads), "a rebuild projector stopped early"
        assert {n: r.applied for n, r in runners.items()} == wanted
        assert all(r.dead_lettered == 0 for r in runners.values())
    finally:
        for runner in runners.values():
            runner.stop_event.set()
        for thread in threads:
            thread.join(timeout=30)
    try:
        return {
            "postgres": postgres_snapshot(fresh.postgres_dsn, keys),
            "milvus": milvus_snapshot(stores.milvus, fresh.milvus_collection, keys),
            "neo4j": neo4j_snapshot(stores.neo4j, settings.neo4j_database, keys, fresh.neo4j_label_prefix),
            "redis": redis_snapshot(stores.redis, keys, fresh.redis_prefix),
        }
    finally:
        drop_all(fresh)


def drop_all(settings: Settings) -> None:
    """Best effort: remove what one target holds in every store."""
    for store in PROJECTION_NAMES:
        with contextlib.suppress(Exception):
            drop(settings, store, whole_schema=True)


def describe_difference(live: Any, rebuilt: Any, path: str = "") -> str:
    """The first place two snapshots differ, short enough for a failure message."""
    if isinstance(live, dict) and isinstance(rebuilt, dict):
        for key in sorted(live.keys() | rebuilt.keys(), key=str):
            if live.get(key) != rebuilt.get(key):
                return describe_difference(live.get(key), rebuilt.get(key), f"{path}.{key}")
    if isinstance(live, list) and isinstance(rebuilt, list):
        for index, (a, b) in enumerate(zip(live, rebuilt, strict=False)):
            if a != b:
                return f"{path}[{index}] (of {len(live)} live, {len(rebuilt)} rebuilt): {describe_difference(a, b)}"
        return f"{path}: {len(live)} live items, {len(rebuilt)} rebuilt"
    return f"{path}: live {str(live)[:300]} != rebuilt {str(rebuilt)[:300]}"


def assert_equals_rebuild(live: dict[str, Any], rebuilt: dict[str, Any]) -> None:
    differing = {
        store: describe_difference(live[store], rebuilt[store]) for store in live if live[store] != rebuilt[store]
    }
    assert not differing, f"live state differs from a rebuild from offset 0: {differing}"
    assert checksum(live) == checksum(rebuilt)


# ------------------------------------------------------------------------------------------------ harness


@dataclass
class Run:
    settings: Settings
    system: System
    stores: Stores
    offsets: Offsets
    app_id: str


@contextlib.contextmanager
def running(stack_settings: Settings, logs: Path, components: tuple[str, ...]) -> Iterator[Run]:
    """The given components on isolated settings; stopped, and the test's data removed, even on failure."""
    settings = replace(isolated_settings(stack_settings), api_port=free_port())
    ensure_topics(settings)
    system = start_system(settings, logs, components)
    run = Run(settings, system, Stores.connect(settings), Offsets(settings), unique("crash-"))
    try:
        yield run
    finally:
        system.stop()
        run.offsets.close()
        drop_all(settings)
        run.stores.close()


def timed(label: str, began: float) -> float:
    now = time.monotonic()
    print(f"[crash-safety] {label}: {now - began:.1f}s")
    return now


# ------------------------------------------------------------------------------------------------ tests

KILL_TURNS = 5_000


# The [streams] case is the one faust-streaming 0.15.3 used to fail: around the rebalances after a kill -9 and
# restart it dropped an event and committed past it. streams.offsets keeps commits contiguous and re-reads
# what was dropped; this test is the proof end to end.
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("component", ["streams", "projections"])
def test_component_killed_mid_ingest_loses_and_duplicates_nothing(
    stack_settings: Settings, tmp_path: Path, component: str
) -> None:
    with running(stack_settings, tmp_path / "logs", ("streams", "projections")) as run:
        kill_mid_ingest_and_check(run, component)


def kill_mid_ingest_and_check(run: Run, component: str) -> None:
    began = time.monotonic()
    settings, system = run.settings, run.system
    turns = synthetic_turns(run.app_id, KILL_TURNS)
    expected = expected_memories(turns)
    feeder = Feeder(settings, turns, per_second=150)
    feeder.start()
    try:
        # A fifth of the way in, turns are still arriving and both agents and all projectors are busy.
        def active_so_far() -> int:
            alive(system)
            return active_memories(settings, run.app_id)

        # Slow is fine (a cold stack, a busy machine); stopped is not.
        wait_while_progressing(
            active_so_far, len(expected) // 5, stall=180, what=f"a fifth of the memories before killing {component}"
        )
        mark = timed("under way", began)
        code = system.kill(component, signal.SIGKILL)
        at_kill = active_memories(settings, run.app_id)
        assert code == -signal.SIGKILL, f"{component} exited with {code} before the kill"
        assert at_kill < len(expected), "the ingest was over before the kill: nothing was interrupted"
        system.restart(component)
        restarted = time.monotonic()
        resumed: list[float] = []

        def all_active() -> int:
            alive(system)
            count = active_memories(settings, run.app_id)
            if count > at_kill and not resumed:
                resumed.append(time.monotonic() - restarted)
            return count

        try:
            wait_while_progressing(
                all_active, len(expected), stall=240, interval=1.0, what="all the memories after the restart"
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {active_memories(settings, run.app_id)} active; not active:"
                f" {inactive_memories(settings, run.app_id)}; missing: {trace_missing(settings, run.app_id, expected)};"
                f" dead letters:"
                f" {run.offsets.total(settings.topics.deadletter)}\n{logs_of(system)}"
            ) from None
        mark = timed(
            f"all active after killing {component} at {at_kill}, resumed {resumed[0]:.0f}s after restart", mark
        )
        feeder.finish(timeout=60)
        wait_settled(system, run.offsets, stall=120, what="every consumer to commit past the end of its topics")
        print(f"[crash-safety] memory events on the log: {run.offsets.total(settings.topics.memories)}")
    finally:
        feeder.stop_event.set()
    keys = scope_keys(turns)
    live = live_snapshots(settings, run.stores, keys)
    mark = timed("settled and snapshotted", mark)
    assert run.offsets.total(settings.topics.deadletter) == 0, "events were dead-lettered"
    assert_nothing_lost_or_duplicated(settings, run.app_id, turns, expected, live)
    rebuilt = rebuild(settings, run.stores, keys)
    timed("rebuilt", mark)
    assert_equals_rebuild(live, rebuilt)
    timed("total", began)


RESTART_TURNS = 1_000  # over the four restarts


def restart_service(service: str) -> float:
    """Restart one stack service (stop, start, wait until it answers); returns how long it took."""
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py"), "restart", service],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"restarting {service} failed:\n{result.stdout}\n{result.stderr}"
    return time.monotonic() - began


def api_memories(base_url: str, key: str, user_id: str, app_id: str) -> tuple[int, int]:
    """(status, total) of the API's list of a user's memories; status 0 when it does not answer."""
    try:
        with httpx.Client(base_url=base_url, timeout=10, headers=bearer(key)) as client:
            response = client.get("/v1/memories", params={"user_id": user_id, "app_id": app_id})
    except httpx.HTTPError:
        return 0, -1
    return response.status_code, int(response.json()["total"]) if response.status_code == 200 else -1


@pytest.fixture(scope="module")
def restart_run(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One system for the store restarts (each case has its own app id): start-up is paid once."""
    with running(stack_settings, tmp_path_factory.mktemp("logs"), ("streams", "projections", "api")) as run:
        run.system.wait_ready()
        yield run


# Kafka last: a case that leaves the shared system broken should not take the others down with it.
@pytest.mark.timeout(480)
@pytest.mark.parametrize(
    "service",
    [
        "neo4j",
        "postgres",
        "redis",
        # Runs and reports every time; not strict until the stall is understood (README, Known issues).
        pytest.param(
            "kafka",
            marks=pytest.mark.xfail(
                strict=False,
                reason="known issue: on a fresh stack's first broker restarts (SASL since the gateway) the "
                "test's idempotent producer can deliver nothing for minutes",
            ),
        ),
    ],
)
def test_store_restart_mid_ingest_is_ridden_out(restart_run: Run, service: str) -> None:
    began = time.monotonic()
    run, settings, system = restart_run, restart_run.settings, restart_run.system
    alive(system)
    app_id = unique(f"{service}-")
    key = issue_key(settings, app_id)
    pids = {name: proc.pid for name, proc in system.procs.items()}
    dead_letters = run.offsets.total(settings.topics.deadletter)
    # A quiet user, all of whose memories are in every store before the restart: a store that forgets what
    # it held when it restarts shows here, where later traffic cannot paper over it.
    quiet = [
        make_turn("quiet", f"I keep a small vegetable garden in {place} with Nadia.", f"q{i}", app_id=app_id)
        for i, place in enumerate(PLACES)
    ]
    feed(settings, quiet)
    wait_while_progressing(
        lambda: active_memories(settings, app_id), len(quiet), stall=120, what="the quiet user's memories"
    )
    wait_settled(system, run.offsets, stall=60, what="the quiet user's events in every store")
    turns = synthetic_turns(app_id, RESTART_TURNS // 4)
    feeder = Feeder(settings, turns, per_second=60)
    feeder.start()
    try:

        def so_far() -> int:
            alive(system)
            return active_memories(settings, app_id)

        wait_while_progressing(
            so_far, len(quiet) + len(turns) // 5, stall=120, what=f"the ingest under way before restarting {service}"
        )
        outage = restart_service(service)
        at_restart = active_memories(settings, app_id)
        # The API rides out the restart too: its first read once the store is back answers.
        first_read = api_memories(system.base_url, key, "user-00", app_id)
        feeder.finish(timeout=120)
    finally:
        feeder.stop_event.set()
    mark = timed(f"{service} restarted in {outage:.1f}s at {at_restart} of {len(quiet) + len(turns)} active", began)
    produced = quiet + turns

    def caught_up() -> int:
        alive(system)
        return active_memories(settings, app_id)

    try:
        wait_while_progressing(
            caught_up, len(produced), stall=180, interval=1.0, what=f"{len(produced)} memories after restarting"
        )
    except AssertionError as exc:
        count = active_memories(settings, app_id)
        raise AssertionError(f"{exc}: {count} active after restarting {service}\n{logs_of(system)}") from None
    wait_settled(system, run.offsets, stall=120, what=f"the pipeline to settle after restarting {service}")
    mark = timed(f"recovered from the {service} restart", mark)
    writer = ("writer", f"{app_id}-api")  # apart from app_id, whose memories are counted exactly
    write_status = 202
    if service == "kafka":
        # ... and writes: the API's producer reconnected to the restarted broker.
        writer_key = issue_key(settings, writer[1])
        with httpx.Client(base_url=system.base_url, timeout=30, headers=bearer(writer_key)) as client:
            response = client.post(
                "/v1/memories",
                json={"user_id": writer[0], "app_id": writer[1], "text": "I moved to Oslo after the broker restart."},
            )
        write_status = response.status_code
        if write_status == 202:
            wait_until(
                lambda: api_memories(system.base_url, writer_key, *writer) == (200, 1), what="the API's write"
            )
            wait_settled(system, run.offsets, stall=60, what="the API's write in every store")
    assert {name: proc.pid for name, proc in system.procs.items()} == pids, "a component was restarted"
    alive(system)

    expected = expected_memories(produced)
    keys = scope_keys(produced)
    live = live_snapshots(settings, run.stores, keys)
    assert run.offsets.total(settings.topics.deadletter) == dead_letters, "events were dead-lettered"
    assert_nothing_lost_or_duplicated(settings, app_id, produced, expected, live)
    if service == "kafka" and write_status == 202:
        keys.append(f"{writer[1]}/{writer[0]}")
        live = live_snapshots(settings, run.stores, keys)
    rebuilt = rebuild(settings, run.stores, keys)
    timed("rebuilt", mark)
    assert_equals_rebuild(live, rebuilt)
    assert write_status == 202, f"the API's write after the broker restart answered {write_status}"
    assert first_read[0] == 200, (
        f"the API's first read after {service} came back answered {first_read[0]}\n{system.log_tail('api')}"
    )
