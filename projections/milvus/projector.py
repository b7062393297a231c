"""Milvus projection: the vector of every stored memory, keyed by memory id (writes are idempotent).

The vector arrives in ``MemoryEmbedded``; ``MemoryActivated`` follows it in the same partition and only
changes the row's state, so a batch merges both into one write. State never moves backwards: the row
already in Milvus is taken from the rows this projector wrote lately or, failing that, read first (one
query by primary key per batch, ~1.5 ms and flat with collection size), and the lifecycle keeps it where
an event is stale. A row that would not change is not written.

Rows Milvus does not hold yet are inserted; only rows it holds are upserted. On Milvus Lite an upsert is
a delete plus an insert, and the delete markers it leaves make each later upsert slower as the collection
grows (measured, batches of 125 rows: 6,300 → 2,600 rows/s over the first 45,000 rows, while inserts
stay at ~10,000 rows/s), so a rebuild that upserted every new row would slow down as it went.
Inserting is safe because one projector writes a collection (a rebuild writes a new one) and the rows it
wrote lately are remembered, never re-read: Milvus Lite answers a query issued within ~2 ms of a write
without that write's rows. (One gap remains: pymilvus retries a failed call itself, so an insert that
landed but whose answer was lost would be sent twice — a duplicate key until that memory's next upsert.)
Checkpoints: Milvus has no transactions, so the runner commits Kafka offsets after each batch; a
replayed event rewrites the same row with the same values (or, unchanged, not at all).

Lifecycle: the row's state follows every event that asks for one (``memory.lifecycle.transitions``), only where the
lifecycle allows it. A second ``MemoryEmbedded`` (after ``MemoryUpdated``) replaces the vector and model and
keeps the row's state, scope and valid time (``occurred_at`` is when the memory became true, which an edit
of its text does not move). ``MemoryForgotten`` deletes the row whatever its state; ``UserErased`` deletes
every row of the user. Deletes leave the remembered rows too, so a later event reads the store (which,
unlike an insert, Milvus Lite shows to the next query at once, measured). No tombstone is kept, so a
``MemoryEmbedded`` redelivered after the delete would write the row again (PostgreSQL's tombstones refuse
it there). Superseded memories keep their row: searches leave them out by PostgreSQL's ``valid_to``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from memory.contract.events import Event, MemoryEmbedded, MemoryExtracted, MemoryForgotten, Scope, UserErased
from memory.lifecycle.machine import MemoryState, advance
from memory.lifecycle.transitions import moves, target_state
from projections.base import PoisonEventError, Positioned
from projections.milvus.collection import FIELDS, ensure_collection
from projections.milvus.expressions import ids_filter, scope_filter

_FIELDS = list(FIELDS)
# What a re-embedding takes over from the row it replaces: a memory's scope and valid time never change.
_KEPT_ON_REEMBED = ("app_id", "user_id", "agent_id", "run_id", "occurred_at")
# Milvus Lite slows down sharply on very large write messages (~5,000 rows of 384-d); 1,000 stays fast.
WRITE_ROWS = 1000
FETCH_IDS = 500
DELETE_ATTEMPTS = 5
DELETE_SETTLE_SECONDS = 0.02
# Rows written lately, kept so that the next batches need not read them. ~12 KB each (384 floats).
KNOWN_ROWS = 2048


def _same_row(row: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """True if writing ``row`` would change nothing. Skipping such writes matters beyond speed: right after
    an upsert over an existing key, Milvus Lite briefly (~1 ms) answers queries without that row."""
    if before is None:
        return False
    return all(row[f] == before[f] for f in _FIELDS if f != "vector") and tuple(row["vector"]) == tuple(
        before["vector"]
    )


def _target(event: Event) -> MemoryState | None:
    try:
        return target_state(event)
    except ValueError as exc:  # MemoryDecayed.state is a free string in the schema
        raise PoisonEventError(f"{type(event).__name__} {event.event_id}: {exc}") from exc


def _touches_row(event: Event) -> bool:
    """Events that can change a memory's row here: its vector, its state, or its existence. (A row starts
    at the vector, so MemoryExtracted never changes one: the lifecycle allows no way back to it.)"""
    if isinstance(event, MemoryExtracted):
        return False
    return isinstance(event, MemoryEmbedded | MemoryForgotten) or _target(event) is not None


class MilvusProjector:
    def __init__(self, client: MilvusClient, collection: str, dim: int, topics: tuple[str, ...], name: str = "milvus"):
        self.name = name
        self.topics = topics
        self._client = client
        self._collection = collection
        self._dim = dim
        self._known: OrderedDict[str, dict[str, Any]] = OrderedDict()
        ensure_collection(client, collection, dim)

    def checkpoints(self) -> dict[tuple[str, int], int]:
        return {}  # the consumer group's committed offsets are this projection's checkpoint

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        # A user's erasure is a barrier: what came before it is applied (then deleted with the rest of the
        # user's rows), what comes after it applies to an empty user. Erasures are rare; the batch around
        # them keeps its one-read-one-write shape.
        pending: list[Positioned] = []
        for item in items:
            if isinstance(item.event, UserErased):
                self._apply_memories(pending)
                pending = []
                self._erase(item.event.scope)
            else:
                pending.append(item)
        self._apply_memories(pending)

    def _apply_memories(self, items: Sequence[Positioned]) -> None:
        per_memory: dict[str, list[Any]] = {}
        for item in items:
            event = item.event
            if isinstance(event, MemoryEmbedded) and len(event.vector) != self._dim:
                continue  # another model's stream; this collection holds one dimension
            if _touches_row(event):
                per_memory.setdefault(event.memory_id, []).append(event)
        if not per_memory:
            return
        current = self._current_rows(list(per_memory))
        inserts: list[dict[str, Any]] = []
        upserts: list[dict[str, Any]] = []
        deletes: list[str] = []
        for memory_id, events in per_memory.items():
            before = current.get(memory_id)
            row = self._fold(dict(before) if before is not None else None, events)
            if row is None:
                if before is not None:
                    deletes.append(memory_id)
            elif not _same_row(row, before):
                (upserts if before is not None else inserts).append(row)
        self._write(self._client.insert, inserts)
        self._write(self._client.upsert, upserts)
        self._delete(deletes)

    def _fold(self, row: dict[str, Any] | None, events: list[Any]) -> dict[str, Any] | None:
        """The row after these events of one memory, in log order (None: no row)."""
        for event in events:
            if isinstance(event, MemoryForgotten):
                row = None  # a delete request is honoured from any state
            elif isinstance(event, MemoryEmbedded):
                state = MemoryState(row["state"]) if row else MemoryState.EXTRACTED
                embedded = self._row(event, advance(state, MemoryState.STORED))
                if row is not None:
                    embedded.update({f: row[f] for f in _KEPT_ON_REEMBED})
                row = embedded
            elif row is not None:
                target = _target(event)
                if target is not None and moves(event, MemoryState(row["state"]), target):
                    row["state"] = target.value
            # else: no vector yet (or another dimension): nothing to make searchable here
        return row

    def _erase(self, scope: Scope) -> None:
        """Every row of the user, whatever agent or run wrote it."""
        try:
            self._client.delete(self._collection, filter=scope_filter(scope.app_id, scope.user_id))
        finally:  # deleted or not (unknown after an error): read them next time
            for memory_id, row in list(self._known.items()):
                if (row["app_id"], row["user_id"]) == (scope.app_id, scope.user_id):
                    del self._known[memory_id]

    def _delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), FETCH_IDS):
            chunk = ids[start : start + FETCH_IDS]
            try:
                self._delete_until_gone(chunk)
            finally:
                for memory_id in chunk:
                    self._known.pop(memory_id, None)

    def _delete_until_gone(self, ids: list[str]) -> None:
        """Delete, then check: Milvus Lite may order a delete issued a few milliseconds after an upsert of the
        same key before that upsert's insert, and the row comes back (seen under load). Forgetting is rare;
        the check costs a query per forgotten batch."""
        remaining = ids
        for attempt in range(DELETE_ATTEMPTS):
            # By our own id filter: pymilvus' ``ids=`` spells string keys in single quotes without escaping.
            self._client.delete(self._collection, filter=ids_filter(remaining))
            time.sleep(DELETE_SETTLE_SECONDS * (attempt + 1))
            remaining = [r["memory_id"] for r in self._fetch(remaining)]
            if not remaining:
                return
        raise MilvusException(message=f"{len(remaining)} rows still present after {DELETE_ATTEMPTS} deletes")

    def _write(self, write: Callable[..., Any], rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), WRITE_ROWS):
            chunk = rows[start : start + WRITE_ROWS]
            try:
                write(self._collection, chunk)
            except Exception:
                for row in chunk:  # landed or not: unknown, so read it next time
                    self._known.pop(row["memory_id"], None)
                raise
            for row in chunk:
                self._remember(row)

    def _current_rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The rows Milvus holds for these ids (absent: none): remembered ones, the rest read. Read-only."""
        rows: dict[str, dict[str, Any]] = {}
        unknown: list[str] = []
        for memory_id in ids:
            known = self._known.get(memory_id)
            if known is not None:
                rows[memory_id] = known
            else:
                unknown.append(memory_id)
        for row in self._fetch(unknown):
            self._remember(row)
            rows[row["memory_id"]] = row
        return rows

    def _row(self, event: MemoryEmbedded, state: MemoryState) -> dict[str, Any]:
        scope = event.scope
        return {
            "memory_id": event.memory_id,
            "app_id": scope.app_id,
            "user_id": scope.user_id,
            "agent_id": scope.agent_id or "",
            "run_id": scope.run_id or "",
            "state": state.value,
            "occurred_at": int(event.envelope.occurred_at.timestamp() * 1000),
            "model": event.model,
            "vector": event.vector,  # a tuple of floats: pymilvus extends its message from any sequence
        }

    def _remember(self, row: dict[str, Any]) -> None:
        self._known[row["memory_id"]] = row
        self._known.move_to_end(row["memory_id"])
        while len(self._known) > KNOWN_ROWS:
            self._known.popitem(last=False)

    def _fetch(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for start in range(0, len(ids), FETCH_IDS):
            chunk = ids[start : start + FETCH_IDS]
            result.extend(self._client.query(self._collection, filter=ids_filter(chunk), output_fields=_FIELDS))
        return result

    def close(self) -> None:
        pass
