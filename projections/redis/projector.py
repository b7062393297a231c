"""Redis projection: per-scope cache generations and the projector's checkpoint.

A scope's generation is the log offset of the latest event that changed what its searches return.
Taking the offset (not a counter) makes the write idempotent — applying an event twice sets the same
value — and a rebuild from the log reproduces the live value exactly. All partitions of a scope live in
one Kafka partition, so the offset grows monotonically per scope.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis

from memory.events import MemoryActivated, MemoryEmbedded, MemoryExtracted
from projections.base import Positioned, highest_positions, newer_than_checkpoint

# Set the key to ARGV[1] only if that is higher than what it holds.
_SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""
_CHANGES_SEARCH_RESULTS = (MemoryActivated, MemoryEmbedded, MemoryExtracted)


def generation_key(prefix: str, scope_key: str) -> str:
    return f"{prefix}gen:{scope_key}"


class RedisProjector:
    def __init__(self, client: Redis, topics: tuple[str, ...], prefix: str = "memstream:", name: str = "redis"):
        self.name = name
        self.topics = topics
        self._redis = client
        self._prefix = prefix
        self._set_max = client.register_script(_SET_MAX)
        self._checkpoint_key = f"{prefix}checkpoint:{name}"

    def checkpoints(self) -> dict[tuple[str, int], int]:
        raw = self._redis.hgetall(self._checkpoint_key)
        result = {}
        for field, value in raw.items():
            topic, partition = field.decode().rsplit(":", 1)
            result[(topic, int(partition))] = int(value)
        return result

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        fresh = newer_than_checkpoint(items, self.checkpoints())
        if not fresh:
            return
        generations: dict[str, int] = {}
        for item in fresh:
            if isinstance(item.event, _CHANGES_SEARCH_RESULTS):
                generations[item.event.scope.key] = item.position.offset
        pipe = self._redis.pipeline(transaction=True)  # generations and checkpoint land together
        for scope_key, offset in generations.items():
            self._set_max(keys=[generation_key(self._prefix, scope_key)], args=[offset], client=pipe)
        for (topic, partition), offset in highest_positions(fresh).items():
            pipe.hset(self._checkpoint_key, f"{topic}:{partition}", offset)
        pipe.execute()

    def generation(self, scope_key: str) -> int:
        value = self._redis.get(generation_key(self._prefix, scope_key))
        return int(value) if value is not None else -1

    def close(self) -> None:
        pass
