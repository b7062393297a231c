"""One user's memory log, built event by event with the ids the agents would derive (``memory.contract.ids``).

The k-th memory's id is ``memory_id_for(<the user's first turn>, k)``; event ids are derived from that turn,
the event type and a running number, so the same script always yields the same events. The clock ticks one
minute per event, recorded one second later. Vectors are seeded unit vectors (384-d, the collection's
dimension): no model needed, and a re-embedding (``version`` > 0) gives a different vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from memory.contract.events import EntitiesLinked, Entity, Event, MemoryEmbedded, Relation
from memory.contract.ids import entity_id_for
from memory.contract.positions import LogPosition
from projections.base import Positioned
from tests.integration.lifecycle_log import MODEL
from tests.integration.lifecycle_log import Life as BaseLife

TOPIC = "memstream.memories.v1"
DIM = 384


def vector(memory_id: str, version: int = 0) -> tuple[float, ...]:
    seed = int.from_bytes(hashlib.sha256(f"{memory_id}/{version}".encode()).digest()[:8], "little")
    raw = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return tuple(float(x) for x in raw / np.linalg.norm(raw))


def positioned(events: Sequence[Event], start: int = 0, topic: str = TOPIC) -> list[Positioned]:
    return [Positioned(e, LogPosition(topic, 0, start + i)) for i, e in enumerate(events)]


class Life(BaseLife):
    """``tests.integration.lifecycle_log.Life`` plus what the vector and graph stores need: entities and their
    relations, and real-sized vectors (a re-embedding, ``version`` > 0, gives another one)."""

    def entity(self, name: str) -> str:
        return entity_id_for(self.key, name)

    def linked(self, k: int, names: Sequence[str], relations: Sequence[tuple[str, str, str]] = ()) -> EntitiesLinked:
        return EntitiesLinked(
            envelope=self.envelope("EntitiesLinked"),
            memory_id=self.memory(k),
            entities=tuple(Entity(self.entity(n), n, "thing") for n in names),
            relations=tuple(Relation(self.entity(s), p, self.entity(o)) for s, p, o in relations),
        )

    def embedded(self, k: int, version: int = 0) -> MemoryEmbedded:  # type: ignore[override]
        memory_id = self.memory(k)
        return MemoryEmbedded(
            envelope=self.envelope("MemoryEmbedded"),
            memory_id=memory_id,
            model=MODEL,
            vector=vector(memory_id, version),
        )

    def active(  # type: ignore[override]
        self,
        k: int,
        text: str,
        names: Sequence[str] = (),
        relations: Sequence[tuple[str, str, str]] = (),
        importance: float = 0.5,
    ) -> list[Event]:
        """A memory in default search: extracted, linked (when it names anything), embedded, activated."""
        linked: list[Event] = [self.linked(k, names, relations)] if names else []
        return [self.extracted(k, text, importance), *linked, self.embedded(k), self.activated(k)]


def whole_life(life: Life) -> list[Event]:
    """Every event type in a plausible order. What each memory ends as (asserted by the tests):

    0 "lives in Paris": active, superseded by 1 (valid_to = the supersession's time)
    1 "lives in Berlin": active, text updated and re-embedded (vector version 1), pinned
    2 "likes tea": decaying, importance 0.25 (reinforced to 0.75 first); accessed
    3, 4 (hiking, Alps): consolidated into 5, archived; 3 then recalled and active again
    5 the summary: active, SUMMARIZES 3 and 4
    6 "owns a boat": decaying, rescued, decaying again, then forgotten (its entity Boat and relation OWNS go
      with it)
    """
    return [
        *life.active(0, "Alice lives in Paris", ["Alice", "Paris"], [("Alice", "LIVES_IN", "Paris")]),
        *life.active(1, "Alice lives in Berlin", ["Alice", "Berlin"], [("Alice", "LIVES_IN", "Berlin")]),
        life.superseded(0, by=1),
        *life.active(2, "Alice likes tea", ["Alice", "Tea"], [("Alice", "LIKES", "Tea")]),
        life.reinforced(2, duplicate=9, importance=0.75),
        life.accessed(2),
        *life.active(3, "Alice hikes", ["Alice", "Alps"], [("Alice", "HIKES_IN", "Alps")]),
        *life.active(4, "Alice hikes in the Alps", ["Alice", "Alps"], [("Alice", "HIKES_IN", "Alps")]),
        life.consolidating(3, summary=5),
        life.consolidating(4, summary=5),
        *life.active(5, "Alice hikes in the Alps often", ["Alice", "Alps"]),
        life.consolidated(5, [3, 4]),
        life.archived(3, summary=5),
        life.archived(4, summary=5),
        life.recalled(3),
        life.activated(3),
        *life.active(6, "Alice owns a boat", ["Alice", "Boat"], [("Alice", "OWNS", "Boat")]),
        life.decayed(6, 0.125, "decaying"),
        life.rescued(6, 0.5),  # found again: back to active
        life.decayed(6, 0.125, "decaying"),
        life.forgotten(6),
        life.updated(1, "Alice lives in Berlin, Germany"),
        life.embedded(1, version=1),
        life.pinned(1),
        life.decayed(2, 0.25, "decaying"),
    ]
