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

# One atomic call per batch. KEYS: the checkpoint hash, then generation keys; ARGV: the number of
# generation keys, their offsets, then checkpoint field/offset pairs. A generation only moves forward.
_APPLY = """
local n = tonumber(ARGV[1])
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i + 1]) or '-1')
  if tonumber(ARGV[i + 1]) > current then redis.call('SET', KEYS[i + 1], ARGV[i + 1]) end
end
for i = n + 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
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
        self._apply = client.register_script(_APPLY)
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
        keys = [self._checkpoint_key, *(generation_key(self._prefix, k) for k in generations)]
        args: list[str | int] = [len(generations), *generations.values()]
        for (topic, partition), offset in highest_positions(fresh).items():
            args.extend((f"{topic}:{partition}", offset))
        self._apply(keys=keys, args=args)  # generations and checkpoint land together

    def generation(self, scope_key: str) -> int:
        value = self._redis.get(generation_key(self._prefix, scope_key))
        return int(value) if value is not None else -1

    def close(self) -> None:
        pass
