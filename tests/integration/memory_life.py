"""One user's memory log, built event by event with the ids the agents would derive (``memory.ids``).

The k-th memory's id is ``memory_id_for(<the user's first turn>, k)``; event ids are derived from that turn,
the event type and a running number, so the same script always yields the same events. The clock ticks one
minute per event, recorded one second later. Vectors are seeded unit vectors (384-d, the collection's
dimension): no model needed, and a re-embedding (``version`` > 0) gives a different vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from memory.events import (
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryPinned,
    MemoryRecalled,
    MemoryReinforced,
    MemorySuperseded,
    MemoryUpdated,
    Producer,
    Relation,
    Scope,
    UserErased,
)
from memory.ids import derived_event_id, entity_id_for, memory_id_for, turn_event_id_for
from memory.positions import LogPosition
from projections.base import Positioned
from tests.support import T0

TOPIC = "memstream.memories.v1"
MODEL = "all-MiniLM-L6-v2"
DIM = 384


def vector(memory_id: str, version: int = 0) -> tuple[float, ...]:
    seed = int.from_bytes(hashlib.sha256(f"{memory_id}/{version}".encode()).digest()[:8], "little")
    raw = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return tuple(float(x) for x in raw / np.linalg.norm(raw))


def positioned(events: Sequence[Event], start: int = 0, topic: str = TOPIC) -> list[Positioned]:
    return [Positioned(e, LogPosition(topic, 0, start + i)) for i, e in enumerate(events)]


class Life:
    def __init__(self, user_id: str, app_id: str = "default"):
        self.scope = Scope(app_id, user_id)
        self.cause = turn_event_id_for(self.scope.key, "life", "0")
        self.count = 0

    @property
    def key(self) -> str:
        return self.scope.key

    def memory(self, k: int) -> str:
        return memory_id_for(self.cause, k)

    def entity(self, name: str) -> str:
        return entity_id_for(self.key, name)

    def _envelope(self, event_type: str) -> Envelope:
        self.count += 1
        occurred = T0 + timedelta(minutes=self.count)
        return Envelope(
            derived_event_id(self.cause, event_type, self.count),
            event_type,
            1,
            self.scope,
            occurred,
            occurred + timedelta(seconds=1),
            self.cause,
            self.cause,
            Producer("tests"),
        )

    def extracted(self, k: int, text: str, importance: float = 0.5) -> MemoryExtracted:
        return MemoryExtracted(
            envelope=self._envelope("MemoryExtracted"),
            memory_id=self.memory(k),
            text=text,
            source_turn_ids=("0",),
            source_event_ids=(self.cause,),
            importance=importance,
            extractor="rules-v1",
        )

    def linked(self, k: int, names: Sequence[str], relations: Sequence[tuple[str, str, str]] = ()) -> EntitiesLinked:
        return EntitiesLinked(
            envelope=self._envelope("EntitiesLinked"),
            memory_id=self.memory(k),
            entities=tuple(Entity(self.entity(n), n, "thing") for n in names),
            relations=tuple(Relation(self.entity(s), p, self.entity(o)) for s, p, o in relations),
        )

    def embedded(self, k: int, version: int = 0) -> MemoryEmbedded:
        memory_id = self.memory(k)
        return MemoryEmbedded(
            envelope=self._envelope("MemoryEmbedded"),
            memory_id=memory_id,
            model=MODEL,
            vector=vector(memory_id, version),
        )

    def activated(self, k: int) -> MemoryActivated:
        return MemoryActivated(envelope=self._envelope("MemoryActivated"), memory_id=self.memory(k))

    def active(
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

    def accessed(self, k: int) -> MemoryAccessed:
        return MemoryAccessed(
            envelope=self._envelope("MemoryAccessed"),
            memory_id=self.memory(k),
            rank=1,
            retrievers=("dense",),
            request_id=f"req-{self.count}",
        )

    def reinforced(self, k: int, duplicate: int, importance: float) -> MemoryReinforced:
        return MemoryReinforced(
            envelope=self._envelope("MemoryReinforced"),
            memory_id=self.memory(k),
            duplicate_memory_id=self.memory(duplicate),
            similarity=0.97,
            importance=importance,
        )

    def superseded(self, k: int, by: int) -> MemorySuperseded:
        return MemorySuperseded(
            envelope=self._envelope("MemorySuperseded"),
            memory_id=self.memory(k),
            superseded_by=self.memory(by),
            slot="residence",
            reason="contradiction",
        )

    def consolidating(self, k: int, summary: int) -> MemoryConsolidating:
        return MemoryConsolidating(
            envelope=self._envelope("MemoryConsolidating"),
            memory_id=self.memory(k),
            summary_memory_id=self.memory(summary),
        )

    def consolidated(self, summary: int, originals: Sequence[int]) -> MemoryConsolidated:
        return MemoryConsolidated(
            envelope=self._envelope("MemoryConsolidated"),
            memory_id=self.memory(summary),
            original_ids=tuple(self.memory(k) for k in originals),
            summarizer="extractive",
            triggers=("age",),
        )

    def archived(self, k: int, summary: int) -> MemoryArchived:
        return MemoryArchived(
            envelope=self._envelope("MemoryArchived"), memory_id=self.memory(k), summary_memory_id=self.memory(summary)
        )

    def recalled(self, k: int) -> MemoryRecalled:
        return MemoryRecalled(envelope=self._envelope("MemoryRecalled"), memory_id=self.memory(k), request_id="req")

    def decayed(self, k: int, importance: float, state: str | None = None) -> MemoryDecayed:
        return MemoryDecayed(
            envelope=self._envelope("MemoryDecayed"), memory_id=self.memory(k), importance=importance, state=state
        )

    def forgotten(self, k: int) -> MemoryForgotten:
        return MemoryForgotten(envelope=self._envelope("MemoryForgotten"), memory_id=self.memory(k), reason="request")

    def updated(self, k: int, text: str) -> MemoryUpdated:
        return MemoryUpdated(envelope=self._envelope("MemoryUpdated"), memory_id=self.memory(k), text=text)

    def pinned(self, k: int, pinned: bool = True) -> MemoryPinned:
        return MemoryPinned(envelope=self._envelope("MemoryPinned"), memory_id=self.memory(k), pinned=pinned)

    def erased(self) -> UserErased:
        return UserErased(envelope=self._envelope("UserErased"), reason="user request")


def whole_life(life: Life) -> list[Event]:
    """Every event type in a plausible order. What each memory ends as (asserted by the tests):

    0 "lives in Paris": active, superseded by 1 (valid_to = the supersession's time)
    1 "lives in Berlin": active, text updated and re-embedded (vector version 1), pinned
    2 "likes tea": decaying, importance 0.25 (reinforced to 0.75 first); accessed
    3, 4 (hiking, Alps): consolidated into 5, archived; 3 then recalled and active again
    5 the summary: active, SUMMARIZES 3 and 4
    6 "owns a boat": decaying, then forgotten (its entity Boat and relation OWNS go with it)
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
        life.forgotten(6),
        life.updated(1, "Alice lives in Berlin, Germany"),
        life.embedded(1, version=1),
        life.pinned(1),
        life.decayed(2, 0.25, "decaying"),
    ]
