"""Where each of a user's turns sits in its conversation, read once per cache epoch instead of once per search.

Neighbour support (``memory.retrieval.scoring``) needs every candidate turn's position in its conversation. The
positions are a window over all of the user's single-turn memories (``api.reader.ALL_TURN_POSITIONS``): ~5 ms
of PostgreSQL per search on a conversation of 1,400 memories, the largest stage after retrieval. They change
only when the user's memories do, and every such change moves the user's cache epoch before it becomes visible
(``projections.cache_epochs``; accesses do not move it, and change no position). So the positions are kept in
the hot cache beside the user's cached searches, under the same epoch and the same rules (``api.cache``):
- read the epoch, then the positions under it; on a miss, run the window and store the result under that
  epoch only if the epoch did not move meanwhile. A change made visible after the read was bumped after it,
  so a stored result is never older than its epoch;
- while a projector is mid-commit for the user (no epoch) or Redis is away, the window is run and nothing
  is stored: never stale, only slower;
- the entry lives under the user's search keys, so it expires with their TTL and an erasure deletes it.
The key also names the PostgreSQL target read (blue/green rebuilds), so a switch never serves the other
schema's numbering. The whole user is read, not only the candidates' conversations: the numbering is per
conversation, so the values are the same, and the read needs no candidate, so it runs beside retrieval.
"""

from __future__ import annotations

import msgspec

from api.cache import SearchCache
from api.reader import MemoryReader

Positions = dict[tuple[str, str], int]

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(list[tuple[str, str, int]])


def _encoded(positions: Positions) -> bytes:
    return _ENCODER.encode([(conversation, turn, at) for (conversation, turn), at in positions.items()])


def _decoded(blob: bytes) -> Positions:
    return {(conversation, turn): at for conversation, turn, at in _DECODER.decode(blob)}


class TurnPositions:
    """One PostgreSQL target's turn positions, cached per user and epoch in the hot cache (``cache``: None, off)."""

    def __init__(self, reader: MemoryReader, cache: SearchCache | None, target: str):
        self._reader = reader
        self._cache = cache
        self._request = b"turn-positions\0" + target.encode()

    async def of_user(self, app_id: str, user_id: str, scope_key: str, epoch: str | None = None) -> Positions:
        """(conversation id, turn id) -> position, for every conversation of the user. ``epoch``: the one the
        caller already read for this scope (the search's cache key), else it is read here."""
        if self._cache is None:
            return await self._reader.all_turn_positions(app_id, user_id)
        if epoch is None:
            epoch = await self._cache.epoch(scope_key)
            if epoch is None:  # a commit in flight for the user, or Redis away: read, never store
                return await self._reader.all_turn_positions(app_id, user_id)
        key = self._cache.key(scope_key, epoch, self._request)
        cached = await self._cache.get(key)
        if cached is not None:
            return _decoded(cached)
        positions = await self._reader.all_turn_positions(app_id, user_id)
        await self._cache.put(key, _encoded(positions), scope_key, epoch)
        return positions

    async def cached(self, app_id: str, user_id: str, scope_key: str) -> Positions | None:
        """What the hot cache holds for the user under the epoch now, without reading PostgreSQL (None: nothing,
        or no epoch). For tests and operators: searches use ``of_user``."""
        if self._cache is None:
            return None
        epoch = await self._cache.epoch(scope_key)
        if epoch is None:
            return None
        blob = await self._cache.get(self._cache.key(scope_key, epoch, self._request))
        return None if blob is None else _decoded(blob)
