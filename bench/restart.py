"""A stream worker's restart time with its lifecycle table holding N memories, per table store (memory, rocksdb).

    python -m bench.restart --memories 100000 1000000

For each N, in a namespace of its own (topics, consumer group, table directory):

1. The table's changelog topic is filled with N memory entries, ``--per-user`` per user, written directly in the
   format the lifecycle agent writes (``streams/agents/lifecycle_store.py``: key ``<scope>\\x1f<memory id>``,
   value ``tracked_to_json``, the user's partition). Producing them through the real agent would first run
   extraction and embedding on N memories (hours at 1M on this machine) and measure those, not recovery; what a
   restart reads is this topic, and it is the same bytes either way.
2. Per store, a worker is started on an empty table directory (``first start``: the whole changelog is read, for
   RocksDB also written to disk), then killed with SIGKILL and started again, ``--restarts`` times. Each start is
   timed from the process's launch to the lifecycle agent's answer to a command that needs the table: a ``pin``
   of a memory only the table knows, answered with ``MemoryPinned`` (a table missing it dead-letters the
   command, and the benchmark fails). Before each restart the benchmark waits until the broker has dropped the
   killed worker from its group (its 10 s session), so every start joins an empty group alike.

Figures print as they come and go to ``bench/results/restart.json``; the namespace's topics and table
directories are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.partitioner import murmur2
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from adapters.kafka import ensure_topics, make_admin, make_consumer, make_producer
from adapters.settings_loader import load_settings
from bench.common import provenance, write_results
from memory.contract.codec import Codec
from memory.contract.events import MemoryPinned, Scope, new_command
from memory.lifecycle.state import Tracked, tracked_to_json
from memory.settings import Settings, Topics
from memstream_cli.processes import System
from streams.table_store import STORE_URLS, worker_data_dir
from tests.support import wait_until

APP_ID = "bench-restart"
TABLE = "lifecycle"  # streams/agents/lifecycle.py
COMPONENT = "bench.restart"


def changelog_topic(settings: Settings) -> str:
    return f"{settings.faust_app_id}-{TABLE}-changelog"  # faust's name for a table's changelog


def user_partition(scope_key: str, partitions: int) -> int:
    """The partition every producer of the project puts this user's events in (murmur2, adapters/kafka.py)."""
    return (murmur2(scope_key.encode()) & 0x7FFFFFFF) % partitions


def memory_entry(scope: Scope, index: int, at: datetime) -> tuple[str, bytes]:
    memory_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.key}/{index}"))
    text = f"{scope.user_id} said note {index}: the greenhouse project step {index} is done by the river house."
    tracked = Tracked(
        memory_id=memory_id,
        text=text,
        kind="fact",
        state="active",
        importance=0.5,
        created_at=at,
        occurred_at=at,
        extracted_event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{memory_id}/extracted")),
        conversation_id=f"c{index // 20}",
        speaker=scope.user_id,
        entities=[[f"e{index % 50}", "greenhouse", "project"]],
        norm=text.lower(),
        source_turn_ids=[str(uuid.uuid5(uuid.NAMESPACE_URL, f"{memory_id}/turn"))],
        source_event_ids=[str(uuid.uuid5(uuid.NAMESPACE_URL, f"{memory_id}/event"))],
        generation=2,
    )
    return memory_id, tracked_to_json(tracked)


def fill_changelog(settings: Settings, memories: int, per_user: int) -> dict[str, list[str]]:
    """N entries on the table's changelog; returns some memory ids per user scope, to probe with."""
    admin = make_admin(settings)
    topic = NewTopic(
        changelog_topic(settings),
        num_partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
        config={"cleanup.policy": "compact"},  # as faust declares a table's changelog
    )
    admin.create_topics([topic])[topic.topic].result()
    producer = make_producer(settings)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    probes: dict[str, list[str]] = {}
    for index in range(memories):
        scope = Scope(APP_ID, f"user-{index // per_user}")
        memory_id, value = memory_entry(scope, index, at + timedelta(seconds=index))
        if index % per_user < 8:
            probes.setdefault(scope.key, []).append(memory_id)
        key = f"{scope.key}\x1f{memory_id}".encode()
        partition = user_partition(scope.key, settings.kafka_partitions)
        while True:
            try:
                producer.produce(topic.topic, key=key, value=value, partition=partition)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("changelog entries undelivered")
    return probes


class Probe:
    """Sends a ``pin`` for a memory only the table knows, and waits for the agent's ``MemoryPinned``."""

    def __init__(self, settings: Settings, probes: dict[str, list[str]]):
        self.settings = settings
        self.codec = Codec()
        self.pending = [(scope, memory_id) for scope, ids in probes.items() for memory_id in ids]
        self.consumer = make_consumer(settings, f"{COMPONENT}-{uuid.uuid4()}", **{"enable.auto.commit": False})
        self.producer = make_producer(settings)

    def seek_to_end(self) -> None:
        topics = (self.settings.topics.memories, self.settings.topics.deadletter)
        assignment = []
        for topic in topics:
            for partition in range(self.settings.kafka_partitions):
                _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assignment.append(TopicPartition(topic, partition, high))
        self.consumer.assign(assignment)

    def send(self) -> str:
        scope_key, memory_id = self.pending.pop()
        app_id, _, user_id = scope_key.partition("/")
        command = new_command(Scope(app_id, user_id), "pin", datetime.now(UTC), COMPONENT, memory_id=memory_id)
        self.producer.produce(self.settings.topics.commands, key=scope_key.encode(), value=self.codec.encode(command))
        if self.producer.flush(30):
            raise RuntimeError("probe command undelivered")
        return memory_id

    def answered(self, memory_id: str) -> bool:
        message = self.consumer.poll(0.2)
        if message is None or message.error():
            return False
        if message.topic() == self.settings.topics.deadletter:
            raise RuntimeError(f"the worker dead-lettered the probe (its table lacks {memory_id}?)")
        event = self.codec.decode(message.value())
        return isinstance(event, MemoryPinned) and event.memory_id == memory_id


def group_empty(settings: Settings) -> bool:
    group = settings.faust_app_id
    admin = make_admin(settings)  # kept until the answer: a dropped client never resolves its futures
    described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    return not described.members


def timed_start(system: System, probe: Probe, timeout: float) -> float:
    """Seconds from the worker's launch to the agent's answer to a probe."""
    wait_until(lambda: group_empty(system.settings), timeout=60, what="the killed worker to leave its group")
    probe.seek_to_end()
    started = time.perf_counter()
    system.launch("streams")
    memory_id = probe.send()

    def answered() -> bool:
        system.check_alive()
        return probe.answered(memory_id)

    wait_until(answered, timeout=timeout, interval=0, what="the restarted worker to answer from its table")
    return round(time.perf_counter() - started, 2)


def measure_store(
    settings: Settings, store: str, probe: Probe, restarts: int, logs: Path, timeout: float
) -> dict[str, Any]:
    worker = replace(settings, table_store=store, worker_instance=f"bench-{store}")
    system = System(worker, logs / store)
    try:
        first = timed_start(system, probe, timeout)
        print(f"  {store}: first start {first} s", flush=True)
        again = []
        for _ in range(restarts):
            system.kill("streams", signal.SIGKILL)
            again.append(timed_start(system, probe, timeout))
            print(f"  {store}: restart after kill -9 {again[-1]} s", flush=True)
        # The launcher names the worker after its instance ("streams-1"), whatever worker_instance said.
        table_dir = worker_data_dir(system.settings_of("streams"))
        table_bytes = sum(f.stat().st_size for f in table_dir.rglob("*") if f.is_file())
        return {"first_start_s": first, "restarts_s": again, "table_dir_mib": round(table_bytes / 2**20, 1)}
    finally:
        system.stop()


def run(
    base: Settings,
    memories: int,
    per_user: int,
    restarts: int,
    logs: Path,
    timeout: float,
    stores: Sequence[str] = tuple(STORE_URLS),
) -> dict[str, Any]:
    tag = f"restart_{memories}_{uuid.uuid4().hex[:6]}"
    settings = replace(
        base,
        topics=Topics(*(f"bench.{tag}.{name}" for name in ("turns", "commands", "memories", "deadletter"))),
        faust_app_id=f"memstream-bench-{tag}",
        consumer_group_prefix=f"memstream-bench-{tag}",
        streams_metrics_port=0,
        lifecycle_tick_seconds=0,  # no timer ticks of a million memories during the measurement
    )
    ensure_topics(settings)
    try:
        started = time.perf_counter()
        probe = Probe(settings, fill_changelog(settings, memories, per_user))
        print(f"{memories} memories on the changelog in {time.perf_counter() - started:.1f} s", flush=True)
        figures = {
            store: {**measure_store(settings, store, probe, restarts, logs, timeout), "load_avg": os.getloadavg()}
            for store in stores
        }
        return {"memories": memories, "users": -(-memories // per_user), "stores": figures}
    finally:
        topics = [*(getattr(settings.topics, n) for n in Topics.__dataclass_fields__), changelog_topic(settings)]
        admin = make_admin(settings)
        for future in admin.delete_topics(topics).values():
            future.result()
        shutil.rmtree(settings.data_dir / "faust" / settings.faust_app_id, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--per-user", type=int, default=1000)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per start, seconds")
    parser.add_argument("--stores", nargs="+", choices=sorted(STORE_URLS), default=sorted(STORE_URLS))
    parser.add_argument("--logs", default=tempfile.mkdtemp(prefix="restart-logs-"), help="the workers' logs")
    args = parser.parse_args(argv)
    begun = provenance()
    runs = []
    for memories in args.memories:
        runs.append(
            run(load_settings(), memories, args.per_user, args.restarts, Path(args.logs), args.timeout, args.stores)
        )
        print(runs[-1], flush=True)
    path = write_results("restart", {"benchmark": "restart", "per_user": args.per_user, "runs": runs}, begun)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
