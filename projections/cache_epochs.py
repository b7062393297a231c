"""Cache epochs: how a projector makes cached search results unreachable before its change is visible.

Per scope, one Redis hash ``<prefix>epoch:<scope>`` with two counters per writer (a projector's consumer
group): ``<writer>:s`` is bumped *before* the writer commits a batch touching the scope, ``<writer>:f`` is
set to that value *after* the commit. The API builds its cache key from every ``:s`` counter and refuses to
read or fill the cache while any writer has ``s != f`` (a commit in flight):
- a result cached before the bump is under the old epoch, unreachable from the bump on — that is, before
  the commit makes the change visible;
- a result computed while the commit is in flight is never cached;
- a writer that crashes between the two steps leaves its scope uncached until its next batch for that scope
  (it replays the same events after a restart), never stale.
Accesses (MemoryAccessed) do not bump: they change no result set, and every search records them. Nor do core
memory block events: blocks are never in a search result (``/v1/context`` reads them apart, uncached).
Conversation turns do: a turn, even one that made no memory, takes a place in its conversation, and neighbour
support reads those places (``api.reader.TURN_POSITIONS``, kept per epoch by ``api.turn_positions``).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from memory.contract.events import CoreBlockChanged, CoreBlockEditRefused, MemoryAccessed

# Events that change no search result: writing them must not invalidate the cache.
_NEUTRAL = (MemoryAccessed, CoreBlockChanged, CoreBlockEditRefused)


def epoch_key(prefix: str, scope_key: str) -> str:
    return f"{prefix}epoch:{scope_key}"


def changes_results(event: object) -> bool:
    return not isinstance(event, _NEUTRAL)


class CacheEpochs:
    def __init__(self, client: Redis, prefix: str, writer: str):
        self._redis = client
        self._prefix = prefix
        self._started = f"{writer}:s"
        self._finished = f"{writer}:f"

    def begin(self, scope_keys: Iterable[str]) -> dict[str, int]:
        """Bump the started counters; returns each scope's new value for ``finish``."""
        keys = sorted(set(scope_keys))
        if not keys:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for scope_key in keys:
            pipe.hincrby(epoch_key(self._prefix, scope_key), self._started, 1)
        return dict(zip(keys, (int(v) for v in pipe.execute()), strict=True))

    def finish(self, started: dict[str, int]) -> None:
        if not started:
            return
        pipe = self._redis.pipeline(transaction=False)
        for scope_key, value in started.items():
            pipe.hset(epoch_key(self._prefix, scope_key), self._finished, value)
        pipe.execute()
