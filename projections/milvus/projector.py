"""Milvus projection: the vector of every stored memory, keyed by memory id (upserts are idempotent).

The vector arrives in ``MemoryEmbedded``; ``MemoryActivated`` follows it in the same partition and only
changes the row's state, so a batch merges both into one upsert. State never moves backwards: where the
outcome depends on the row already in Milvus, that row is taken from the rows this projector wrote lately
or, failing that, read first; the lifecycle keeps it where the event is stale.
A batch that carries a memory's ``MemoryEmbedded`` decides that memory's row on its own when every state
the row could be in leads to the same result (extracted → stored → active does) — the usual case in a
rebuild, which then costs upserts only.
Checkpoints: Milvus has no transactions, so the runner commits Kafka offsets after each upsert; a
replayed event rewrites the same row with the same values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pymilvus import MilvusClient

from memory.events import MemoryActivated, MemoryEmbedded
from memory.lifecycle import MemoryState, advance
from projections.base import Positioned
from projections.milvus.collection import ensure_collection

_FIELDS = ["memory_id", "app_id", "user_id", "agent_id", "run_id", "state", "occurred_at", "model", "vector"]
# Milvus Lite slows down sharply on very large insert messages (~5,000 rows of 384-d); 1,000 stays fast.
UPSERT_ROWS = 1000
FETCH_IDS = 500
# Rows written lately, kept so an activation in the next batch needs no read. ~12 KB each (384 floats).
KNOWN_ROWS = 2048

_TARGETS: dict[type, MemoryState] = {MemoryEmbedded: MemoryState.STORED, MemoryActivated: MemoryState.ACTIVE}


def _states_written() -> frozenset[MemoryState]:
    """Every state a row of this projection can hold, with EXTRACTED standing for "no row yet"."""
    states = {MemoryState.EXTRACTED}
    frontier = [MemoryState.EXTRACTED]
    while frontier:
        state = frontier.pop()
        for target in _TARGETS.values():
            nxt = advance(state, target)
            if nxt not in states:
                states.add(nxt)
                frontier.append(nxt)
    return frozenset(states)


_POSSIBLE_STATES = _states_written()


def _quoted(ids: Sequence[str]) -> str:
    return "[" + ",".join('"' + i.replace('"', "") + '"' for i in ids) + "]"


def _outcome(start: MemoryState, events: Sequence[Any]) -> MemoryState:
    """Where a row starting in ``start`` ends (EXTRACTED, "no row", cannot be activated: the table says so)."""
    state = start
    for event in events:
        state = advance(state, _TARGETS[type(event)])
    return state


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
        rows = self._current_rows(per_memory)
        changed: list[dict[str, Any]] = []
        for memory_id, events in per_memory.items():
            before = rows.get(memory_id)
            row = dict(before) if before is not None else None
            for event in events:
                if isinstance(event, MemoryEmbedded):
                    state = MemoryState(row["state"]) if row else MemoryState.EXTRACTED
                    row = self._row(event, advance(state, MemoryState.STORED))
                elif row is not None:
                    row["state"] = advance(MemoryState(row["state"]), MemoryState.ACTIVE).value
                # else: no vector yet (or another dimension): nothing to make searchable here
            if row is not None and not _same_row(row, before):
                changed.append(row)
        try:
            for start in range(0, len(changed), UPSERT_ROWS):
                self._client.upsert(self._collection, changed[start : start + UPSERT_ROWS])
        except Exception:
            self._known.clear()  # some chunks may have landed: what this projector remembers is unsure
            raise
        for row in changed:
            self._remember(row)

    def _current_rows(self, per_memory: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
        """The rows whose current value decides the outcome: remembered ones, the rest read (read-only)."""
        rows: dict[str, dict[str, Any]] = {}
        unknown: list[str] = []
        for memory_id, events in per_memory.items():
            known = self._known.get(memory_id)
            if known is not None:
                rows[memory_id] = known
            elif not self._decided_by_batch(events):
                unknown.append(memory_id)
        for row in self._fetch(unknown):
            self._remember(row)
            rows[row["memory_id"]] = row
        return rows

    @staticmethod
    def _decided_by_batch(events: Sequence[Any]) -> bool:
        """True if the batch writes the whole row and ends in one state whatever the row held before."""
        if not any(isinstance(e, MemoryEmbedded) for e in events):
            return False
        return len({_outcome(start, events) for start in _POSSIBLE_STATES}) == 1

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
