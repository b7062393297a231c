"""What the lifecycle agent decides, as pure functions from a user's state (a fold of the log) to events.

- After a memory is embedded (``on_embedding.after_embedding``): reinforce an existing memory it repeats (the
  copy never activates), supersede memories it contradicts, then activate it. Summaries activate directly.
- After an access (``on_access.after_access``): a Decaying memory is re-evaluated (the access resets its
  clock, so it is rescued back to Active: ``MemoryRescued``); an Archived one is recalled (Archived →
  Recalled → Active).
- After a summary activates (``on_access.after_activation``): its originals are archived.
- On a tick at ``now`` (``on_tick.on_tick``): finish consolidations a crash left half done, decay (Active →
  Decaying → Forgotten, or rescued when pinned; ``memory.lifecycle.reevaluation``), consolidate
  (memory.lifecycle.consolidation picks the groups).
- On a command (``on_command.on_command``): update, pin/unpin, delete, erase the user, tick.

Every event id derives from what the decision is about (memory ids, the memory's generation, the summary
id, the causing access or command), never from a clock or a random number: the same decision taken twice —
a timer that fires twice, a batch replayed after a crash — produces the same events, which collapse.

This module holds what every decision shares: the policy, the envelope of an event the agent writes, and a
memory's importance now. Each decision has its own module beside it, so none has to be read through the
others; they all import from here, never from each other except where one decision finishes another's work
(a tick archives under a summary as its activation would, a command may be a tick).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.contract.events import Envelope, Event, Producer, Scope
from memory.lifecycle.decay import current_importance
from memory.lifecycle.dedupe import DEFAULT_SIMILARITY_THRESHOLD
from memory.lifecycle.reevaluation import EnvelopeFor
from memory.lifecycle.state import Tracked
from memory.lifecycle.summarize import SummaryItem, summarize

COMPONENT = "streams.lifecycle"
SUMMARIZER = "extractive-v1"


@dataclass(frozen=True)
class LifecyclePolicy:
    age_threshold: timedelta = timedelta(days=30)
    token_budget: int = 8_000
    # Summaries one tick writes for one user, oldest groups first: a year's backlog is consolidated in steps of
    # bounded size (each tick's events are one batch on the log), the agent asking for the next step at once
    # (``needs_another_tick``).
    max_summaries_per_tick: int = 64
    dedupe_threshold: float = DEFAULT_SIMILARITY_THRESHOLD
    consolidate: bool = True
    decay: bool = True
    # Writes a consolidation summary: the offline extractive one, or an LLM's (models/llm_summarizer.py).
    summarizer: Callable[[Sequence[SummaryItem], int], str] = summarize
    summarizer_name: str = SUMMARIZER


def lifecycle_envelope(
    scope: Scope, event_type: str, event_id: str, occurred_at: datetime, recorded_at: datetime, cause: Event
) -> Envelope:
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        schema_version=1,
        scope=scope,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        causation_id=cause.event_id,
        correlation_id=cause.envelope.correlation_id or cause.event_id,
        producer=Producer(COMPONENT),
    )


def envelope_for(scope: Scope, at: datetime, cause: Event) -> EnvelopeFor:
    return lambda event_type, event_id: lifecycle_envelope(scope, event_type, event_id, at, at, cause)


def importance_now(tracked: Tracked, now: datetime) -> float:
    last = tracked.last_access or tracked.created_at
    return current_importance(tracked.importance, tracked.access_count, last, now, tracked.pinned)
