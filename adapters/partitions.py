"""Grow the system's topics to ``kafka_partitions`` (``memstream run --partitions N``); never shrink them.

Kafka can add partitions to a topic but never remove them, so a count below a topic's current one leaves that
topic as it is (and says so). The Faust worker's own topics (its tables' changelogs, named after
``faust_app_id``) grow with the others: Faust refuses to start when a table's changelog has fewer partitions
than its source topic.

Growing is not free for a system holding data: every topic is keyed by scope, and a key's partition is its hash
modulo the count, so a user's later events may land on a different partition than its earlier ones, and the
worker's table state for that user stays on the changelog partition the old count chose. Grow before the first
ingest, or rebuild afterwards (``memstream replay``); the command prints this warning when it grew anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka.admin import NewPartitions

from adapters.kafka import make_admin
from memory.settings import Settings

REKEY_WARNING = (
    "warning: keys move when partitions are added: a user's later events may land on other partitions than its "
    "earlier ones, and the worker's table state stays where the old count put it. Grow an empty system, or rebuild "
    "with `memstream replay` afterwards."
)


@dataclass
class PartitionReport:
    count: int  # the partition count the system's topics have now (the largest, when some had more)
    grown: dict[str, tuple[int, int]] = field(default_factory=dict)  # topic -> (before, after)
    kept: dict[str, int] = field(default_factory=dict)  # topic -> its count, above the one asked for

    def lines(self, wanted: int) -> list[str]:
        out = [f"grew {topic} from {before} to {after} partitions" for topic, (before, after) in self.grown.items()]
        out += [
            f"{topic} keeps its {count} partitions (more than the {wanted} asked for: Kafka never removes any)"
            for topic, count in self.kept.items()
        ]
        if self.grown:
            out.append(REKEY_WARNING)
        return out


def system_topics(settings: Settings, existing: list[str]) -> list[str]:
    """The project's four topics and the Faust worker's internal ones (``<faust_app_id>-...``) that exist."""
    own = [settings.topics.turns, settings.topics.commands, settings.topics.memories, settings.topics.deadletter]
    faust = sorted(t for t in existing if t.startswith(f"{settings.faust_app_id}-"))
    return [t for t in own if t in existing] + faust


def ensure_partitions(settings: Settings, timeout: float = 30.0) -> PartitionReport:
    """Give every existing topic of the system at least ``kafka_partitions`` partitions, and all of them one
    count (topics are created by ``adapters.kafka.ensure_topics`` with ``kafka_partitions`` already)."""
    admin = make_admin(settings)
    metadata = admin.list_topics(timeout=timeout).topics
    wanted = settings.kafka_partitions
    counts = {topic: len(metadata[topic].partitions) for topic in system_topics(settings, list(metadata))}
    # Topics keyed alike must keep one count (co-partitioning): a topic above the wanted count raises it for all.
    report = PartitionReport(count=max([wanted, *counts.values()]))
    for topic, count in counts.items():
        if count < report.count:
            report.grown[topic] = (count, report.count)
        elif count > wanted:
            report.kept[topic] = count
    growing = [NewPartitions(topic, report.count) for topic in report.grown]
    for future in (admin.create_partitions(growing, operation_timeout=timeout).values() if growing else ()):
        future.result()
    return report
