"""Which of a user's memories to consolidate, and into which summaries. Pure: ``now`` is an argument.

Trigger (issue 3): any active memory older than ``age_threshold``, OR the user's active token total above
``token_budget``. Then related old memories are grouped, at least ``MIN_GROUP_SIZE`` and at most
``max_group_size`` per group, oldest first, and each group becomes one ``ConsolidationPlan`` whose summary
id is derived from the sorted original ids: a timer that fires twice plans the same ids, so the second
run's events collapse onto the first's.

Decisions where the issue is silent:

- "Old" means older than ``age_threshold`` by valid time (``occurred_at``), strictly. When the budget
  triggers, the oldest memories also become eligible until what remains would fit in
  ``BUDGET_LOW_WATERMARK`` of the budget: consolidating just under the budget would re-trigger on the next
  turn. (The summary's own tokens are not known yet, so they are not subtracted.)
- Pinned memories are never eligible, but their tokens count towards the total: they are stored too.
  The age trigger ignores them (a pinned memory can never be consolidated, so its age asks for nothing).
- "Related": sharing an entity other than a speaker (every fact of a speaker mentions the speaker, so that
  link would join everything), or coming from the same conversation, or having happened on the same UTC
  day (naive datetimes are taken as UTC, never as the machine's local time).
- Grouping is greedy and oldest first: the oldest ungrouped eligible memory seeds a group, which then
  takes the oldest ungrouped eligible memory related to any member, until it is full or nothing related
  is left. A memory left alone stays active; it may be grouped later, when more memories age.
- A summary's importance is the highest of its members' (it stands for all of them), and its valid time
  the latest member's (it is true as of the last thing it summarises).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from memory.contract.ids import derived_id
from memory.lifecycle.summarize import DEFAULT_MAX_CHARS, SummaryItem, summarize

MIN_GROUP_SIZE = 2  # one memory "summarised" alone is a copy, not a consolidation
# Eight facts of about a line each fill the offline summary's default budget (``memory.lifecycle.summarize``)
# without cutting most of them; a summary of many more would keep only a fraction of what it archives.
MAX_GROUP_SIZE = 8
BUDGET_LOW_WATERMARK = 0.8  # consolidate down to 80% of the budget, so the next turn does not re-trigger


class Trigger(StrEnum):
    AGE = "age"
    BUDGET = "budget"


@dataclass(frozen=True)
class ActiveMemory:
    """What consolidation needs to know about one of the user's Active memories.

    ``speaker_entity_id`` is the entity id of whoever said it (``memory.contract.ids.entity_id_for`` of the
    ``speaker`` metadata), so links through speakers can be ignored.
    """

    memory_id: str
    text: str
    importance: float
    occurred_at: datetime
    tokens: int
    entity_ids: frozenset[str] = frozenset()
    pinned: bool = False
    conversation_id: str = ""
    speaker_entity_id: str | None = None


@dataclass(frozen=True)
class ConsolidationPlan:
    """One summary to write and the originals it archives (in time order)."""

    summary_memory_id: str
    members: tuple[ActiveMemory, ...]
    triggers: frozenset[Trigger]
    importance: float
    occurred_at: datetime
    tokens: int

    @property
    def memory_ids(self) -> tuple[str, ...]:
        return tuple(m.memory_id for m in self.members)


def summary_memory_id_for(memory_ids: Iterable[str]) -> str:
    """The summary's id: the same originals, in any order, give the same id."""
    return derived_id("summary", *sorted(memory_ids))


def _order(memory: ActiveMemory) -> tuple[datetime, str]:
    return memory.occurred_at, memory.memory_id


def _utc_day(moment: datetime) -> date:
    return moment.date() if moment.tzinfo is None else moment.astimezone(UTC).date()


def _age(memory: ActiveMemory, now: datetime) -> timedelta:
    return now - memory.occurred_at


def consolidation_triggers(
    memories: Sequence[ActiveMemory], now: datetime, age_threshold: timedelta, token_budget: int
) -> frozenset[Trigger]:
    """Why consolidation should run now (empty: it should not)."""
    found = set()
    if any(not m.pinned and _age(m, now) > age_threshold for m in memories):
        found.add(Trigger.AGE)
    if sum(m.tokens for m in memories) > token_budget:
        found.add(Trigger.BUDGET)
    return frozenset(found)


def _eligible(
    ordered: Sequence[ActiveMemory], now: datetime, age_threshold: timedelta, token_budget: int, over_budget: bool
) -> list[ActiveMemory]:
    """The unpinned memories consolidation may take, oldest first."""
    chosen = {m.memory_id for m in ordered if not m.pinned and _age(m, now) > age_threshold}
    if over_budget:
        remaining = sum(m.tokens for m in ordered) - sum(m.tokens for m in ordered if m.memory_id in chosen)
        target = token_budget * BUDGET_LOW_WATERMARK
        for memory in ordered:
            if remaining <= target:
                break
            if not memory.pinned and memory.memory_id not in chosen:
                chosen.add(memory.memory_id)
                remaining -= memory.tokens
    return [m for m in ordered if m.memory_id in chosen]


def _links(memory: ActiveMemory, speakers: frozenset[str]) -> list[str]:
    keys = [f"entity:{e}" for e in sorted(memory.entity_ids) if e not in speakers]
    if memory.conversation_id:
        keys.append(f"conversation:{memory.conversation_id}")
    keys.append(f"day:{_utc_day(memory.occurred_at).isoformat()}")
    return keys


def _grow(
    seed: ActiveMemory,
    links: dict[str, list[str]],
    index: dict[str, list[ActiveMemory]],
    grouped: set[str],
    max_group_size: int,
) -> list[ActiveMemory]:
    """The group seeded by ``seed``: repeatedly the oldest ungrouped memory linked to any member."""
    group = [seed]
    grouped.add(seed.memory_id)
    expanded: set[str] = set()  # link keys whose memories are already on the frontier
    frontier: list[tuple[datetime, str]] = []
    queued: dict[str, ActiveMemory] = {}
    member = seed
    while True:
        for key in links[member.memory_id]:
            if key in expanded:
                continue
            expanded.add(key)
            for other in index[key]:
                if other.memory_id not in grouped and other.memory_id not in queued:
                    queued[other.memory_id] = other
                    heapq.heappush(frontier, _order(other))
        if not frontier or len(group) >= max_group_size:
            return group
        _, memory_id = heapq.heappop(frontier)
        member = queued[memory_id]
        group.append(member)
        grouped.add(memory_id)


def _groups(eligible: Sequence[ActiveMemory], max_group_size: int) -> list[list[ActiveMemory]]:
    """Greedy, oldest-first groups of related memories (see the module docstring)."""
    speakers = frozenset(m.speaker_entity_id for m in eligible if m.speaker_entity_id)
    links = {m.memory_id: _links(m, speakers) for m in eligible}
    index: dict[str, list[ActiveMemory]] = {}
    for memory in eligible:
        for key in links[memory.memory_id]:
            index.setdefault(key, []).append(memory)
    grouped: set[str] = set()
    groups = []
    for seed in eligible:
        if seed.memory_id not in grouped:
            group = _grow(seed, links, index, grouped, max_group_size)
            if len(group) >= MIN_GROUP_SIZE:
                groups.append(group)
    return groups


def plan_consolidation(
    memories: Sequence[ActiveMemory],
    now: datetime,
    age_threshold: timedelta,
    token_budget: int,
    max_group_size: int = MAX_GROUP_SIZE,
) -> list[ConsolidationPlan]:
    """The consolidations to run for one user at ``now``, oldest group first (empty: nothing to do).

    ``memories`` are the user's Active memories, in any order; the answer does not depend on it.
    """
    if token_budget <= 0:
        raise ValueError(f"token_budget must be positive, got {token_budget}")
    if age_threshold < timedelta(0):
        raise ValueError(f"age_threshold must not be negative, got {age_threshold}")
    if max_group_size < MIN_GROUP_SIZE:
        raise ValueError(f"max_group_size must be at least {MIN_GROUP_SIZE}, got {max_group_size}")
    ids = [m.memory_id for m in memories]
    if len(set(ids)) != len(ids):
        raise ValueError("memories contain the same memory_id twice")
    why = consolidation_triggers(memories, now, age_threshold, token_budget)
    if not why:
        return []
    ordered = sorted(memories, key=_order)
    eligible = _eligible(ordered, now, age_threshold, token_budget, Trigger.BUDGET in why)
    plans = []
    for group in _groups(eligible, max_group_size):
        members = tuple(sorted(group, key=_order))
        plans.append(
            ConsolidationPlan(
                summary_memory_id=summary_memory_id_for(m.memory_id for m in members),
                members=members,
                triggers=why,
                importance=max(m.importance for m in members),
                occurred_at=members[-1].occurred_at,
                tokens=sum(m.tokens for m in members),
            )
        )
    return plans


def summary_items(plan: ConsolidationPlan) -> list[SummaryItem]:
    """The plan's members as a ``Summarizer`` reads them."""
    return [SummaryItem(m.text, m.importance, m.occurred_at) for m in plan.members]


def offline_summary(plan: ConsolidationPlan, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The plan's summary text by the offline extractive summariser."""
    return summarize(summary_items(plan), max_chars)
