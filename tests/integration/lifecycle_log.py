"""A synthetic memory log for lifecycle tests: one user's events with ids derived as the agents derive them.

Event ids come from ``memory.contract.ids`` (the cause is the user's first turn, the position a running number), so
the same script always yields the same ids. The clock ticks one minute per event and every event is recorded
one second after it occurred, so a test can name every expected time exactly. Importances used by the tests
are binary fractions: PostgreSQL stores them as ``real`` and they come back equal, not merely close.
"""

from __future__ import annotations

from datetime import timedelta

from memory.contract.events import (
    ConversationTurnReceived,
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
    MemoryRescued,
    MemorySuperseded,
    MemoryUpdated,
    Producer,
    Scope,
    UserErased,
)
from memory.contract.ids import derived_event_id, memory_id_for
from tests.support import T0, make_turn

MODEL = "all-MiniLM-L6-v2"
RECORDING_DELAY = timedelta(seconds=1)


class Life:
    """Builds one user's events. ``k`` names the user's k-th memory (``memory(k)`` is its id)."""

    def __init__(self, user_id: str, app_id: str = "default"):
        self.scope = Scope(app_id, user_id)
        self.first_turn = make_turn(user_id, "Hello.", "0", app_id=app_id)
        self.turns = 0
        self.count = 0

    @property
    def key(self) -> str:
        return self.scope.key

    def memory(self, k: int) -> str:
        return memory_id_for(self.first_turn.event_id, k)

    def envelope(self, event_type: str) -> Envelope:
        self.count += 1
        occurred = T0 + timedelta(minutes=self.count)
        cause = self.first_turn.event_id
        return Envelope(
            derived_event_id(cause, event_type, self.count),
            event_type,
            1,
            self.scope,
            occurred,
            occurred + RECORDING_DELAY,
            cause,
            cause,
            Producer("tests"),
        )

    def turn(self, text: str) -> ConversationTurnReceived:
        self.turns += 1
        self.count += 1
        return make_turn(
            self.scope.user_id,
            text,
            str(self.turns),
            app_id=self.scope.app_id,
            occurred_at=T0 + timedelta(minutes=self.count),
        )

    def extracted(self, k: int, text: str, importance: float = 0.5) -> MemoryExtracted:
        return MemoryExtracted(
            envelope=self.envelope("MemoryExtracted"),
            memory_id=self.memory(k),
            text=text,
            source_turn_ids=("0",),
            source_event_ids=(self.first_turn.event_id,),
            importance=importance,
            extractor="rules-v1",
        )

    def embedded(self, k: int, model: str = MODEL) -> MemoryEmbedded:
        return MemoryEmbedded(
            envelope=self.envelope("MemoryEmbedded"), memory_id=self.memory(k), model=model, vector=(1.0, 0.0)
        )

    def activated(self, k: int) -> MemoryActivated:
        return MemoryActivated(envelope=self.envelope("MemoryActivated"), memory_id=self.memory(k))

    def active(self, k: int, text: str, importance: float = 0.5) -> list[Event]:
        """Extracted, embedded, activated: a memory in default search."""
        return [self.extracted(k, text, importance), self.embedded(k), self.activated(k)]

    def accessed(self, k: int, rank: int = 1) -> MemoryAccessed:
        env = self.envelope("MemoryAccessed")
        return MemoryAccessed(
            envelope=env, memory_id=self.memory(k), rank=rank, retrievers=("dense",), request_id=f"req-{self.count}"
        )

    def reinforced(self, k: int, duplicate: int, importance: float) -> MemoryReinforced:
        return MemoryReinforced(
            envelope=self.envelope("MemoryReinforced"),
            memory_id=self.memory(k),
            duplicate_memory_id=self.memory(duplicate),
            similarity=1.0,
            importance=importance,
        )

    def superseded(self, k: int, by: int) -> MemorySuperseded:
        return MemorySuperseded(
            envelope=self.envelope("MemorySuperseded"),
            memory_id=self.memory(k),
            superseded_by=self.memory(by),
            slot="residence",
            reason="moved",
        )

    def consolidating(self, k: int, summary: int) -> MemoryConsolidating:
        return MemoryConsolidating(
            envelope=self.envelope("MemoryConsolidating"),
            memory_id=self.memory(k),
            summary_memory_id=self.memory(summary),
        )

    def consolidated(self, summary: int, originals: list[int]) -> MemoryConsolidated:
        return MemoryConsolidated(
            envelope=self.envelope("MemoryConsolidated"),
            memory_id=self.memory(summary),
            original_ids=tuple(self.memory(k) for k in originals),
            summarizer="extractive",
            triggers=("age",),
        )

    def archived(self, k: int, summary: int) -> MemoryArchived:
        return MemoryArchived(
            envelope=self.envelope("MemoryArchived"), memory_id=self.memory(k), summary_memory_id=self.memory(summary)
        )

    def recalled(self, k: int) -> MemoryRecalled:
        return MemoryRecalled(
            envelope=self.envelope("MemoryRecalled"), memory_id=self.memory(k), request_id=f"req-{self.count}"
        )

    def decayed(self, k: int, importance: float, state: str | None = None) -> MemoryDecayed:
        return MemoryDecayed(
            envelope=self.envelope("MemoryDecayed"), memory_id=self.memory(k), importance=importance, state=state
        )

    def rescued(self, k: int, importance: float, request_id: str | None = "req-rescue") -> MemoryRescued:
        return MemoryRescued(
            envelope=self.envelope("MemoryRescued"),
            memory_id=self.memory(k),
            importance=importance,
            request_id=request_id,
        )

    def forgotten(self, k: int, reason: str = "deleted") -> MemoryForgotten:
        return MemoryForgotten(envelope=self.envelope("MemoryForgotten"), memory_id=self.memory(k), reason=reason)

    def updated(self, k: int, text: str) -> MemoryUpdated:
        return MemoryUpdated(envelope=self.envelope("MemoryUpdated"), memory_id=self.memory(k), text=text)

    def pinned(self, k: int, pinned: bool = True) -> MemoryPinned:
        return MemoryPinned(envelope=self.envelope("MemoryPinned"), memory_id=self.memory(k), pinned=pinned)

    def erased(self, reason: str = "user request") -> UserErased:
        return UserErased(envelope=self.envelope("UserErased"), reason=reason)
