"""Runs one projector against the log: consume, decode, apply in batches, checkpoint, dead-letter poison.

Each projector is its own consumer group. On assignment the consumer seeks past the projector's own
checkpoint where the store keeps one (PostgreSQL, Neo4j, Redis), so the store, not Kafka, is the truth.
Store outages are retried with backoff and a fresh projector (new connections); an event that fails on
its own is sent to the dead-letter topic with the reason and the projector moves on. Only offsets of
batches that were wholly applied or dead-lettered are committed (projections.done_offsets), so a runner that
stops or fails mid-batch leaves the rest of the batch to its successor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from adapters import faults
from adapters.dead_letters import MAX_DEAD_LETTER_BYTES, bounded_key, dead_letter
from adapters.kafka import SyncProducer, make_producer
from adapters.kafka_auth import client_config
from adapters.logs import log_batch
from adapters.metrics import BATCH_SECONDS, BATCH_SIZE, CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED, reason_of
from memory.contract.codec import Codec
from memory.contract.positions import LogPosition
from memory.errors import DecodeError
from memory.settings import Settings
from projections.base import Positioned, Projector
from projections.cache_epochs import CacheEpochs, changes_results
from projections.done_offsets import DoneOffsets
from projections.errors import is_transient

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 10.0
# Projections whose contents searches read: their commits must move the cache epochs (projections.cache_epochs).
SEARCHED_PROJECTIONS = ("postgres", "milvus", "neo4j")
POLL_SECONDS = 0.5
CHECK_SECONDS = 1.0


class ProjectorRunner:
    def __init__(
        self,
        factory: Callable[[], Projector],
        settings: Settings,
        codec: Codec,
        group_id: str | None = None,
        batch_size: int = 500,
        from_beginning: bool = True,
        start_offset: Callable[[TopicPartition], int | None] | None = None,
        handover: Callable[[], bool] | None = None,
    ):
        """``start_offset`` picks where a partition without a checkpoint starts (rebuild from an offset or a
        time); ``handover`` is asked every few seconds whether this runner should stop for another target."""
        self._factory = factory
        # When the consume loop last went round (wall clock); the projectors' liveness (projections/__main__.py).
        self.last_turn = time.time()
        self._settings = settings
        self._codec = codec
        self._batch_size = batch_size
        self.projector = self._connect()
        self.group_id = group_id or f"{settings.consumer_group_prefix}.projection.{self.projector.name}"
        self._consumer = Consumer(
            client_config(
                settings,
                **{
                    "group.id": self.group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest" if from_beginning else "latest",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "fetch.wait.max.ms": 50,
                    # A crashed projector's partitions move to its successor after 10 s, not librdkafka's 45 s.
                    "session.timeout.ms": 10_000,
                    "heartbeat.interval.ms": 2_000,
                },
            )
        )
        self._dlq = SyncProducer(make_producer(settings, **{"message.max.bytes": MAX_DEAD_LETTER_BYTES}))
        self._start_offset = start_offset
        self._handover = handover
        self.stop_event = threading.Event()
        self.applied = 0
        self.dead_lettered = 0
        self.lag: int | None = None  # events behind the log end over assigned partitions; None until known
        self._done = DoneOffsets()
        self.handed_over = False
        self._epochs: CacheEpochs | None = None
        if self.projector.name in SEARCHED_PROJECTIONS:
            from redis import Redis

            # The live prefix whatever the target: the API keys its cache by the live prefix too.
            self._epochs = CacheEpochs(Redis.from_url(settings.redis_url), settings.redis_prefix, self.group_id)

    def _connect(self) -> Projector:
        delay = 0.5
        while True:
            try:
                return self._factory()
            except Exception as exc:
                if not is_transient(exc) or (hasattr(self, "stop_event") and self.stop_event.is_set()):
                    raise
                log.warning("projector store unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        checkpoints = self.projector.checkpoints()
        for tp in partitions:
            applied = checkpoints.get((tp.topic, tp.partition))
            if applied is not None:
                tp.offset = applied + 1
            elif self._start_offset is not None and (start := self._start_offset(tp)) is not None:
                tp.offset = start
            elif getattr(self.projector, "owns_checkpoints", False):
                # The store is the truth: no checkpoint there means nothing applied there (a fresh or restored
                # store), whatever the group committed. Milvus keeps none, so it relies on the group.
                tp.offset = OFFSET_BEGINNING
        consumer.incremental_assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit()  # what this runner finished there, before the partitions move on
        self._done.forget(partitions)
        consumer.incremental_unassign(partitions)
        for tp in partitions:  # another consumer reports these now: no stale series of ours (absent ones: no-op)
            CONSUMER_LAG.remove(self.group_id, tp.topic, str(tp.partition))

    def run(self) -> None:
        self._consumer.subscribe(list(self.projector.topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
        next_check = 0.0
        try:
            while not self.stop_event.is_set():
                self.last_turn = time.time()  # liveness: the projectors' heartbeat is their oldest last turn
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + CHECK_SECONDS
                    self.lag = self._measure_lag()
                    if self._handover is not None and self._handover():
                        self.handed_over = True
                        break
                # Wait for the first message only; then take what is already fetched. (consume() with a
                # timeout would hold a lone message back until the batch fills or the timeout ends.)
                first = self._consumer.poll(POLL_SECONDS)
                if first is None:
                    self._commit()
                    continue
                rest = self._consumer.consume(num_messages=self._batch_size - 1, timeout=0)
                started = time.perf_counter()
                if self.process([first, *rest]):
                    self._record_batch(1 + len(rest), time.perf_counter() - started)
        finally:
            self._commit()  # the done batches' offsets, before leaving the group; never an unfinished one
            self._consumer.close()
            self.projector.close()

    def _measure_lag(self) -> int | None:
        """Events behind the log end, or None when unknown (no assignment yet, broker unreachable)."""
        try:
            assignment = self._consumer.assignment()
            if not assignment:
                return None
            behind: dict[TopicPartition, int] = {}
            for tp in self._consumer.position(assignment):
                # From the fetch responses: no broker round trip. Unknown (negative) until the first fetch.
                low, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=True)
                if high < 0 or (tp.offset < 0 and low < 0):
                    return None
                position = tp.offset if tp.offset >= 0 else low
                behind[tp] = max(high - position, 0)
            for tp, lag in behind.items():
                CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(lag)
            return sum(behind.values())
        except KafkaException as exc:
            log.warning("%s: cannot measure lag (%s)", self.projector.name, exc)
            return None

    def _record_batch(self, size: int, seconds: float) -> None:
        component = f"projection.{self.projector.name}"
        EVENTS_CONSUMED.labels(component).inc(size)
        BATCH_SIZE.labels(component).observe(size)
        BATCH_SECONDS.labels(component).observe(seconds)

    def process(self, messages: Sequence[Message]) -> bool:
        """Apply a batch. Its offsets count as done only once every event in it was applied or
        dead-lettered; a batch cut short (stop, or an error escaping) is read again from the last done one.
        True when the batch is done."""
        items: list[Positioned] = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", error)
                continue
            position = LogPosition(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
            try:
                event = self._codec.decode(msg.value())
            except DecodeError as exc:
                if not self._dead_letter(position, msg.key(), msg.value(), str(exc), exc):
                    return False
                continue
            items.append(Positioned(event, position))
        if items and not self._apply_with_retry(items):
            return False
        self._done.record(messages)
        self._commit()
        correlations = (item.event.envelope.correlation_id for item in items)
        log_batch(log, f"projection.{self.projector.name}", correlations, len(messages))
        return True

    def _commit(self) -> None:
        """Commit the offsets of the batches that are done; on failure (broker restarting, coordinator
        moving) keep them pending and try again on the next idle poll, so the group's offsets never stay
        behind."""
        offsets = self._done.pending()
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
            self._done.committed(offsets)
        except KafkaException as exc:
            log.warning("%s: offset commit failed (%s); will retry", self.projector.name, exc)

    def _apply_with_retry(self, items: list[Positioned]) -> bool:
        """Apply ``items``, waiting out store outages; an event that fails on its own is dead-lettered.
        False when stopped before everything was applied or dead-lettered."""
        delay = 0.5
        while not self.stop_event.is_set():
            try:
                self._apply_between_epochs(items)
                self.applied += len(items)
                return True
            except Exception as exc:
                if is_transient(exc):
                    log.warning("%s: store error %s; retrying in %.1fs", self.projector.name, exc, delay)
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                    self._reconnect()
                    continue
                if len(items) == 1:
                    return self._dead_letter_item(items[0], exc)
                # Some event in the batch is bad: apply one by one so only that one is dead-lettered.
                return all(self._apply_with_retry([item]) for item in items)
        return False

    def _apply_between_epochs(self, items: list[Positioned]) -> None:
        fault_point = f"projection.{self.projector.name}.apply"
        for item in items:
            faults.trip(fault_point, fault_subject(item.event))
        if self._epochs is None:
            self.projector.apply_batch(items)
            return
        started = self._epochs.begin(i.event.scope.key for i in items if changes_results(i.event))
        self.projector.apply_batch(items)
        self._epochs.finish(started)

    def _reconnect(self) -> None:
        try:
            self.projector.close()
        except Exception:  # the old connection is already broken; closing it may fail too
            log.debug("closing broken projector failed", exc_info=True)
        self.projector = self._connect()

    def _dead_letter_item(self, item: Positioned, error: BaseException) -> bool:
        log.error(
            "%s: dead-lettering event at %s: %s", self.projector.name, item.position, error,
            extra={"correlation_ids": [item.event.envelope.correlation_id]},
        )
        key = item.event.scope.key.encode()
        return self._dead_letter(item.position, key, self._codec.encode(item.event), f"could not apply: {error}", error)

    def _dead_letter(
        self, position: LogPosition, key: bytes | None, value: bytes | None, reason: str, error: BaseException
    ) -> bool:
        """Send the dead letter, retrying until the broker takes it (a record always fits: it is bounded);
        False if stopped first, and then the event is read again by whoever runs next."""
        record = dead_letter(
            self._codec,
            f"projection.{self.projector.name}",
            reason,
            error,
            position.topic,
            position.partition,
            position.offset,
            key,
            value,
        )
        delay = 0.5
        while not self.stop_event.is_set():
            try:
                faults.trip("deadletter.send")
                self._dlq.produce_all([(self._settings.topics.deadletter, bounded_key(key), record)])
                self.dead_lettered += 1
                DEAD_LETTERS.labels(f"projection.{self.projector.name}", reason_of(error)).inc()
                return True
            except Exception as exc:
                log.warning("%s: dead letter not sent (%s); retrying in %.1fs", self.projector.name, exc, delay)
                self.stop_event.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        return False


def fault_subject(event: object) -> str:
    """What a fault drill's needle is matched against: the event type, memory id and text."""
    return f"{type(event).__name__} {getattr(event, 'memory_id', '')} {getattr(event, 'text', '')}"
