"""The lifecycle agent's state in its Faust table: one entry per memory, a process cache per user.

Core memory blocks are entries of the same table, ``<scope key>\x1fblock\x1e<agent id>\x1e<label>``: a memory
id is a UUID and never holds ``\x1e``, so the two kinds of entries cannot be confused, and a table written
before blocks existed (memory entries only) loads unchanged.

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

from faust.types import TP

from memory.blocks.state import BlockKey, StoredBlock, stored_block_from_json, stored_block_to_json
from memory.lifecycle.state import UserState, tracked_from_json, tracked_to_json
from streams.table_store import PartitionedRocksDBStore

SEPARATOR = "\x1f"
BLOCK_MARK = "\x1e"
BLOCK_PREFIX = f"block{BLOCK_MARK}"


@dataclass(frozen=True)
class ChangelogEntry:
    partition: int
    key: bytes
    value: bytes | None  # None: the memory is gone (a tombstone)


def table_key(scope_key: str, memory_id: str) -> bytes:
    return f"{scope_key}{SEPARATOR}{memory_id}".encode()


def block_entry_id(key: BlockKey) -> str:
    agent_id, label = key
    return f"{BLOCK_PREFIX}{agent_id}{BLOCK_MARK}{label}"


def is_block_entry(entry_id: str) -> bool:
    return entry_id.startswith(BLOCK_PREFIX)


class LifecycleStore:
    def __init__(self, table: Any, rebalancing: Callable[[], bool] = lambda: False):
        self._table = table
        self._rebalancing = rebalancing
        self._cache: dict[str, UserState] = {}
        self._index: dict[str, set[str]] | None = None
        self._sent: dict[TP, int] = {}  # per changelog partition, the highest offset sent and not yet applied

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
        """Users with memories (what a tick is for; blocks alone need none)."""
        return sorted(scope for scope, ids in self._memory_ids().items() if any(not is_block_entry(i) for i in ids))

    def load(self, scope_key: str) -> UserState:
        state = self._cache.get(scope_key)
        if state is None:
            memories = {}
            blocks: dict[BlockKey, StoredBlock] = {}
            for entry_id in self._memory_ids().get(scope_key, set()):
                raw = self._table.get(table_key(scope_key, entry_id))
                if raw is None:
                    continue
                if is_block_entry(entry_id):
                    block = stored_block_from_json(raw)
                    blocks[(block.agent_id, block.label)] = block
                else:
                    memories[entry_id] = tracked_from_json(raw)
            state = UserState(memories, blocks)
            if not self._rebalancing():
                self._cache[scope_key] = state
        return state

    def save(self, scope_key: str, state: UserState, partition: int) -> list[ChangelogEntry]:
        """The changelog entries of what changed (``partition``: the user's), for ``send`` and then ``apply``.
        Nothing is written yet: the local table takes them only once the batch's events and entries are on the
        broker (``apply``), so a batch whose sends failed leaves the table as it was (block decisions fold
        their own events ahead of the log, and must not survive their lost events)."""
        ids = self._memory_ids().setdefault(scope_key, set())
        entries = []
        for memory_id in state.dirty:
            tracked = state.memories.get(memory_id)
            if tracked is not None:
                entries.append(ChangelogEntry(partition, table_key(scope_key, memory_id), tracked_to_json(tracked)))
                ids.add(memory_id)
        for block_key in state.dirty_blocks:
            block = state.blocks.get(block_key)
            if block is not None:
                entry_id = block_entry_id(block_key)
                entries.append(ChangelogEntry(partition, table_key(scope_key, entry_id), stored_block_to_json(block)))
                ids.add(entry_id)
        removed = [*state.removed, *(block_entry_id(k) for k in state.removed_blocks)]
        for entry_id in removed:
            entries.append(ChangelogEntry(partition, table_key(scope_key, entry_id), None))
            ids.discard(entry_id)
        state.dirty.clear()
        state.removed.clear()
        state.dirty_blocks.clear()
        state.removed_blocks.clear()
        return entries

    def apply(self, entries: list[ChangelogEntry]) -> None:
        """Write sent entries into the local table. A RocksDB table (streams/table_store.py) files each under its
        partition's database and records there the changelog offsets ``send`` got, with the entries."""
        data = self._table.data
        if isinstance(data, PartitionedRocksDBStore):
            data.write(((e.partition, e.key, e.value) for e in entries), self._sent)
        else:
            for entry in entries:
                if entry.value is not None:
                    data[entry.key] = entry.value
                elif entry.key in data:
                    del data[entry.key]
        self._sent = {}

    async def send(self, entries: list[ChangelogEntry]) -> None:
        """Send changelog entries and wait for the broker. Faust's own table writes are fire-and-forget, and
        its pre-commit flush gives up after 0.1 s without a delivery: under load, offsets were committed
        ahead of the table, and a worker killed then lost decisions. Awaiting these sends before the batch
        is settled keeps the table at least as new as the committed offsets.
        Sent without ``Table.send_changelog``'s callback, which would record the offset as held locally before
        ``apply`` writes the entry (streams/table_store.py); ``apply`` records the offsets kept here."""
        futures = [
            self._table.changelog_topic.send_soon(
                key=e.key,
                value=e.value,
                partition=e.partition,
                key_serializer="raw",
                value_serializer="raw",
                eager_partitioning=True,
            )
            for e in entries
        ]
        for sent in await asyncio.gather(*futures):
            tp, offset = sent.topic_partition, sent.offset
            self._sent[tp] = max(offset, self._sent.get(tp, offset))

    def forget_cache(self) -> None:
        self._cache.clear()
        self._index = None
        self._sent = {}  # a batch that failed after its sends: its entries are not applied, nor their offsets
