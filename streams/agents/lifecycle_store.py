"""The lifecycle agent's state in its Faust table: one entry per memory, a process cache per user.

One entry per user would grow past Kafka's message size limit (a user with a few thousand memories is over
1 MB of JSON) and rewrite everything for each new event; one entry per memory writes only what changed.
Keys are ``<scope key>\\x1f<memory id>``. The table's changelog partition is the current event's (the
agent names it), which for every key of a user is the user's partition, so a worker that takes the
partition over restores exactly that user's memories.

The cache holds users as folded so far in this process. It is dropped when partitions are revoked or
assigned and again when the table's recovery completes, and nothing read while a rebalance is under way is
kept: a batch still in flight during a rebalance may read a table that is being restored, and a user cached
from half a table would never learn of the memories it missed (seen as memories that never activated after a
worker restart, when the dead member's session expired mid-backlog).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memory.lifecycle.state import UserState, tracked_from_json, tracked_to_json

SEPARATOR = "\x1f"


@dataclass(frozen=True)
class ChangelogEntry:
    partition: int
    key: bytes
    value: bytes | None  # None: the memory is gone (a tombstone)


def table_key(scope_key: str, memory_id: str) -> bytes:
    return f"{scope_key}{SEPARATOR}{memory_id}".encode()


class LifecycleStore:
    def __init__(self, table: Any, rebalancing: Callable[[], bool] = lambda: False):
        self._table = table
        self._rebalancing = rebalancing
        self._cache: dict[str, UserState] = {}
        self._index: dict[str, set[str]] | None = None

    def _memory_ids(self) -> dict[str, set[str]]:
        if self._index is not None:
            return self._index
        index: dict[str, set[str]] = {}  # once per process and rebalance: a scan of the local table
        for key in list(self._table.keys()):
            scope_key, _, memory_id = key.decode().rpartition(SEPARATOR)
            if scope_key:
                index.setdefault(scope_key, set()).add(memory_id)
        if not self._rebalancing():
            self._index = index
        return index

    def scopes(self) -> list[str]:
        return sorted(scope for scope, ids in self._memory_ids().items() if ids)

    def load(self, scope_key: str) -> UserState:
        state = self._cache.get(scope_key)
        if state is None:
            memories = {}
            for memory_id in self._memory_ids().get(scope_key, set()):
                raw = self._table.get(table_key(scope_key, memory_id))
                if raw is not None:
                    memories[memory_id] = tracked_from_json(raw)
            state = UserState(memories)
            if not self._rebalancing():
                self._cache[scope_key] = state
        return state

    def save(self, scope_key: str, state: UserState, partition: int) -> list[ChangelogEntry]:
        """Write what changed to the local store; returns the changelog entries for ``send`` (``partition``:
        the user's). Sending is separate so that a failed send can be repeated with the same entries."""
        ids = self._memory_ids().setdefault(scope_key, set())
        entries = []
        for memory_id in state.dirty:
            tracked = state.memories.get(memory_id)
            if tracked is not None:
                key, value = table_key(scope_key, memory_id), tracked_to_json(tracked)
                self._table.data[key] = value
                entries.append(ChangelogEntry(partition, key, value))
                ids.add(memory_id)
        for memory_id in state.removed:
            key = table_key(scope_key, memory_id)
            if key in self._table.data:
                del self._table.data[key]
            entries.append(ChangelogEntry(partition, key, None))
            ids.discard(memory_id)
        state.dirty.clear()
        state.removed.clear()
        return entries

    async def send(self, entries: list[ChangelogEntry]) -> None:
        """Send changelog entries and wait for the broker. Faust's own table writes are fire-and-forget, and
        its pre-commit flush gives up after 0.1 s without a delivery: under load, offsets were committed
        ahead of the table, and a worker killed then lost decisions. Awaiting these sends before the batch
        is settled keeps the table at least as new as the committed offsets."""
        futures = [
            self._table.send_changelog(e.partition, e.key, e.value)
            if e.value is not None
            else self._table.send_changelog(e.partition, e.key, None, value_serializer="raw")
            for e in entries
        ]
        await asyncio.gather(*futures)

    def forget_cache(self) -> None:
        self._cache.clear()
        self._index = None
