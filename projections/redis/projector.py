"""Redis projection: per-scope cache generations and the projector's checkpoint.

A scope's generation is the log offset of the latest event that changed what its searches return.
Taking the offset (not a counter) makes the write idempotent — applying an event twice sets the same
value — and a rebuild from the log reproduces the live value exactly. All partitions of a scope live in
one Kafka partition, so the offset grows monotonically per scope.

Every memory event moves the generation except those that change no result set (``MemoryAccessed``:
``projections.cache_epochs.changes_results``). ``UserErased`` instead deletes the
scope's generation and its cached search results (``<prefix>search:<scope>:*``, see ``api.cache``): the
cache must not keep answering with an erased user's memories until they expire.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis

from memory.contract.events import UserErased
from projections.base import Positioned, highest_positions, newer_than_checkpoint
from projections.cache_epochs import changes_results
from projections.redis.keys import generation_key, search_pattern

# One atomic call per batch, so generations, erasures and the checkpoint land together.
# KEYS: the checkpoint hash, n generation keys to move, then m generation keys to delete (erased scopes).
# ARGV: n, m, the n offsets, the m glob patterns of the erased scopes' cached searches, then checkpoint
# field/offset pairs. Erasures run first: a scope erased and written to again in one batch keeps the later
# generation, exactly as one event at a time would. A generation only moves forward.
# The cached searches are found with SCAN inside the script (their keys end in digests no one can list);
# this walks the whole key space once per erased scope, which an erasure — rare — can afford.
_APPLY = """
local n = tonumber(ARGV[1])
local m = tonumber(ARGV[2])
for i = 1, m do
  redis.call('DEL', KEYS[1 + n + i])
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2 + n + i], 'COUNT', 1000)
    cursor = page[1]
    for _, key in ipairs(page[2]) do redis.call('DEL', key) end
  until cursor == '0'
end
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i + 1]) or '-1')
  if tonumber(ARGV[i + 2]) > current then redis.call('SET', KEYS[i + 1], ARGV[i + 2]) end
end
for i = 3 + n + m, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
"""


class RedisProjector:
    def __init__(
        self,
        client: Redis,
        topics: tuple[str, ...],
        prefix: str = "memstream:",
        name: str = "redis",
        cache_prefix: str | None = None,
    ):
        """``cache_prefix``: where the API caches searches, if not under ``prefix``. The API keys its cache
        by the live prefix whatever target this projection writes, so a projector on a rebuilt target
        must be told the live one, or an erasure leaves the cached searches to expire on their own."""
        self.name = name
        self.topics = topics
        self._redis = client
        self._prefix = prefix
        self._cache_prefix = prefix if cache_prefix is None else cache_prefix
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
        erased: set[str] = set()
        for item in fresh:
            scope_key = item.event.scope.key
            if isinstance(item.event, UserErased):
                erased.add(scope_key)
                generations.pop(scope_key, None)  # deleted with the scope; only later events set it again
            elif changes_results(item.event):
                generations[scope_key] = item.position.offset
        erased_keys = sorted(erased)
        keys = [
            self._checkpoint_key,
            *(generation_key(self._prefix, k) for k in generations),
            *(generation_key(self._prefix, k) for k in erased_keys),
        ]
        args: list[str | int] = [
            len(generations),
            len(erased_keys),
            *generations.values(),
            *(search_pattern(self._cache_prefix, k) for k in erased_keys),
        ]
        for (topic, partition), offset in highest_positions(fresh).items():
            args.extend((f"{topic}:{partition}", offset))
        self._apply(keys=keys, args=args)

    def generation(self, scope_key: str) -> int:
        value = self._redis.get(generation_key(self._prefix, scope_key))
        return int(value) if value is not None else -1

    def close(self) -> None:
        pass
