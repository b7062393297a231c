"""The lifecycle engine without services: ``memory.lifecycle.state.fold`` + the decisions (``memory.lifecycle.on_*``).

``Agent`` below replays the loop of ``streams/agents/lifecycle.py::_handle`` on one user's state: every memory
event is folded, then decisions are taken from the state; decided events change nothing until the log delivers
them back (``Agent.deliver``). Events are built with the real constructors (``memory.ingest.derivation``), times are
passed in, so every id and every timestamp below is exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from memory.contract.codec import Codec
from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryArchived,
    MemoryCommandIssued,
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
from memory.contract.ids import derived_event_id, entity_id_for, turn_event_id_for
from memory.errors import InvalidEventError
from memory.ingest.derivation import activation_event, embedding_events, extraction_events
from memory.ingest.extraction_types import ExtractedEntity, ExtractedFact
from memory.lifecycle.consolidation import summary_memory_id_for
from memory.lifecycle.decay import DECAYING_BELOW, FORGET_BELOW, current_importance
from memory.lifecycle.decisions import COMPONENT, LifecyclePolicy
from memory.lifecycle.on_access import after_access, after_activation
from memory.lifecycle.on_command import on_command
from memory.lifecycle.on_embedding import after_embedding
from memory.lifecycle.on_tick import needs_another_tick
from memory.lifecycle.state import IllegalLifecycleEvent, Tracked, UserState, fold

SCOPE = Scope("app-1", "user-1")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POLICY = LifecyclePolicy()
CONSOLIDATION = LifecyclePolicy(age_threshold=timedelta(days=30), token_budget=10_000)
LIFECYCLE = Producer(COMPONENT)
ALICE = entity_id_for(SCOPE.key, "Alice")
REX = entity_id_for(SCOPE.key, "Rex")


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def envelope(event_type: str, event_id: str, occurred_at: datetime, recorded_at: datetime | None = None) -> Envelope:
    """An envelope of the test's user; ``recorded_at`` defaults to ``occurred_at``."""
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        schema_version=1,
        scope=SCOPE,
        occurred_at=occurred_at,
        recorded_at=recorded_at or occurred_at,
        causation_id=None,
        correlation_id=event_id,
        producer=Producer("tests"),
    )


def decided_envelope(
    event_type: str, event_id: str, occurred_at: datetime, recorded_at: datetime, cause: Event
) -> Envelope:
    """The envelope the lifecycle agent writes for a decision caused by ``cause``."""
    return Envelope(
        event_id,
        event_type,
        1,
        SCOPE,
        occurred_at,
        recorded_at,
        cause.event_id,
        cause.envelope.correlation_id,
        LIFECYCLE,
    )


def said(
    text: str,
    at: datetime,
    *,
    turn: str | None = None,
    conversation: str = "c1",
    speaker: str | None = None,
    entities: Sequence[tuple[str, str]] = (),
    recorded_at: datetime | None = None,
) -> list[Event]:
    """The extraction of one fact said at ``at``: MemoryExtracted, then EntitiesLinked if it names anything."""
    turn_id = turn or f"turn:{text}:{at.isoformat()}"
    event_id = turn_event_id_for(SCOPE.key, conversation, turn_id)
    turn_event = ConversationTurnReceived(
        envelope("ConversationTurnReceived", event_id, at),
        conversation_id=conversation,
        turn_id=turn_id,
        role="user",
        speaker=speaker,
        text=text,
    )
    fact = ExtractedFact(text, tuple(ExtractedEntity(name, kind) for name, kind in entities))
    return extraction_events(turn_event, [fact], "rules-v1", recorded_at or at)


def extracted_of(events: Sequence[Event]) -> MemoryExtracted:
    first = events[0]
    assert isinstance(first, MemoryExtracted)
    return first


def embedded(cause: MemoryExtracted | MemoryUpdated, at: datetime | None = None) -> MemoryEmbedded:
    event = embedding_events(cause, [0.6, 0.8], "test-model", at or cause.envelope.recorded_at)[0]
    assert isinstance(event, MemoryEmbedded)
    return event


def command(
    name: str, at: datetime, memory_id: str | None = None, text: str | None = None, event_id: str | None = None
) -> MemoryCommandIssued:
    event_id = event_id or f"cmd:{name}:{memory_id}:{at.isoformat()}"
    return MemoryCommandIssued(
        envelope("MemoryCommandIssued", event_id, at), command=name, memory_id=memory_id, text=text
    )


def accessed(
    memory_id: str, at: datetime, request: str = "req-1", rank: int = 0, seen: str | None = None
) -> MemoryAccessed:
    """As ``api.access`` records it: one event per result, its id derived from the request and rank; ``seen`` is
    the state the search read the memory in (None: as written before the field existed)."""
    event_id = derived_event_id(request, "MemoryAccessed", rank)
    return MemoryAccessed(
        envelope("MemoryAccessed", event_id, at),
        memory_id=memory_id,
        rank=rank,
        retrievers=("dense",),
        request_id=request,
        seen_state=seen,
    )


@dataclass
class Agent:
    """One user's lifecycle agent: the state, the activations it decided but has not read back (``pending``),
    and the neighbours the dense index would return for an embedding (by memory id)."""

    policy: LifecyclePolicy = POLICY
    state: UserState = field(default_factory=UserState)
    pending: set[str] = field(default_factory=set)
    similar: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    log: list[Event] = field(default_factory=list)

    def handle(self, event: Event) -> list[Event]:
        """``streams.agents.lifecycle._handle``, without the services."""
        if isinstance(event, MemoryCommandIssued):
            return on_command(self.state, event, self.policy)
        fold(self.state, event)
        if isinstance(event, MemoryEmbedded):
            decided = after_embedding(
                self.state, event, self.similar.get(event.memory_id, []), self.policy, self.pending
            )
            self.pending.update(e.memory_id for e in decided if isinstance(e, MemoryActivated))
            return decided
        if isinstance(event, MemoryAccessed):
            return after_access(self.state, event)
        if isinstance(event, MemoryActivated):
            self.pending.discard(event.memory_id)
            return after_activation(self.state, event)
        return []

    def run(self, events: Iterable[Event]) -> list[Event]:
        """Fold each event and collect what is decided; decisions are not folded (they are not in the log yet)."""
        decided: list[Event] = []
        for event in events:
            decided.extend(self.handle(event))
        return decided

    def deliver(self, events: Iterable[Event], rounds: int = 10) -> list[Event]:
        """Let the log deliver ``events``, then what they cause to be decided, until nothing new is decided.
        Returns everything delivered, in log order."""
        delivered: list[Event] = []
        batch = list(events)
        for _ in range(rounds):
            if not batch:
                return delivered
            delivered.extend(batch)
            self.log.extend(batch)
            seen = {e.event_id for e in self.log}
            new: list[Event] = []
            for event in self.run(batch):
                if event.event_id not in seen:  # the same decision taken again collapses onto the first
                    seen.add(event.event_id)
                    new.append(event)
            batch = new
        raise AssertionError(f"decisions kept coming after {rounds} rounds")

    def add(
        self,
        text: str,
        at: datetime,
        *,
        turn: str | None = None,
        conversation: str = "c1",
        speaker: str | None = None,
        entities: Sequence[tuple[str, str]] = (),
    ) -> MemoryExtracted:
        """Say a fact, embed it and let the log deliver every decision: the memory as the agent ends up with it."""
        events = said(text, at, turn=turn, conversation=conversation, speaker=speaker, entities=entities)
        extracted = extracted_of(events)
        self.deliver([*events, embedded(extracted)])
        return extracted

    def tick(self, at: datetime) -> list[Event]:
        return self.run([command("tick", at)])

    def memory(self, memory_id: str) -> Tracked:
        return self.state.memories[memory_id]


def memory_of(event: Event) -> str:
    memory_id = getattr(event, "memory_id", None)
    assert isinstance(memory_id, str), type(event).__name__
    return memory_id


def kinds(events: Iterable[Event]) -> list[tuple[type[Event], str]]:
    """(type, memory id) of each event: what was decided about which memory, in order."""
    return [(type(e), memory_of(e)) for e in events]


def first_day_below(importance: float, threshold: float) -> int:
    """The first whole day after creation (at T0) on which an unaccessed memory's importance is below ``threshold``."""
    return next(d for d in range(1, 10_000) if current_importance(importance, 0, T0, day(d), False) < threshold)


# --- activation -------------------------------------------------------------------------------------------


def test_a_new_memory_is_activated_with_the_id_derived_from_its_extraction() -> None:
    agent = Agent()
    events = said("I love hiking in the Alps.", T0, recorded_at=T0 + timedelta(seconds=1))
    extracted = extracted_of(events)
    assert agent.run(events) == []  # extraction alone decides nothing
    assert agent.memory(extracted.memory_id).state == "extracted"

    embedding = embedded(extracted, T0 + timedelta(seconds=2))
    decided = agent.run([embedding])
    activation_id = derived_event_id(extracted.event_id, "MemoryActivated", 0)
    assert decided == [
        MemoryActivated(
            envelope=decided_envelope("MemoryActivated", activation_id, T0, T0 + timedelta(seconds=2), embedding),
            memory_id=extracted.memory_id,
        )
    ]
    assert activation_id == activation_event(extracted, T0).event_id  # the id memory.ingest.derivation documents
    assert agent.memory(extracted.memory_id).state == "stored"  # not active until the log says so
    assert agent.pending == {extracted.memory_id}

    # A redelivered embedding (a replayed batch) decides the very same event; once delivered, nothing more.
    assert agent.run([embedding]) == decided
    assert agent.deliver(decided) == decided
    tracked = agent.memory(extracted.memory_id)
    assert (tracked.state, tracked.generation, tracked.live) == ("active", 2, True)
    assert agent.pending == set()
    assert agent.run([embedding]) == []


# --- repeats ----------------------------------------------------------------------------------------------


def test_the_same_words_in_another_turn_reinforce_the_first_memory_and_the_copy_never_activates() -> None:
    agent = Agent()
    first = agent.add("I love hiking in the Alps.", T0, turn="t1")
    assert agent.memory(first.memory_id).importance == 0.45

    copy_events = said("i love hiking in the Alps!", day(3), turn="t7")  # the same words, once normalised
    copy = extracted_of(copy_events)
    assert copy.memory_id != first.memory_id
    embedding = embedded(copy, day(3) + timedelta(minutes=1))
    decided = agent.run([*copy_events, embedding])
    assert decided == [
        MemoryReinforced(
            envelope=decided_envelope(
                "MemoryReinforced",
                derived_event_id(copy.memory_id, "MemoryReinforced"),
                T0,  # the reinforced memory's valid time
                day(3) + timedelta(minutes=1),
                embedding,
            ),
            memory_id=first.memory_id,
            duplicate_memory_id=copy.memory_id,
            similarity=1.0,
            importance=0.5,
        )
    ]
    delivered = agent.deliver(decided)
    assert delivered == decided  # nothing further: in particular no activation of the copy
    assert agent.memory(first.memory_id).importance == 0.5
    duplicate = agent.memory(copy.memory_id)
    assert (duplicate.state, duplicate.merged_into, duplicate.live) == ("stored", first.memory_id, False)
    assert agent.run([embedding]) == []  # redelivered: already decided

    # Said a third time: reinforced again, from the raised importance.
    third = agent.add("I love hiking in the Alps.", day(9), turn="t12")
    assert agent.memory(first.memory_id).importance == 0.55
    assert agent.memory(third.memory_id).merged_into == first.memory_id
    assert not any(isinstance(e, MemoryActivated) and e.memory_id != first.memory_id for e in agent.log)


@pytest.mark.parametrize(
    ("similarity", "threshold", "reinforced"),
    [(0.95, 0.92, True), (0.92, 0.92, True), (0.80, 0.92, False), (0.95, 0.96, False)],
)
def test_a_near_duplicate_reinforces_only_at_or_above_the_policy_threshold(
    similarity: float, threshold: float, reinforced: bool
) -> None:
    agent = Agent(policy=LifecyclePolicy(dedupe_threshold=threshold))
    first = agent.add("I work at Google.", T0)
    new_events = said("I work for Google.", day(1))
    new = extracted_of(new_events)
    agent.similar[new.memory_id] = [("no-such-memory", 0.99), (first.memory_id, similarity)]
    decided = agent.run([*new_events, embedded(new)])
    if reinforced:
        assert len(decided) == 1 and isinstance(decided[0], MemoryReinforced)
        assert (decided[0].memory_id, decided[0].duplicate_memory_id) == (first.memory_id, new.memory_id)
        assert (decided[0].similarity, decided[0].importance) == (similarity, 0.5)
    else:
        # Not a repeat; the same employer either way, so nothing is superseded.
        assert kinds(decided) == [(MemoryActivated, new.memory_id)]


def test_a_repeat_with_a_different_number_is_not_a_duplicate_even_at_099() -> None:
    agent = Agent()
    thirty = agent.add("I am 30 years old.", T0)
    new_events = said("I am 31 years old.", day(300))
    new = extracted_of(new_events)
    agent.similar[new.memory_id] = [(thirty.memory_id, 0.99)]
    decided = agent.run([*new_events, embedded(new)])
    assert [type(e) for e in decided] == [MemoryActivated, MemorySuperseded]
    superseded = decided[1]
    assert isinstance(superseded, MemorySuperseded)
    assert (superseded.memory_id, superseded.superseded_by, superseded.slot, superseded.reason) == (
        thirty.memory_id,
        new.memory_id,
        "age",
        "age was '30', now '31'",
    )


def test_a_different_speaker_is_not_a_duplicate_but_a_verbatim_memory_matches_any_speaker() -> None:
    agent = Agent()
    caroline = agent.add("Caroline: I love coffee.", T0, speaker="Caroline", turn="t1")
    melanie_events = said("Melanie: I love coffee.", day(1), speaker="Melanie", turn="t2")
    melanie = extracted_of(melanie_events)
    agent.similar[melanie.memory_id] = [(caroline.memory_id, 0.99)]
    decided = agent.run([*melanie_events, embedded(melanie)])
    assert kinds(decided) == [(MemoryActivated, melanie.memory_id)]
    agent.deliver(decided)

    # Without a speaker (a verbatim memory) the same words repeat a live memory of any speaker: the first found.
    verbatim_events = said("I love coffee.", day(2), turn="t3")
    verbatim = extracted_of(verbatim_events)
    decided = agent.run([*verbatim_events, embedded(verbatim)])
    assert len(decided) == 1 and isinstance(decided[0], MemoryReinforced)
    assert decided[0].memory_id == caroline.memory_id and decided[0].duplicate_memory_id == verbatim.memory_id


def test_a_repeat_right_behind_an_undelivered_activation_counts_as_a_duplicate() -> None:
    agent = Agent()
    first_events = said("I love hiking in the Alps.", T0, turn="t1")
    second_events = said("I love hiking in the Alps.", T0 + timedelta(minutes=1), turn="t2")
    first, second = extracted_of(first_events), extracted_of(second_events)
    second_embedding = embedded(second)
    # One batch: the first activation is decided but not delivered when the repeat is embedded.
    decided = agent.run([*first_events, *second_events, embedded(first), second_embedding])
    assert [type(e) for e in decided] == [MemoryActivated, MemoryReinforced]
    reinforced = decided[1]
    assert isinstance(reinforced, MemoryReinforced)
    assert (reinforced.memory_id, reinforced.duplicate_memory_id, reinforced.importance) == (
        first.memory_id,
        second.memory_id,
        0.5,
    )
    assert agent.pending == {first.memory_id}
    # Without the pending set the first memory is only "stored", so the repeat would activate as well.
    alone = after_embedding(agent.state, second_embedding, [], POLICY, frozenset())
    assert kinds(alone) == [(MemoryActivated, second.memory_id)]

    delivered = agent.deliver(decided)
    assert not any(isinstance(e, MemoryActivated) and e.memory_id == second.memory_id for e in delivered)
    assert (agent.memory(first.memory_id).state, agent.memory(first.memory_id).importance) == ("active", 0.5)
    assert agent.memory(second.memory_id).merged_into == first.memory_id
    assert agent.pending == set()


# --- contradictions -----------------------------------------------------------------------------------------


def test_a_move_supersedes_the_old_residence_as_of_the_new_statements_valid_time() -> None:
    agent = Agent()
    paris = agent.add("I live in Paris.", T0)
    berlin_events = said("I moved to Berlin.", day(10), recorded_at=day(10) + timedelta(hours=1))
    berlin = extracted_of(berlin_events)
    embedding = embedded(berlin, day(10) + timedelta(hours=2))
    decided = agent.run([*berlin_events, embedding])
    assert decided == [
        MemoryActivated(
            envelope=decided_envelope(
                "MemoryActivated",
                derived_event_id(berlin.event_id, "MemoryActivated", 0),
                day(10),
                day(10) + timedelta(hours=2),
                embedding,
            ),
            memory_id=berlin.memory_id,
        ),
        MemorySuperseded(
            envelope=decided_envelope(
                "MemorySuperseded",
                derived_event_id(berlin.memory_id, "MemorySuperseded:" + paris.memory_id),
                day(10),  # Paris stopped being true when Berlin started
                day(10) + timedelta(hours=2),
                embedding,
            ),
            memory_id=paris.memory_id,
            superseded_by=berlin.memory_id,
            slot="residence",
            reason="residence was 'paris', now 'berlin'",
        ),
    ]
    agent.deliver(decided)
    old = agent.memory(paris.memory_id)
    assert (old.state, old.superseded_by, old.live) == ("active", berlin.memory_id, False)
    assert agent.memory(berlin.memory_id).live

    # Moving back: the same words as the superseded memory are not a repeat of it (it is history), and the
    # new statement supersedes Berlin in turn.
    back_events = said("I live in Paris.", day(20))
    back = extracted_of(back_events)
    decided = agent.run([*back_events, embedded(back)])
    assert kinds(decided) == [
        (MemoryActivated, back.memory_id),
        (MemorySuperseded, berlin.memory_id),
    ]


def test_a_near_duplicate_that_contradicts_supersedes_instead_of_reinforcing() -> None:
    # Measured with all-MiniLM-L6-v2: these two score 0.946, above the 0.92 dedupe threshold, and carry no
    # number, month or negation that would tell them apart. They still say different cities.
    agent = Agent()
    old = agent.add("I live in San Jose, California with my two cats.", T0)
    new_events = said("I live in San Diego, California with my two cats.", day(30))
    new = extracted_of(new_events)
    agent.similar[new.memory_id] = [(old.memory_id, 0.946)]
    decided = agent.run([*new_events, embedded(new)])
    assert kinds(decided) == [
        (MemoryActivated, new.memory_id),
        (MemorySuperseded, old.memory_id),
    ]
    superseded = decided[1]
    assert isinstance(superseded, MemorySuperseded)
    assert superseded.reason == "residence was 'san jose california', now 'san diego california'"


def test_an_older_statement_arriving_late_does_not_supersede_a_newer_one() -> None:
    agent = Agent()
    berlin = agent.add("I moved to Berlin.", day(10))
    late_events = said("I live in Paris.", T0, recorded_at=day(11))  # said before the move, learned after
    late = extracted_of(late_events)
    decided = agent.run([*late_events, embedded(late)])
    assert kinds(decided) == [(MemoryActivated, late.memory_id)]
    agent.deliver(decided)
    assert agent.memory(berlin.memory_id).superseded_by is None
    assert agent.memory(berlin.memory_id).live


def test_a_summary_never_supersedes_what_a_fact_with_the_same_text_would() -> None:
    text = "I moved to Berlin. I love hiking."
    for kind, expected in (("fact", [MemoryActivated, MemorySuperseded]), ("summary", [MemoryActivated])):
        agent = Agent()
        paris = agent.add("I live in Paris.", T0)
        new = MemoryExtracted(
            envelope("MemoryExtracted", f"extracted-{kind}", day(40)),
            memory_id=f"memory-{kind}",
            text=text,
            kind=kind,
            importance=0.5,
            extractor="consolidation:extractive-v1",
        )
        decided = agent.run([new, embedded(new)])
        assert [type(e) for e in decided] == expected, kind
        agent.deliver(decided)
        assert agent.memory(paris.memory_id).live is (kind == "summary")


# --- decay on a tick ----------------------------------------------------------------------------------------

DECAYING_DAY = first_day_below(0.45, DECAYING_BELOW)
FORGET_DAY = first_day_below(0.45, FORGET_BELOW)


def test_the_threshold_days_of_a_045_memory() -> None:
    # 0.45 * 0.5 ** (d / 30) < 0.10 from d > 65.1, and < 0.03 from d > 117.2: the days the tests below use.
    assert (DECAYING_DAY, FORGET_DAY) == (66, 118)
    assert current_importance(0.45, 0, T0, day(DECAYING_DAY - 1), False) >= DECAYING_BELOW
    assert current_importance(0.45, 0, T0, day(FORGET_DAY - 1), False) >= FORGET_BELOW


def test_tick_decay_active_to_decaying_to_forgotten_one_step_per_threshold() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    assert agent.memory(memory.memory_id).importance == 0.45
    assert agent.tick(day(DECAYING_DAY - 1)) == []

    tick = command("tick", day(DECAYING_DAY))
    decided = agent.run([tick])
    assert decided == [
        MemoryDecayed(
            envelope=decided_envelope(
                "MemoryDecayed",
                derived_event_id(f"{memory.memory_id}:2", "MemoryDecayed"),
                day(DECAYING_DAY),
                day(DECAYING_DAY),
                tick,
            ),
            memory_id=memory.memory_id,
            importance=round(current_importance(0.45, 0, T0, day(DECAYING_DAY), False), 4),
            state="decaying",
        )
    ]
    assert isinstance(decided[0], MemoryDecayed) and decided[0].importance == 0.0979
    agent.deliver(decided)
    tracked = agent.memory(memory.memory_id)
    assert (tracked.state, tracked.generation, tracked.live) == ("decaying", 3, True)
    assert agent.tick(day(DECAYING_DAY)) == []  # a second tick at the same moment
    assert agent.tick(day(FORGET_DAY - 1)) == []  # still above the forget threshold

    tick = command("tick", day(FORGET_DAY))
    decided = agent.run([tick])
    assert decided == [
        MemoryForgotten(
            envelope=decided_envelope(
                "MemoryForgotten",
                derived_event_id(f"{memory.memory_id}:3", "MemoryForgotten"),
                day(FORGET_DAY),
                day(FORGET_DAY),
                tick,
            ),
            memory_id=memory.memory_id,
            reason="decayed",
        )
    ]
    agent.deliver(decided)
    assert memory.memory_id not in agent.state.memories
    assert agent.tick(day(FORGET_DAY)) == []


def test_a_tick_far_in_the_future_decays_and_forgets_in_one_go_and_a_second_tick_decides_nothing() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    decided = agent.tick(day(FORGET_DAY + 100))
    assert [(type(e), e.event_id) for e in decided] == [
        (MemoryDecayed, derived_event_id(f"{memory.memory_id}:2", "MemoryDecayed")),
        (MemoryForgotten, derived_event_id(f"{memory.memory_id}:3", "MemoryForgotten")),
    ]
    assert isinstance(decided[0], MemoryDecayed) and decided[0].state == "decaying"
    assert isinstance(decided[1], MemoryForgotten) and decided[1].reason == "decayed"
    assert agent.tick(day(FORGET_DAY + 100)) == decided  # not delivered yet: the same decision, the same ids
    agent.deliver(decided)
    assert agent.state.memories == {}
    assert agent.tick(day(FORGET_DAY + 100)) == []


def test_a_pinned_memory_never_decays_until_unpinned() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    agent.deliver(agent.run([command("pin", day(1), memory.memory_id)]))
    assert agent.memory(memory.memory_id).pinned
    assert agent.tick(day(1000)) == []
    agent.deliver(agent.run([command("unpin", day(1001), memory.memory_id)]))
    assert [type(e) for e in agent.tick(day(1002))] == [MemoryDecayed, MemoryForgotten]


def test_pinning_a_decaying_memory_brings_it_back_on_the_next_tick() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    agent.deliver(agent.tick(day(DECAYING_DAY)))
    agent.deliver(agent.run([command("pin", day(DECAYING_DAY + 1), memory.memory_id)]))
    decided = agent.tick(day(DECAYING_DAY + 2))
    assert len(decided) == 1 and isinstance(decided[0], MemoryRescued)
    # Derived as the rescue's MemoryDecayed(state="active") was before MemoryRescued: one decision, one id.
    assert (decided[0].request_id, decided[0].event_id) == (
        None,
        derived_event_id(f"{memory.memory_id}:3", "MemoryDecayed"),
    )
    agent.deliver(decided)
    assert agent.memory(memory.memory_id).state == "active"


def test_superseded_memories_do_not_decay() -> None:
    agent = Agent()
    paris = agent.add("I live in Paris.", T0)
    berlin = agent.add("I moved to Berlin.", day(1))
    assert agent.memory(paris.memory_id).superseded_by == berlin.memory_id
    decided = agent.tick(day(FORGET_DAY + 100))
    assert kinds(decided) == [
        (MemoryDecayed, berlin.memory_id),
        (MemoryForgotten, berlin.memory_id),
    ]
    agent.deliver(decided)
    assert list(agent.state.memories) == [paris.memory_id]  # kept as history
    assert agent.memory(paris.memory_id).state == "active"


# --- access -----------------------------------------------------------------------------------------------


def test_an_access_brings_a_decaying_memory_back_to_active() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    agent.deliver(agent.tick(day(DECAYING_DAY)))
    access = accessed(memory.memory_id, day(DECAYING_DAY + 1))
    decided = agent.run([access])
    assert decided == [
        MemoryRescued(
            envelope=decided_envelope(
                "MemoryRescued",
                derived_event_id(access.event_id, "MemoryDecayed"),  # the id the rescue had as a MemoryDecayed
                day(DECAYING_DAY + 1),
                day(DECAYING_DAY + 1),
                access,
            ),
            memory_id=memory.memory_id,
            importance=0.5,  # 0.45 + one access (0.05), and the clock restarts at the access
            request_id=access.request_id,
        )
    ]
    agent.deliver(decided)
    tracked = agent.memory(memory.memory_id)
    assert (tracked.state, tracked.access_count, tracked.last_access) == ("active", 1, day(DECAYING_DAY + 1))
    # The clock runs from the access now: no decay a day later, where the unaccessed memory was fading.
    assert agent.tick(day(DECAYING_DAY + 2)) == []


def test_an_access_on_an_active_memory_decides_nothing() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    assert agent.run([accessed(memory.memory_id, day(1))]) == []
    assert agent.run([accessed("unknown-memory", day(1))]) == []
    assert agent.memory(memory.memory_id).state == "active"


def test_an_access_delivered_twice_is_counted_once() -> None:
    agent = Agent()
    memory = agent.add("I love hiking in the Alps.", T0)
    access = accessed(memory.memory_id, day(5), request="req-5")
    assert fold(agent.state, access) is True
    assert fold(agent.state, access) is False
    tracked = agent.memory(memory.memory_id)
    assert (tracked.access_count, tracked.last_access) == (1, day(5))
    # Another request whose access is older (late): counted, but the last access stays the latest.
    assert fold(agent.state, accessed(memory.memory_id, day(2), request="req-2")) is True
    assert (tracked.access_count, tracked.last_access) == (2, day(5))


# --- consolidation on a tick ---------------------------------------------------------------------------------


def dog_memories(agent: Agent) -> tuple[MemoryExtracted, MemoryExtracted, MemoryExtracted]:
    """Two memories linked only by Rex (other days, other conversations) and one by Alice, the speaker, only."""
    rex = [("Alice", "person"), ("Rex", "animal")]
    adopted = agent.add("Alice: I adopted a dog named Rex.", T0, conversation="c1", speaker="Alice", entities=rex)
    beach = agent.add("Alice: Rex loves the beach.", day(3), conversation="c2", speaker="Alice", entities=rex)
    jazz = agent.add("Alice: I like jazz.", day(6), conversation="c3", speaker="Alice", entities=[("Alice", "person")])
    assert [agent.memory(m.memory_id).importance for m in (adopted, beach, jazz)] == [0.55, 0.4, 0.45]
    assert agent.memory(adopted.memory_id).entities == [[ALICE, "Alice", "person"], [REX, "Rex", "animal"]]
    return adopted, beach, jazz


def test_a_tick_consolidates_two_related_old_memories_in_order_with_derived_ids() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, jazz = dog_memories(agent)
    assert agent.tick(day(33)) == []  # nothing older than 30 days yet
    tick = command("tick", day(40))
    decided = agent.run([tick])
    summary_id = summary_memory_id_for(sorted([adopted.memory_id, beach.memory_id]))

    def env(event_type: str, part: str = "") -> Envelope:
        # Valid time: the latest original's; recorded: the tick's.
        return decided_envelope(event_type, derived_event_id(summary_id, event_type + part), day(3), day(40), tick)

    assert decided == [
        MemoryExtracted(
            envelope=env("MemoryExtracted"),
            memory_id=summary_id,
            text="Alice: I adopted a dog named Rex. Rex loves the beach.",
            kind="summary",
            source_turn_ids=(*adopted.source_turn_ids, *beach.source_turn_ids),
            source_event_ids=(*adopted.source_event_ids, *beach.source_event_ids),
            importance=0.55,
            extractor="consolidation:extractive-v1",
            metadata={"consolidates": "2", "conversation_id": "c1,c2"},
        ),
        EntitiesLinked(
            envelope=env("EntitiesLinked"),
            memory_id=summary_id,
            entities=(Entity(ALICE, "Alice", "person"), Entity(REX, "Rex", "animal")),
        ),
        MemoryConsolidated(
            envelope=env("MemoryConsolidated"),
            memory_id=summary_id,
            original_ids=(adopted.memory_id, beach.memory_id),
            summarizer="extractive-v1",
            triggers=("age",),
        ),
        MemoryConsolidating(
            envelope=env("MemoryConsolidating", ":" + adopted.memory_id),
            memory_id=adopted.memory_id,
            summary_memory_id=summary_id,
        ),
        MemoryConsolidating(
            envelope=env("MemoryConsolidating", ":" + beach.memory_id),
            memory_id=beach.memory_id,
            summary_memory_id=summary_id,
        ),
    ]
    assert len(set(adopted.source_turn_ids + beach.source_turn_ids)) == 2
    # The timer fires twice before anything is delivered: byte-identical events; another tick at the same
    # moment: the same ids.
    codec = Codec()
    again = agent.run([tick])
    assert [codec.encode(e) for e in again] == [codec.encode(e) for e in decided]
    assert [e.event_id for e in agent.tick(day(40))] == [e.event_id for e in decided]

    agent.deliver(decided)
    summary = agent.memory(summary_id)
    assert (summary.state, summary.kind, summary.summary_of) == (
        "extracted",
        "summary",
        [adopted.memory_id, beach.memory_id],
    )
    for original in (adopted, beach):
        tracked = agent.memory(original.memory_id)
        assert (tracked.state, tracked.summary_into, tracked.live) == ("consolidating", summary_id, False)
    assert agent.memory(jazz.memory_id).state == "active"  # linked to the others through the speaker only
    assert agent.tick(day(40)) == []  # waiting for the summary's embedding: nothing to do

    summary_extracted = decided[0]
    assert isinstance(summary_extracted, MemoryExtracted)
    embedding = embedded(summary_extracted, day(40) + timedelta(minutes=1))
    delivered = agent.deliver([embedding])
    activation_id = derived_event_id(summary_extracted.event_id, "MemoryActivated", 0)
    assert [(type(e), e.event_id, memory_of(e)) for e in delivered[1:]] == [
        (MemoryActivated, activation_id, summary_id),
        (MemoryArchived, derived_event_id(summary_id, "MemoryArchived:" + adopted.memory_id), adopted.memory_id),
        (MemoryArchived, derived_event_id(summary_id, "MemoryArchived:" + beach.memory_id), beach.memory_id),
    ]
    archived = delivered[2]
    assert isinstance(archived, MemoryArchived)
    assert (archived.summary_memory_id, archived.envelope.occurred_at) == (summary_id, T0)  # the original's valid time
    assert [agent.memory(m.memory_id).state for m in (adopted, beach, jazz)] == ["archived", "archived", "active"]
    assert agent.memory(summary_id).state == "active"
    assert agent.tick(day(40)) == []
    assert agent.tick(day(41)) == []


def consolidated(agent: Agent) -> tuple[MemoryExtracted, MemoryExtracted, MemoryExtracted, str]:
    """The dog memories, consolidated at day 40 and archived under their active summary."""
    adopted, beach, jazz = dog_memories(agent)
    decided = agent.tick(day(40))
    agent.deliver(decided)
    summary = decided[0]
    assert isinstance(summary, MemoryExtracted)
    agent.deliver([embedded(summary, day(40))])
    assert agent.memory(adopted.memory_id).state == "archived"
    return adopted, beach, jazz, summary.memory_id


def test_pinned_memories_are_never_consolidated() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, _ = dog_memories(agent)
    agent.deliver(agent.run([command("pin", day(7), adopted.memory_id)]))
    assert agent.tick(day(40)) == []
    agent.deliver(agent.run([command("unpin", day(40), adopted.memory_id)]))
    consolidated = [e for e in agent.tick(day(40)) if isinstance(e, MemoryConsolidated)]
    assert [e.original_ids for e in consolidated] == [(adopted.memory_id, beach.memory_id)]


def test_the_token_budget_triggers_consolidation_without_any_old_memory() -> None:
    agent = Agent(policy=LifecyclePolicy(age_threshold=timedelta(days=30), token_budget=12))
    chess = agent.add("I play chess on Sundays.", T0, conversation="c9")
    pasta = agent.add("I cook pasta every Friday.", T0 + timedelta(hours=1), conversation="c9")
    agent.add("I read novels at night.", T0 + timedelta(hours=2), conversation="c9")
    # 3 x 7 estimated tokens = 21 > 12: the oldest go until the rest fits in 80% of the budget (7 <= 9.6).
    decided = agent.tick(T0 + timedelta(hours=3))
    summary_id = summary_memory_id_for([chess.memory_id, pasta.memory_id])
    assert [type(e) for e in decided] == [MemoryExtracted, MemoryConsolidated, MemoryConsolidating, MemoryConsolidating]
    summary, consolidation = decided[0], decided[1]
    assert isinstance(summary, MemoryExtracted) and isinstance(consolidation, MemoryConsolidated)
    assert (summary.memory_id, summary.text) == (summary_id, "I play chess on Sundays. I cook pasta every Friday.")
    assert (consolidation.original_ids, consolidation.triggers) == ((chess.memory_id, pasta.memory_id), ("budget",))
    no_consolidation = Agent(policy=dataclasses.replace(agent.policy, consolidate=False), state=agent.state)
    assert no_consolidation.tick(T0 + timedelta(hours=3)) == []


# --- crash recovery -----------------------------------------------------------------------------------------


def test_when_only_the_consolidating_marks_reached_the_log_the_next_tick_makes_the_summary_again() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, _ = dog_memories(agent)
    first = agent.tick(day(40))
    marks = [e for e in first if isinstance(e, MemoryConsolidating)]
    agent.deliver(marks)  # the summary's MemoryExtracted, EntitiesLinked and MemoryConsolidated were lost
    summary_id = summary_memory_id_for([adopted.memory_id, beach.memory_id])
    assert summary_id not in agent.state.memories

    again = agent.tick(day(41))
    assert [(type(e), e.event_id) for e in again] == [(type(e), e.event_id) for e in first[:3]]
    summary = again[0]
    assert isinstance(summary, MemoryExtracted) and isinstance(first[0], MemoryExtracted)
    assert (summary.text, summary.importance, summary.envelope.occurred_at) == (
        first[0].text,
        first[0].importance,
        day(3),
    )
    assert again[1] == dataclasses.replace(first[1], envelope=again[1].envelope)  # same entities
    consolidation = again[2]
    assert isinstance(consolidation, MemoryConsolidated)
    assert consolidation.original_ids == (adopted.memory_id, beach.memory_id)

    agent.deliver(again)
    agent.deliver([embedded(summary, day(41))])
    assert [agent.memory(m.memory_id).state for m in (adopted, beach)] == ["archived", "archived"]
    assert agent.tick(day(42)) == []


def test_originals_a_summary_names_are_never_grouped_again_when_only_some_marks_were_folded() -> None:
    """A worker killed while its consolidation's events were being read back restarts on a prefix of them:
    the summary and one mark folded, the other mark not yet. The next tick marks the other original into the
    same summary (the first decision's id) instead of grouping it with a newer related memory."""
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, _ = dog_memories(agent)
    first = agent.tick(day(40))
    assert [type(e) for e in first][2:] == [MemoryConsolidated, MemoryConsolidating, MemoryConsolidating]
    agent.deliver(first[:4])  # ...up to adopted's mark; beach's mark is in the log but not folded
    rex = [("Alice", "person"), ("Rex", "animal")]
    ball = agent.add("Alice: Rex chased a ball.", day(5), conversation="c4", speaker="Alice", entities=rex)
    summary_id = summary_memory_id_for([adopted.memory_id, beach.memory_id])
    assert agent.memory(beach.memory_id).state == "active"
    assert agent.memory(beach.memory_id).reserved_for == summary_id

    again = agent.tick(day(41))
    assert [(type(e), e.event_id, memory_of(e)) for e in again] == [
        (MemoryConsolidating, first[4].event_id, beach.memory_id)
    ]
    agent.deliver(again)
    agent.deliver([first[4]])  # the first decision's own mark, read back at last: the same event, nothing changes
    assert agent.memory(beach.memory_id).summary_into == summary_id
    summary = first[0]
    assert isinstance(summary, MemoryExtracted)
    agent.deliver([embedded(summary, day(41))])
    assert [agent.memory(m.memory_id).state for m in (adopted, beach, ball)] == ["archived", "archived", "active"]


def test_an_original_left_consolidating_under_an_active_summary_is_archived_by_the_next_tick() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, _ = dog_memories(agent)
    decided = agent.tick(day(40))
    agent.deliver(decided)
    summary = decided[0]
    assert isinstance(summary, MemoryExtracted)
    activation = agent.run([embedded(summary, day(40))])
    archives = agent.run(activation)  # the activation is read back...
    assert [memory_of(e) for e in archives] == [adopted.memory_id, beach.memory_id]
    agent.deliver(archives[:1])  # ...but only the first archive reached the log
    assert agent.memory(beach.memory_id).state == "consolidating"

    tick = command("tick", day(41))
    redone = agent.run([tick])
    assert redone == [
        MemoryArchived(
            envelope=decided_envelope("MemoryArchived", archives[1].event_id, day(3), day(41), tick),
            memory_id=beach.memory_id,
            summary_memory_id=summary.memory_id,
        )
    ]
    agent.deliver(redone)
    assert agent.memory(beach.memory_id).state == "archived"
    assert agent.tick(day(41)) == []


# --- access to the archive ------------------------------------------------------------------------------------


def test_an_access_recalls_an_archived_memory_then_activates_it() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, _, _, _ = consolidated(agent)
    generation = agent.memory(adopted.memory_id).generation
    access = accessed(adopted.memory_id, day(41), request="req-archive", seen="archived")
    decided = agent.run([access])
    key = f"{adopted.memory_id}:{generation}"  # the archived memory's generation: one recall per archiving
    assert [(type(e), e.event_id) for e in decided] == [
        (MemoryRecalled, derived_event_id(key, "MemoryRecalled")),
        (MemoryActivated, derived_event_id(key, "MemoryActivated")),
    ]
    recalled, activated = decided
    assert isinstance(recalled, MemoryRecalled)
    assert (recalled.memory_id, recalled.request_id) == (adopted.memory_id, "req-archive")
    assert memory_of(activated) == adopted.memory_id
    for event in decided:
        assert (event.envelope.occurred_at, event.envelope.causation_id) == (day(41), access.event_id)
    assert agent.run([access]) == decided  # a replayed access decides the same events
    agent.deliver(decided)
    tracked = agent.memory(adopted.memory_id)
    assert (tracked.state, tracked.generation, tracked.access_count) == ("active", generation + 2, 1)
    assert agent.run([accessed(adopted.memory_id, day(42), request="req-later")]) == []


def test_two_accesses_of_an_archived_memory_before_the_recall_comes_back_recall_it_once() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, _, _, _ = consolidated(agent)
    first = agent.run([accessed(adopted.memory_id, day(41), request="req-1", seen="archived")])
    second = agent.run([accessed(adopted.memory_id, day(41) + timedelta(seconds=5), request="req-2", seen="archived")])
    # The second access still sees an archived memory and decides a recall too; it must be the same recall,
    # or the log would carry a MemoryRecalled for an active memory, which the fold rejects.
    assert [e.event_id for e in second] == [e.event_id for e in first]
    for event in [*first, *second]:
        fold(agent.state, event)
    tracked = agent.memory(adopted.memory_id)
    assert (tracked.state, tracked.access_count) == ("active", 2)


def test_a_hit_that_saw_a_memory_consolidating_never_recalls_it_once_archived() -> None:
    """Consolidating memories stay searchable; a hit on one is recorded while it is consolidating, and the
    lifecycle may read that access only after the summary turned Active and the memory was archived. Recalling it
    then would undo the consolidation (the rebalance test once saw those memories activated a second time)."""
    agent = Agent(policy=CONSOLIDATION)
    adopted, beach, _ = dog_memories(agent)
    decided = agent.tick(day(40))
    agent.deliver(decided)
    assert agent.memory(adopted.memory_id).state == "consolidating"
    during = accessed(adopted.memory_id, day(40) + timedelta(seconds=1), request="req-during", seen="consolidating")
    summary = decided[0]
    assert isinstance(summary, MemoryExtracted)
    agent.deliver([embedded(summary, day(40))])  # the summary is Active and its originals archived first
    archived = agent.memory(adopted.memory_id)
    assert archived.state == "archived"
    generation = archived.generation

    assert agent.deliver([during]) == [during]  # nothing decided: no recall, no activation
    assert (archived.state, archived.generation, archived.access_count) == ("archived", generation, 1)
    assert agent.deliver([during]) == [during]  # the same access again changes nothing
    assert (archived.state, archived.generation, archived.access_count) == ("archived", generation, 1)
    # A hit that saw it active (read before the tick) and arrives late is no recall either.
    before = accessed(beach.memory_id, day(39), request="req-before", seen="active")
    assert agent.deliver([before]) == [before]
    assert agent.memory(beach.memory_id).state == "archived"

    # A search of the archive that finds it archived is a recall.
    recall = accessed(adopted.memory_id, day(42), request="req-archive", seen="archived")
    delivered = agent.deliver([recall])
    assert [type(e) for e in delivered] == [MemoryAccessed, MemoryRecalled, MemoryActivated]
    assert (archived.state, archived.generation, archived.access_count) == ("active", generation + 2, 2)


def test_an_access_written_before_seen_state_existed_recalls_an_archived_memory_as_it_did() -> None:
    """Old logs replay to the same decisions: then a hit on an archived memory came from a search of the archive."""
    agent = Agent(policy=CONSOLIDATION)
    adopted, _, _, _ = consolidated(agent)
    old = accessed(adopted.memory_id, day(41), request="req-old", seen=None)
    assert [type(e) for e in agent.deliver([old])] == [MemoryAccessed, MemoryRecalled, MemoryActivated]
    assert agent.memory(adopted.memory_id).state == "active"


# --- commands -------------------------------------------------------------------------------------------------


def test_update_keeps_the_memorys_valid_time_and_changes_its_text() -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    update = command("update", day(5), memory.memory_id, text="  I live in Lyon.  ")
    decided = agent.run([update])
    assert decided == [
        MemoryUpdated(
            envelope=decided_envelope(
                "MemoryUpdated", derived_event_id(update.event_id, "MemoryUpdated"), T0, day(5), update
            ),
            memory_id=memory.memory_id,
            text="I live in Lyon.",
        )
    ]
    assert agent.memory(memory.memory_id).text == "I live in Paris."  # not until the log delivers it
    agent.deliver(decided)
    tracked = agent.memory(memory.memory_id)
    assert (tracked.text, tracked.norm, tracked.claim_slots) == ("I live in Lyon.", "i live in lyon", ["residence"])
    updated = decided[0]
    assert isinstance(updated, MemoryUpdated)
    # The corrected text's new vector changes no state and decides nothing.
    assert agent.deliver([embedded(updated, day(5))])[1:] == []
    assert (tracked.state, tracked.generation) == ("active", 2)


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_update_with_empty_text_is_rejected(text: str | None) -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    with pytest.raises(InvalidEventError, match="update: the new text is empty"):
        agent.run([command("update", day(1), memory.memory_id, text=text)])


def test_pin_and_unpin() -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    pin = command("pin", day(1), memory.memory_id)
    decided = agent.run([pin])
    assert decided == [
        MemoryPinned(
            envelope=decided_envelope(
                "MemoryPinned", derived_event_id(pin.event_id, "MemoryPinned"), day(1), day(1), pin
            ),
            memory_id=memory.memory_id,
            pinned=True,
        )
    ]
    agent.deliver(decided)
    assert agent.memory(memory.memory_id).pinned is True
    unpin = agent.run([command("unpin", day(2), memory.memory_id)])
    assert len(unpin) == 1 and isinstance(unpin[0], MemoryPinned) and unpin[0].pinned is False
    agent.deliver(unpin)
    assert agent.memory(memory.memory_id).pinned is False
    assert agent.memory(memory.memory_id).state == "active"


def agent_with_memory_in(state: str) -> tuple[Agent, str]:
    agent = Agent(policy=CONSOLIDATION)
    if state in ("consolidating", "archived"):
        adopted, _, _ = dog_memories(agent)
        decided = agent.tick(day(40))
        agent.deliver(decided)
        if state == "archived":
            summary = decided[0]
            assert isinstance(summary, MemoryExtracted)
            agent.deliver([embedded(summary, day(40))])
        return agent, adopted.memory_id
    events = said("I love hiking in the Alps.", T0)
    extracted = extracted_of(events)
    if state == "extracted":
        agent.deliver(events)
    elif state == "stored":
        agent.run([*events, embedded(extracted)])  # the activation is decided, not delivered
    else:
        agent.deliver([*events, embedded(extracted)])
        if state == "decaying":
            agent.deliver(agent.tick(day(DECAYING_DAY)))
    return agent, extracted.memory_id


@pytest.mark.parametrize("state", ["extracted", "stored", "active", "decaying", "consolidating", "archived"])
def test_delete_forgets_a_memory_from_any_state(state: str) -> None:
    agent, memory_id = agent_with_memory_in(state)
    assert agent.memory(memory_id).state == state
    delete = command("delete", day(50), memory_id, event_id="cmd-delete")
    decided = agent.run([delete])
    assert decided == [
        MemoryForgotten(
            envelope=decided_envelope(
                "MemoryForgotten", derived_event_id("cmd-delete", "MemoryForgotten"), day(50), day(50), delete
            ),
            memory_id=memory_id,
            reason="deleted",
        )
    ]
    others = set(agent.state.memories) - {memory_id}
    agent.deliver(decided)
    assert set(agent.state.memories) == others


def test_erase_user_clears_everything() -> None:
    agent = Agent()
    first = agent.add("I live in Paris.", T0)
    agent.add("I love hiking in the Alps.", day(1))
    erase = command("erase_user", day(2), event_id="cmd-erase")
    decided = agent.run([erase])
    assert decided == [
        UserErased(
            envelope=decided_envelope("UserErased", derived_event_id("cmd-erase", "UserErased"), day(2), day(2), erase),
            reason="erased on request",
        )
    ]
    agent.deliver(decided)
    assert agent.state.memories == {}
    assert fold(agent.state, accessed(first.memory_id, day(3))) is False  # a late event for an erased memory


def test_an_unknown_command_or_memory_is_rejected_by_name() -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    with pytest.raises(InvalidEventError, match="unknown command 'archive'"):
        agent.run([command("archive", day(1), memory.memory_id)])
    for name in ("update", "pin", "unpin", "delete"):
        with pytest.raises(
            InvalidEventError, match=f"{name}: memory 'no-such-memory' not found for user 'app-1/user-1'"
        ):
            agent.run([command(name, day(1), "no-such-memory", text="I live in Rome.")])


@pytest.mark.parametrize("name", ["update", "pin", "unpin", "delete", "erase_user"])
def test_the_same_command_twice_decides_the_same_events_and_another_command_other_ids(name: str) -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    issued = command(name, day(1), memory.memory_id, text="I live in Rome.", event_id="cmd-a")
    decided = on_command(agent.state, issued, POLICY)
    assert len(decided) == 1
    assert on_command(agent.state, issued, POLICY) == decided
    other = on_command(
        agent.state, command(name, day(1), memory.memory_id, text="I live in Rome.", event_id="cmd-b"), POLICY
    )
    assert other[0].event_id != decided[0].event_id
    assert dataclasses.replace(other[0], envelope=decided[0].envelope) == decided[0]  # the same decision otherwise


# --- fold ---------------------------------------------------------------------------------------------------


def test_every_event_delivered_twice_changes_nothing_the_second_time() -> None:
    agent = Agent(policy=CONSOLIDATION)
    consolidated(agent)
    adopted = next(e for e in agent.log if isinstance(e, MemoryExtracted))
    # Recalled from the archive: the log now holds every kind of transition.
    agent.deliver([accessed(adopted.memory_id, day(41), seen="archived")])
    assert {type(e).__name__ for e in agent.log} >= {
        "MemoryExtracted", "EntitiesLinked", "MemoryEmbedded", "MemoryActivated", "MemoryConsolidated",
        "MemoryConsolidating", "MemoryArchived", "MemoryAccessed", "MemoryRecalled",
    }  # fmt: skip
    before = agent.state.to_json()
    for event in agent.log:
        if isinstance(event, MemoryCommandIssued):
            continue
        assert fold(agent.state, event) is False, type(event).__name__
    assert agent.state.to_json() == before


@pytest.mark.parametrize(
    ("make", "target"),
    [
        (
            lambda m: MemoryArchived(envelope("MemoryArchived", "bad-1", day(1)), memory_id=m, summary_memory_id="s"),
            "archived",
        ),
        (
            lambda m: MemoryRecalled(envelope("MemoryRecalled", "bad-2", day(1)), memory_id=m, request_id="r"),
            "recalled",
        ),
        (
            lambda m: MemoryDecayed(envelope("MemoryDecayed", "bad-3", day(1)), memory_id=m, state="forgotten"),
            "forgotten",
        ),
    ],
    ids=["archived", "recalled", "decayed-to-forgotten"],
)
def test_an_illegal_transition_is_rejected_with_both_states_and_changes_nothing(
    make: Callable[[str], Event], target: str
) -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    event = make(memory.memory_id)
    before = agent.state.to_json()
    with pytest.raises(IllegalLifecycleEvent) as caught:
        fold(agent.state, event)
    message = str(caught.value)
    assert message.startswith(f"{type(event).__name__} for memory {memory.memory_id}: ")
    assert f"illegal transition from 'active' to '{target}'" in message
    assert isinstance(caught.value, InvalidEventError)  # so the agent dead-letters it
    assert agent.state.to_json() == before
    with pytest.raises(IllegalLifecycleEvent):  # delivered again, rejected again: it was never applied
        fold(agent.state, event)


@pytest.mark.parametrize(
    "rescue",
    [
        MemoryRescued(envelope("MemoryRescued", "bad-4", day(1)), memory_id="m", importance=0.5, request_id="r"),
        MemoryDecayed(envelope("MemoryDecayed", "bad-5", day(1)), memory_id="m", importance=0.5, state="active"),
    ],
    ids=["rescued", "decayed-active-as-old-logs-write-it"],
)
def test_a_rescue_of_a_memory_that_is_not_decaying_is_rejected_not_taken_as_an_activation(rescue: Event) -> None:
    # Stored → Active is a legal step (the activation), but not what a rescue says happened.
    state = UserState()
    fold(state, MemoryExtracted(envelope("MemoryExtracted", "x-1", day(0)), memory_id="m", text="I like tea."))
    fold(state, MemoryEmbedded(envelope("MemoryEmbedded", "x-2", day(0)), memory_id="m", model="e", vector=(1.0,)))
    assert state.memories["m"].state == "stored"
    before = state.to_json()
    with pytest.raises(IllegalLifecycleEvent, match="a rescue brings back a decaying memory, and this one is stored"):
        fold(state, rescue)
    assert state.to_json() == before


def test_a_rejected_consolidating_mark_leaves_no_trace() -> None:
    agent = Agent(policy=CONSOLIDATION)
    adopted, _, _, summary_id = consolidated(agent)
    late = MemoryConsolidating(
        envelope("MemoryConsolidating", "late-mark", day(50)), memory_id=adopted.memory_id, summary_memory_id="other"
    )
    with pytest.raises(IllegalLifecycleEvent, match="illegal transition from 'archived' to 'consolidating'"):
        fold(agent.state, late)
    tracked = agent.memory(adopted.memory_id)
    assert (tracked.state, tracked.summary_into) == ("archived", summary_id)
    assert "late-mark" not in tracked.recent_events


def test_memory_forgotten_removes_the_memory_and_later_events_for_it_change_nothing() -> None:
    agent = Agent()
    memory = agent.add("I live in Paris.", T0)
    forgotten = MemoryForgotten(
        envelope("MemoryForgotten", "gone", day(1)), memory_id=memory.memory_id, reason="deleted"
    )
    assert fold(agent.state, forgotten) is True
    assert agent.state.memories == {}
    assert fold(agent.state, forgotten) is False
    assert fold(agent.state, accessed(memory.memory_id, day(2))) is False
    assert agent.state.memories == {}


def test_user_erased_clears_the_state() -> None:
    agent = Agent()
    agent.add("I live in Paris.", T0)
    agent.add("I love hiking in the Alps.", day(1))
    assert len(agent.state.memories) == 2
    assert fold(agent.state, UserErased(envelope("UserErased", "erase", day(2)), reason="test")) is True
    assert agent.state.memories == {}


def test_the_state_round_trips_through_json_with_every_field() -> None:
    defaults = Tracked("m", "t", "fact", "active", 0.5, T0, T0, "e")
    tracked = Tracked(
        memory_id="m-1",
        text="Alice: I live in Paris.",
        kind="summary",
        state="decaying",
        importance=0.6,
        created_at=datetime(2026, 1, 5, 9, 0, 1, 250000, tzinfo=UTC),
        occurred_at=datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
        extracted_event_id="e-1",
        conversation_id="c1,c2",
        speaker="Alice",
        access_count=3,
        last_access=datetime(2026, 2, 1, 8, 30, tzinfo=UTC),
        pinned=True,
        superseded_by="m-9",
        merged_into="m-8",
        entities=[[ALICE, "Alice", "person"], [REX, "Rex", "animal"]],
        claim_slots=["residence"],
        norm="i live in paris",
        summary_of=["m-2", "m-3"],
        summary_into="m-7",
        reserved_for="m-6",
        source_turn_ids=["t1", "t2"],
        source_event_ids=["ev1", "ev2"],
        generation=5,
        recent_events=["r1", "r2"],
    )
    for f in dataclasses.fields(Tracked):  # every field differs from the default, so each is really checked
        assert getattr(tracked, f.name) != getattr(defaults, f.name), f.name
    state = UserState({"m-1": tracked, "m-2": Tracked("m-2", "x", "fact", "active", 0.3, T0, T0, "e-2")})
    restored = UserState.from_json(state.to_json())
    assert restored == state
    assert restored.memories["m-1"].last_access == datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
    assert restored.memories["m-1"].created_at.tzinfo is not None
    assert restored.memories["m-2"].last_access is None
    assert UserState.from_json(None) == UserState() == UserState.from_json(b"")


def test_a_real_state_round_trips_and_decides_the_same_afterwards() -> None:
    agent = Agent(policy=CONSOLIDATION)
    dog_memories(agent)
    restored = UserState.from_json(agent.state.to_json())
    assert restored == agent.state
    tick = command("tick", day(40))
    assert on_command(restored, tick, CONSOLIDATION) == on_command(agent.state, tick, CONSOLIDATION)


def backlog(agent: Agent, groups: int) -> list[list[str]]:
    """``groups`` pairs of related memories (same conversation, same day), unrelated to each other: one summary
    each. Returns the pairs' memory ids."""
    pairs: list[list[str]] = []
    for g in range(groups):
        first = agent.add(f"I visited city number {g} in the spring.", day(g), conversation=f"trip-{g}")
        second = agent.add(f"City {g} had a famous old bridge.", day(g), conversation=f"trip-{g}")
        pairs.append([first.memory_id, second.memory_id])
    return pairs


def summaries_in(decided: Iterable[Event]) -> list[str]:
    return [e.memory_id for e in decided if isinstance(e, MemoryConsolidated)]


def test_a_backlog_is_consolidated_in_bounded_steps_each_asking_for_the_next_and_ending_as_one_tick_would() -> None:
    whole = Agent(policy=CONSOLIDATION)
    expected = {summary_memory_id_for(sorted(pair)) for pair in backlog(whole, 5)}
    assert set(summaries_in(whole.tick(day(40)))) == expected  # one unbounded step: five summaries

    stepped = Agent(policy=dataclasses.replace(CONSOLIDATION, max_summaries_per_tick=2))
    backlog(stepped, 5)
    made: list[str] = []
    steps = 0
    while True:
        steps += 1
        decided = stepped.tick(day(40))  # the follow-up tick keeps the first one's ``now``
        made.extend(summaries_in(decided))
        assert len(summaries_in(decided)) <= 2
        if not needs_another_tick(decided, stepped.policy):
            break
        stepped.deliver(decided)  # the gate lets the next step in once this one's events are folded
    assert steps == 3 and sorted(made) == sorted(expected)  # 2 + 2 + 1: oldest groups first, none twice
    assert made[:2] == summaries_in(whole.tick(day(40)))[:2]
