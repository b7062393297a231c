"""How far one Kafka cluster's copy of some topics trails another's: the recovery point of a cross-region mirror.

MirrorMaker 2 copies records, not offsets, so the two clusters' offsets are not comparable record by record;
what is comparable is how many records each holds per topic (end minus start offset: our topics start empty in
both regions and are never compacted or transactional). ``LagSampler`` samples both sides on a short period
while writes flow and reports the largest gap in records and in seconds: how long the copy took to reach each
count the source had reached (the data a region failure at that moment would have lost, and for how long).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from adapters.kafka_auth import client_config
from memory.settings import Settings


def record_counts(consumer: Consumer, topics: Iterable[str], timeout: float = 10.0) -> dict[str, int]:
    """Records each topic holds (high minus low watermark over its partitions); 0 for a topic not there yet."""
    metadata = consumer.list_topics(timeout=timeout)
    counts: dict[str, int] = {}
    for topic in topics:
        described = metadata.topics.get(topic)
        total = 0
        if described is not None and described.error is None:
            for partition in described.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
                total += high - low
        counts[topic] = total
    return counts


def counting_consumer(settings: Settings, name: str) -> Consumer:
    """A consumer that only reads watermarks (it never subscribes or commits)."""
    conf: dict[str, Any] = client_config(settings, **{"group.id": f"memstream.replication-lag.{name}"})
    return Consumer(conf)


PERSISTENT_ERROR_SECONDS = 30.0


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    counts: dict[str, int]


@dataclass
class TopicLag:
    topic: str
    source_records: int
    copy_records: int
    max_records_behind: int
    max_seconds_behind: float


@dataclass
class LagReport:
    topics: list[TopicLag] = field(default_factory=list)
    samples: int = 0
    period_seconds: float = 0.0

    @property
    def max_records_behind(self) -> int:
        return max((t.max_records_behind for t in self.topics), default=0)

    @property
    def max_seconds_behind(self) -> float:
        return max((t.max_seconds_behind for t in self.topics), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_records_behind": self.max_records_behind,
            "max_seconds_behind": round(self.max_seconds_behind, 3),
            "samples": self.samples,
            "sample_period_seconds": self.period_seconds,
            "topics": {
                t.topic: {
                    "source_records": t.source_records,
                    "copy_records": t.copy_records,
                    "max_records_behind": t.max_records_behind,
                    "max_seconds_behind": round(t.max_seconds_behind, 3),
                }
                for t in self.topics
            },
        }


class LagSampler:
    """Samples the record counts of ``topics`` on the source and its copy every ``period`` seconds in a thread,
    from ``start()`` until ``stop()``; ``wait_caught_up`` waits (events, not time) for the copy to hold what
    the source holds."""

    def __init__(self, source: Settings, copy: Settings, topics: list[str], period: float = 0.1) -> None:
        self.topics = topics
        self.period = period
        self._source = counting_consumer(source, "source")
        self._copy = counting_consumer(copy, "copy")
        self._lock = threading.Lock()
        self.source_samples: list[Sample] = []
        self.copy_samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replication-lag", daemon=True)
        self.error: KafkaException | None = None  # an error that lasted; wait_caught_up raises it

    def start(self) -> LagSampler:
        self._thread.start()
        return self

    def _sample(self) -> None:
        # The source first: a copy sampled after it can only look less behind, never more, than it was.
        source = Sample(time.monotonic(), record_counts(self._source, self.topics))
        copy = Sample(time.monotonic(), record_counts(self._copy, self.topics))
        with self._lock:
            self.source_samples.append(source)
            self.copy_samples.append(copy)

    def _run(self) -> None:
        failing_since: float | None = None
        while not self._stop.is_set():
            try:
                self._sample()
                failing_since = None
            except KafkaException as exc:
                # A topic MirrorMaker is creating on the copy answers "not leader" for a moment: skip the
                # sample. Only an error that lasts is the drill's failure.
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > PERSISTENT_ERROR_SECONDS:
                    self.error = exc
                    return
            self._stop.wait(self.period)

    def latest(self) -> tuple[Sample, Sample] | None:
        with self._lock:
            return (self.source_samples[-1], self.copy_samples[-1]) if self.source_samples else None

    def wait_caught_up(self, timeout: float) -> None:
        """Until one sample shows the copy holding at least what the source held (both after the writes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise TimeoutError(f"sampling the replication lag kept failing: {self.error}") from self.error
            latest = self.latest()
            if latest and all(latest[1].counts[t] >= latest[0].counts[t] for t in self.topics):
                return
            time.sleep(self.period)
        latest = self.latest()
        raise TimeoutError(f"the copy did not catch up with the source within {timeout:.0f}s: {latest}")

    def stop(self) -> LagReport:
        self._stop.set()
        self._thread.join(timeout=30)
        self._source.close()
        self._copy.close()
        return summarise(self.source_samples, self.copy_samples, self.topics, self.period)


def summarise(source: list[Sample], copy: list[Sample], topics: list[str], period: float) -> LagReport:
    report = LagReport(samples=len(source), period_seconds=period)
    for topic in topics:
        behind = [max(s.counts[topic] - c.counts[topic], 0) for s, c in zip(source, copy, strict=True)]
        seconds = 0.0
        for s in source:
            reached = next((c.at for c in copy if c.at >= s.at and c.counts[topic] >= s.counts[topic]), None)
            # Never reached before sampling stopped: behind by at least until the last sample.
            wait = (reached if reached is not None else copy[-1].at) - s.at
            seconds = max(seconds, wait)
        report.topics.append(
            TopicLag(
                topic,
                source[-1].counts[topic] if source else 0,
                copy[-1].counts[topic] if copy else 0,
                max(behind, default=0),
                seconds,
            )
        )
    return report
