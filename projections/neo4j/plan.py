"""How a batch of memory events becomes few Cypher statements without changing what applying them one at a
time would leave. Pure: no driver here.

Each event becomes one row of a *kind* (its event type: one statement per kind) and names the memories it
touches. Rows are grouped greedily (``group``); deletes are barriers (``steps``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory.contract.events import (
    EntitiesLinked,
    Event,
    MemoryConsolidated,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryPinned,
    MemoryReinforced,
    MemoryRescued,
    MemorySuperseded,
    MemoryUpdated,
    UserErased,
)
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.transitions import sources_for, target_state
from memory.retrieval.topics import topic_rows
from projections.base import PoisonEventError

# Kinds with their own statement; every other event is an UPDATE row: the shared field-and-state update.
MEMORY = "MemoryExtracted"
ENTITIES = "EntitiesLinked"
SUPERSEDED = "MemorySuperseded"
CONSOLIDATED = "MemoryConsolidated"
UPDATED = "MemoryUpdated"
UPDATE = "update"


@dataclass(frozen=True)
class Row:
    kind: str
    values: dict[str, Any]
    touches: tuple[str, ...]  # memory ids whose order against this row's must be kept


Group = tuple[str, list[dict[str, Any]]]
_STATES = tuple(state.value for state in MemoryState)


@dataclass
class Deletes:
    """Consecutive deletes: they commute with each other, so one statement per sort does them all."""

    memory_ids: list[str] = field(default_factory=list)
    scope_keys: list[str] = field(default_factory=list)


Step = list[Group] | Deletes


def _target(event: Event) -> MemoryState | None:
    try:
        return target_state(event)
    except ValueError as exc:  # MemoryDecayed.state is a free string in the schema
        raise PoisonEventError(f"{type(event).__name__} {event.event_id}: {exc}") from exc


def _props(event: Event) -> dict[str, Any]:
    """The memory properties an event sets besides its state."""
    if isinstance(event, MemoryEmbedded):
        return {"embedding_model": event.model}
    if isinstance(event, MemoryReinforced | MemoryDecayed | MemoryRescued):
        # Importance is a score, not a lifecycle step: it follows the log even where a state is refused.
        return {"importance": event.importance}
    if isinstance(event, MemoryUpdated):
        return {"text": event.text}
    if isinstance(event, MemoryPinned):
        return {"pinned": event.pinned}
    return {}


def row_of(event: Event, log_offset: int | None = None) -> Row | None:
    """The row an event contributes, or None if it changes nothing in the graph (accesses, deletes).
    ``log_offset``: where the event sits in the log; a memory keeps its ``MemoryExtracted``'s, the order it
    was said (memory.retrieval.said_order), which the graph retriever breaks ties on."""
    if isinstance(event, MemoryExtracted):
        scope = event.scope
        values = {
            "scope_key": scope.key,
            "app_id": scope.app_id,
            "user_id": scope.user_id,
            "memory_id": event.memory_id,
            "text": event.text,
            "kind": event.kind,
            "importance": event.importance,
            "occurred_at": event.envelope.occurred_at,
            "log_offset": log_offset,
            "speaker": event.metadata.get("speaker") or None,
            "topics": topic_rows(scope.key, event.text),
        }
        return Row(MEMORY, values, (event.memory_id,))
    if isinstance(event, EntitiesLinked):
        values = {
            "memory_id": event.memory_id,
            "scope_key": event.scope.key,
            "entities": [{"entity_id": e.entity_id, "name": e.name, "kind": e.kind} for e in event.entities],
            "relations": [
                {"subject_id": r.subject_id, "predicate": r.predicate, "object_id": r.object_id}
                for r in event.relations
            ],
        }
        return Row(ENTITIES, values, (event.memory_id,))
    if isinstance(event, MemorySuperseded):
        values = {
            "memory_id": event.memory_id,
            "superseded_by": event.superseded_by,
            "valid_to": event.envelope.occurred_at,  # valid time: when the newer fact took over
        }
        return Row(SUPERSEDED, values, (event.memory_id, event.superseded_by))
    if isinstance(event, MemoryConsolidated):
        values = {"memory_id": event.memory_id, "original_ids": list(event.original_ids)}
        return Row(CONSOLIDATED, values, (event.memory_id, *event.original_ids))
    if isinstance(event, MemoryForgotten | UserErased):
        return None  # barriers, see ``steps``
    memory_id = getattr(event, "memory_id", None)
    if not memory_id:
        return None
    target = _target(event)
    props = _props(event)
    if target is None and not props:
        return None  # MemoryAccessed: nothing in the graph changes
    # A guarded move as a map: the memory's state now -> its state after (absent: it stays).
    moves = {source: target.value for source in sources_for(event, target)} if target is not None else {}
    values = {"memory_id": memory_id, "props": props, "moves": moves}
    if isinstance(event, MemoryUpdated):
        values["topics"] = topic_rows(event.scope.key, event.text)
        return Row(UPDATED, values, (memory_id,))
    return Row(UPDATE, values, (memory_id,))


def then(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One UPDATE row doing what ``first`` then ``second`` (both for one memory) do: later properties win,
    and the state moves are composed over every state the memory can be in (a state outside the table is
    in no move's sources, so it stays, as it would through both)."""
    moves: dict[str, str] = {}
    for state in _STATES:
        middle = first["moves"].get(state, state)
        final = second["moves"].get(middle, middle)
        if final != state:
            moves[state] = final
    return {"memory_id": first["memory_id"], "props": {**first["props"], **second["props"]}, "moves": moves}


def by_user(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A MEMORY group's rows as ``MERGE_MEMORIES`` takes them: one entry per user (first seen first) with its
    memories in log order and its speakers, each once, in the order they first speak. Users share no node
    (memories, topics and entities are keyed by the user's scope), so taking one user's rows at a time
    keeps every order that matters."""
    users: dict[str, dict[str, Any]] = {}
    for row in rows:
        user = users.get(row["scope_key"])
        if user is None:
            user = {key: row[key] for key in ("scope_key", "app_id", "user_id")}
            user.update(speakers=[], memories=[])
            users[row["scope_key"]] = user
        user["memories"].append(row)
        if row["speaker"] is not None and row["speaker"] not in user["speakers"]:
            user["speakers"].append(row["speaker"])
    return list(users.values())


def relating(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An ENTITIES group's rows that assert relations between entities they name (``RELATE_ENTITIES``)."""
    return [row for row in rows if row["relations"] and row["entities"]]


def group(rows: Iterable[Row]) -> list[Group]:
    """The rows as few statements as the log order allows: a row joins the latest group of its kind unless
    a memory it touches appears in that group or a later one; otherwise it opens a new group.

    So each memory's events run in log order, and each kind's events run in log order (which entity
    creates a shared node first stays the same); events of different kinds for different memories
    touch disjoint nodes, and reordering them changes nothing. A row touching several memories (a
    supersession, a summary) waits for all of them. A log of whole memories (extracted, linked, embedded,
    activated, next memory) becomes three statements instead of four per memory.

    An UPDATE row whose memory's latest row is an UPDATE row too is folded into that row (``then``): nothing
    touched the memory in between, so one guarded update in that row's place does what both did in turn.
    The embedding and the activation that follow each extraction are one row, not two.
    """
    groups: list[Group] = []
    latest: dict[str, int] = {}  # kind -> index of its latest group
    last_seen: dict[str, int] = {}  # memory id -> index of the last group holding one of its rows
    last_update: dict[str, tuple[int, int]] = {}  # memory id -> (group, position) of its latest UPDATE row
    for row in rows:
        if row.kind == UPDATE:
            memory_id = row.touches[0]
            held = last_update.get(memory_id)
            if held is not None and held[0] == last_seen[memory_id]:
                values = groups[held[0]][1]
                values[held[1]] = then(values[held[1]], row.values)
                continue
        index = latest.get(row.kind, -1)
        if index < 0 or index <= max(last_seen.get(m, -1) for m in row.touches):
            index = len(groups)
            groups.append((row.kind, []))
            latest[row.kind] = index
        groups[index][1].append(row.values)
        if row.kind == UPDATE:
            last_update[row.touches[0]] = (index, len(groups[index][1]) - 1)
        for memory_id in row.touches:
            last_seen[memory_id] = max(last_seen.get(memory_id, -1), index)
    return groups


def steps(events: Sequence[Event], offsets: Sequence[int] | None = None) -> list[Step]:
    """Grouped rows, with deletes as barriers: a delete must not move before the events it follows (an
    entity it orphans may be re-created by a later mention, and which event creates a node decides its
    name), so the groups collected so far run first, then the run of consecutive deletes, then the rest
    is grouped anew. Deletes are rare next to the events that build memories, so this costs little.
    ``offsets``: each event's log offset (``row_of``), when known."""
    result: list[Step] = []
    pending: list[Row] = []
    for index, event in enumerate(events):
        if isinstance(event, MemoryForgotten | UserErased):
            if pending:
                result.append(group(pending))
                pending = []
            deletes = result[-1] if result else None
            if not isinstance(deletes, Deletes):
                deletes = Deletes()
                result.append(deletes)
            if isinstance(event, UserErased):
                deletes.scope_keys.append(event.scope.key)
            else:
                deletes.memory_ids.append(event.memory_id)
            continue
        row = row_of(event, None if offsets is None else offsets[index])
        if row is not None:
            pending.append(row)
    if pending:
        result.append(group(pending))
    return result
