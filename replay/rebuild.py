"""``memstream replay rebuild``: project the log into a fresh target, then (optionally) switch reads to it.

Never re-embeds or calls an LLM: vectors and extracted facts travel in the events. Runs one projector per
store in threads, prints progress (events done, rate, time left), and when every store has caught up with
the log either switches the stores to the new target (blue/green: one transaction; the live projectors
follow the switch and continue from the target's checkpoints) or keeps following the live log.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from confluent_kafka import Consumer, TopicPartition

from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.settings import Settings
from projections.runner import ProjectorRunner
from projections.targets import (
    LIVE,
    active_targets,
    create_postgres_schema,
    group_id,
    settings_for_target,
    switch_targets,
    validate_name,
)
from projections.wiring import projector_factory
from replay.stores import drop

# Events per batch while rebuilding (the live projectors take 500: a batch is a commit they wait for). A rebuild
# reads a full log, and every batch costs each store a transaction, the runner a synchronous offset commit and
# the cache epochs two Redis calls, so bigger batches spend less per event (bench/RESULTS.md, "Replay").
REBUILD_BATCH_SIZE = 2000


class RebuildError(RuntimeError):
    pass


@dataclass
class RebuildReport:
    target: str
    stores: tuple[str, ...]
    events: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    switched_from: dict[str, str] = field(default_factory=dict)

    def rate(self, store: str) -> float:
        return self.events.get(store, 0) / self.seconds if self.seconds else 0.0


def projected_topics(settings: Settings, store: str) -> list[str]:
    """The topics the projector of ``store`` reads."""
    if store == "postgres":
        return [settings.topics.turns, settings.topics.memories]
    return [settings.topics.memories]


def log_size(settings: Settings, topics: list[str]) -> int:
    """Events currently in the log (high minus low watermark, over all partitions)."""
    consumer = Consumer(client_config(settings, **{"group.id": "memstream.replay.size"}))
    try:
        total = 0
        metadata = consumer.list_topics(timeout=10)
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                total += high - low
        return total
    finally:
        consumer.close()


def start_offsets(
    settings: Settings, from_offset: int | None, from_time: datetime | None
) -> Callable[[TopicPartition], int | None] | None:
    if from_offset is None and from_time is None:
        return None
    if from_offset is not None:
        return lambda tp: from_offset
    assert from_time is not None
    millis = int(from_time.timestamp() * 1000)
    consumer = Consumer(client_config(settings, **{"group.id": "memstream.replay.times"}))

    def by_time(tp: TopicPartition) -> int | None:
        found = consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, millis)], timeout=10)
        return found[0].offset if found and found[0].offset >= 0 else None

    return by_time


def _progress_line(runners: dict[str, ProjectorRunner], totals: dict[str, int], started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-6)
    parts = []
    for store, runner in runners.items():
        total = max(totals[store], 1)
        done = total - runner.lag if runner.lag is not None else 0
        done = max(min(done, total), 0)
        rate = runner.applied / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        bar = "#" * int(20 * done / total)
        eta = f"{left:5.0f}s left" if left != float("inf") else "   ?s left"
        parts.append(f"{store} [{bar:<20}] {done:,}/{total:,} {rate:,.0f} ev/s {eta}")
    return " | ".join(parts)


def rebuild(
    settings: Settings,
    stores: tuple[str, ...],
    target: str,
    *,
    switch: bool = False,
    drop_old: bool = False,
    follow: bool = False,
    from_offset: int | None = None,
    from_time: datetime | None = None,
    out: TextIO = sys.stderr,
    stop: threading.Event | None = None,
) -> RebuildReport:
    validate_name(target)
    if target == LIVE:
        raise RebuildError("rebuild into a new target, not into 'live'")
    pointing = active_targets(settings.postgres_dsn)
    serving = [s for s in stores if pointing[s] == target]
    if serving:
        raise RebuildError(f"target {target!r} is what {serving} serve now; rebuild into a new name")
    target_settings = settings_for_target(settings, target)
    create_postgres_schema(settings, target)
    codec = Codec()
    offsets = start_offsets(settings, from_offset, from_time)
    runners = {
        store: ProjectorRunner(
            projector_factory(store, target_settings),
            settings,
            codec,
            group_id=group_id(settings, store, target),
            batch_size=REBUILD_BATCH_SIZE,
            start_offset=offsets,
        )
        for store in stores
    }
    totals = {store: log_size(settings, projected_topics(settings, store)) for store in stores}
    threads = [threading.Thread(target=r.run, name=f"rebuild-{s}", daemon=True) for s, r in runners.items()]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop = stop or threading.Event()
    report = RebuildReport(target, stores)
    tty = out.isatty()
    last_print = 0.0
    try:
        while not stop.is_set():
            caught_up = all(r.lag == 0 for r in runners.values())
            if time.monotonic() - last_print > (0.5 if tty else 5.0) or caught_up:
                line = _progress_line(runners, totals, started)
                out.write(("\r" + line) if tty else line + "\n")
                out.flush()
                last_print = time.monotonic()
            if caught_up and not follow:
                break
            if caught_up and switch:
                break
            dead = [s for s, t in zip(runners, threads, strict=True) if not t.is_alive()]
            if dead:
                raise RebuildError(f"the rebuild of {dead} stopped unexpectedly")
            time.sleep(0.2)
    except KeyboardInterrupt:
        out.write("\ninterrupted\n")
    finally:
        report.seconds = time.monotonic() - started
        report.events = {store: runner.applied for store, runner in runners.items()}
        if switch and all(r.lag == 0 for r in runners.values()):
            report.switched_from = switch_targets(settings.postgres_dsn, stores, target)
            out.write(f"\nswitched {', '.join(stores)} to target {target!r}\n")
        for runner in runners.values():
            runner.stop_event.set()
        for thread in threads:
            thread.join(timeout=30)
        if tty:
            out.write("\n")
    if drop_old and report.switched_from:
        for store, previous in report.switched_from.items():
            drop(settings_for_target(settings, previous), store, whole_schema=previous != LIVE)
            out.write(f"dropped the old {store} target {previous!r}\n")
    return report
