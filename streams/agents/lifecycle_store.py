"""The lifecycle agent's state in its Faust table: one entry per memory, a process cache per user.

One entry per user would grow past Kafka's message size limit (a user with a few thousand memories is over
1 MB of JSON) and rewrite everything for each new event; one entry per memory writes only what changed.
Keys are ``<scope key>\\x1f<memory id>``. The table's changelog partition is the current event's (the
agent names it), which for every key of a user is the user's partition, so a worker that takes the
partition over restores exactly that user's memories.

The cache holds users as folded so far in this process; it is dropped on every rebalance, so a user this
worker held before and gets back is read again from the (restored) table.
"""

from __future__ import annotations

from typing import Any

from memory.lifecycle_state import UserState, tracked_from_json, tracked_to_json

SEPARATOR = "\x1f"


def table_key(scope_key: str, memory_id: str) -> bytes:
    return f"{scope_key}{SEPARATOR}{memory_id}".encode()


class LifecycleStore:
    def __init__(self, table: Any):
        self._table = table
        self._cache: dict[str, UserState] = {}
        self._index: dict[str, set[str]] | None = None

    def _memory_ids(self) -> dict[str, set[str]]:
        if self._index is None:  # once per process (and rebalance): a scan of the local table
            index: dict[str, set[str]] = {}
            for key in list(self._table.keys()):
                scope_key, _, memory_id = key.decode().rpartition(SEPARATOR)
                if scope_key:
                    index.setdefault(scope_key, set()).add(memory_id)
            self._index = index
        return self._index

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
            state = self._cache[scope_key] = UserState(memories)
        return state

    def save(self, scope_key: str, state: UserState) -> None:
        """Write what changed. The caller has made the user's event the stream's current event."""
        ids = self._memory_ids().setdefault(scope_key, set())
        for memory_id in state.dirty:
            tracked = state.memories.get(memory_id)
            if tracked is not None:
                self._table[table_key(scope_key, memory_id)] = tracked_to_json(tracked)
                ids.add(memory_id)
        for memory_id in state.removed:
            key = table_key(scope_key, memory_id)
            if key in self._table:
                del self._table[key]
            ids.discard(memory_id)
        state.dirty.clear()
        state.removed.clear()

    def forget_cache(self) -> None:
        self._cache.clear()
        self._index = None
