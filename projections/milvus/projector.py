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
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from pymilvus import MilvusClient

from memory.events import MemoryActivated, MemoryEmbedded
from memory.lifecycle import MemoryState, advance
from projections.base import Positioned
from projections.milvus.collection import ensure_collection

_FIELDS = ["memory_id", "app_id", "user_id", "agent_id", "run_id", "state", "occurred_at", "model", "vector"]
# Milvus Lite slows down sharply on very large write messages (~5,000 rows of 384-d); 1,000 stays fast.
WRITE_ROWS = 1000
FETCH_IDS = 500
# Rows written lately, kept so that the next batches need not read them. ~12 KB each (384 floats).
KNOWN_ROWS = 2048


def _quoted(ids: Sequence[str]) -> str:
    return "[" + ",".join('"' + i.replace('"', "") + '"' for i in ids) + "]"


def _same_row(row: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """True if writing ``row`` would change nothing. Skipping such writes matters beyond speed: right after
    an upsert over an existing key, Milvus Lite briefly (~1 ms) answers queries without that row."""
    if before is None:
        return False
    return all(row[f] == before[f] for f in _FIELDS if f != "vector") and tuple(row["vector"]) == tuple(
        before["vector"]
    )


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
        per_memory: dict[str, list[Any]] = {}
        for item in items:
            event = item.event
            if isinstance(event, MemoryEmbedded) and len(event.vector) != self._dim:
                continue  # another model's stream; this collection holds one dimension
            if isinstance(event, MemoryEmbedded | MemoryActivated):
                per_memory.setdefault(event.memory_id, []).append(event)
        if not per_memory:
            return
        current = self._current_rows(list(per_memory))
        inserts: list[dict[str, Any]] = []
        upserts: list[dict[str, Any]] = []
        for memory_id, events in per_memory.items():
            before = current.get(memory_id)
            row = dict(before) if before is not None else None
            for event in events:
                if isinstance(event, MemoryEmbedded):
                    state = MemoryState(row["state"]) if row else MemoryState.EXTRACTED
                    row = self._row(event, advance(state, MemoryState.STORED))
                elif row is not None:
                    row["state"] = advance(MemoryState(row["state"]), MemoryState.ACTIVE).value
                # else: no vector yet (or another dimension): nothing to make searchable here
            if row is not None and not _same_row(row, before):
                (upserts if before is not None else inserts).append(row)
        self._write(self._client.insert, inserts)
        self._write(self._client.upsert, upserts)

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
            result.extend(
                self._client.query(self._collection, filter=f"memory_id in {_quoted(chunk)}", output_fields=_FIELDS)
            )
        return result

    def close(self) -> None:
        pass
