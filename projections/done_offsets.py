"""The offsets a projector may commit: those of batches it finished, never merely the ones it consumed.

librdkafka's default commit takes the consumer's position, which includes a batch still being applied; a
runner that failed mid-batch used to commit it on its way out and the Milvus projection, which keeps no
checkpoint of its own, lost the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import Message, TopicPartition


class DoneOffsets:
    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}  # per partition: the offset after the last done event
        self._committed: dict[tuple[str, int], int] = {}

    def record(self, messages: Sequence[Message]) -> None:
        """Every message of a finished batch is done (errors such as partition EOF carry no offset)."""
        for msg in messages:
            if msg.error() is None:
                key = (str(msg.topic()), int(msg.partition() or 0))
                self._next[key] = max(self._next.get(key, 0), int(msg.offset() or 0) + 1)

    def pending(self) -> list[TopicPartition]:
        """Done offsets not yet committed, in the form ``Consumer.commit(offsets=...)`` takes."""
        return [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in sorted(self._next.items())
            if self._committed.get((topic, partition)) != offset
        ]

    def committed(self, offsets: Sequence[TopicPartition]) -> None:
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset

    def forget(self, partitions: Sequence[TopicPartition]) -> None:
        """Revoked partitions: whoever gets them next starts from the group's committed offsets."""
        for tp in partitions:
            self._next.pop((tp.topic, tp.partition), None)
            self._committed.pop((tp.topic, tp.partition), None)
