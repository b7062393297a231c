"""Milvus projection: the vector of every stored memory, keyed by memory id (upserts are idempotent).

The vector arrives in ``MemoryEmbedded``; ``MemoryActivated`` follows it in the same partition and only
changes the row's state, so a batch merges both into one upsert. State never moves backwards: rows
already in Milvus are read first and kept where the lifecycle says the event is stale.
Checkpoints: Milvus has no transactions, so the runner commits Kafka offsets after each upsert; a
replayed event rewrites the same row with the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymilvus import MilvusClient

from memory.events import MemoryActivated, MemoryEmbedded
from memory.lifecycle import MemoryState, advance
from projections.base import Positioned
from projections.milvus.collection import ensure_collection

_FIELDS = ["memory_id", "app_id", "user_id", "agent_id", "run_id", "state", "occurred_at", "model", "vector"]


def _quoted(ids: Sequence[str]) -> str:
    return "[" + ",".join('"' + i.replace('"', "") + '"' for i in ids) + "]"


class MilvusProjector:
    def __init__(self, client: MilvusClient, collection: str, dim: int, topics: tuple[str, ...], name: str = "milvus"):
        self.name = name
        self.topics = topics
        self._client = client
        self._collection = collection
        self._dim = dim
        ensure_collection(client, collection, dim)

    def checkpoints(self) -> dict[tuple[str, int], int]:
        return {}  # the consumer group's committed offsets are this projection's checkpoint

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        relevant = [i.event for i in items if isinstance(i.event, MemoryEmbedded | MemoryActivated)]
        if not relevant:
            return
        ids = sorted({e.memory_id for e in relevant})
        rows: dict[str, dict[str, Any]] = {row["memory_id"]: row for row in self._fetch(ids)}
        changed: set[str] = set()
        for event in relevant:
            if isinstance(event, MemoryEmbedded):
                if len(event.vector) != self._dim:
                    continue  # another model's stream; this collection holds one dimension
                existing = rows.get(event.memory_id)
                state = MemoryState(existing["state"]) if existing else MemoryState.EXTRACTED
                scope = event.scope
                rows[event.memory_id] = {
                    "memory_id": event.memory_id,
                    "app_id": scope.app_id,
                    "user_id": scope.user_id,
                    "agent_id": scope.agent_id or "",
                    "run_id": scope.run_id or "",
                    "state": advance(state, MemoryState.STORED).value,
                    "occurred_at": int(event.envelope.occurred_at.timestamp() * 1000),
                    "model": event.model,
                    "vector": list(event.vector),
                }
                changed.add(event.memory_id)
            else:
                row = rows.get(event.memory_id)
                if row is None:
                    continue  # no vector yet (or another dimension): nothing to make searchable here
                row["state"] = advance(MemoryState(row["state"]), MemoryState.ACTIVE).value
                changed.add(event.memory_id)
        if changed:
            self._client.upsert(self._collection, [rows[i] for i in sorted(changed)])

    def _fetch(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result.extend(
                self._client.query(self._collection, filter=f"memory_id in {_quoted(chunk)}", output_fields=_FIELDS)
            )
        return result

    def close(self) -> None:
        pass
