"""What a search may see, as a PostgreSQL condition and a Milvus expression built from one request.

Scope is in both, always. Lifecycle states, metadata equality and the valid-time window come from the
request's filters; ``as_of``/``known_as_of`` switch visibility to the bi-temporal history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from api.errors import InvalidRequest
from api.schemas import SearchFilters
from memory.lifecycle.machine import SEARCHABLE_BY_DEFAULT, MemoryState, state_named
from projections.milvus.expressions import all_of, differs, one_of, scope_filter

SEARCHABLE = sorted(s.value for s in SEARCHABLE_BY_DEFAULT)


@dataclass(frozen=True)
class Visibility:
    """Who and what a search covers; both stores' conditions derive from it."""

    app_id: str
    user_id: str
    agent_id: str | None = None
    run_id: str | None = None
    filters: SearchFilters | None = None
    as_of: datetime | None = None
    known_as_of: datetime | None = None
    include_archived: bool = False

    @property
    def time_travel(self) -> bool:
        return self.as_of is not None or self.known_as_of is not None

    def states(self) -> list[str]:
        named = self.filters.states if self.filters and self.filters.states else SEARCHABLE
        wanted = states_named(named, "filters.states")
        if self.include_archived:
            wanted.append(MemoryState.ARCHIVED.value)
        return sorted(set(wanted))

    @property
    def reads_through_summaries(self) -> bool:
        """Whether this search also reads the archived originals of live summaries and answers them through their
        summary (memory.retrieval.through_summaries): a search of the default states now. One that names its
        states, asks for the archive, or travels in time sees exactly what it named."""
        named = self.filters is not None and bool(self.filters.states)
        return not (named or self.include_archived or self.time_travel)

    def through_archive(self) -> Visibility:
        """The same search with the archive readable (what the retrievers read when it reads through summaries)."""
        return replace(self, include_archived=True)

    def validate(self) -> None:
        # occurred_after at or past occurred_before is an empty window, not an error: it matches nothing, as a
        # SQL range would (no JSON Schema can state an order between two fields, and every refusal is stated).
        self.states()

    def sql(self, alias: str = "memories") -> tuple[str, list[Any]]:
        """The WHERE condition (scope included) and its parameters."""
        parts = [f"{alias}.app_id = %s", f"{alias}.user_id = %s"]
        params: list[Any] = [self.app_id, self.user_id]
        for column, value in (("agent_id", self.agent_id), ("run_id", self.run_id)):
            if value is not None:
                parts.append(f"{alias}.{column} = %s")
                params.append(value)
        if not self.time_travel:
            # Now: a superseded memory (a newer statement contradicts it) is history, not an answer.
            parts.append(f"{alias}.state = ANY(%s) AND {alias}.valid_to IS NULL")
            params.append(self.states())
        else:
            # Time travel: today's state says nothing about then; the version history decides.
            as_of = self.as_of or datetime.now(UTC)
            known = self.known_as_of or datetime.now(UTC)
            parts.append(
                f"{alias}.valid_from <= %s AND ({alias}.valid_to IS NULL OR {alias}.valid_to > %s)"
                f" AND {alias}.known_from <= %s AND {alias}.state <> 'forgotten' AND EXISTS (SELECT 1 FROM"
                f" memory_versions v WHERE v.memory_id = {alias}.memory_id AND v.known_at <= %s AND v.state = ANY(%s))"
            )
            params.extend([as_of, as_of, known, known, self.states()])
        f = self.filters
        if f is not None:
            if f.metadata:
                parts.append(f"{alias}.metadata @> %s::jsonb")
                params.append(json.dumps(f.metadata))
            if f.occurred_after is not None:
                parts.append(f"{alias}.valid_from >= %s")
                params.append(f.occurred_after)
            if f.occurred_before is not None:
                parts.append(f"{alias}.valid_from < %s")
                params.append(f.occurred_before)
        return " AND ".join(parts), params

    def milvus(self, start: datetime | None = None, end: datetime | None = None) -> str:
        """The Milvus filter expression; ``start``/``end`` narrow valid time further (temporal ranges).

        Metadata is not in Milvus: it is checked when rows are fetched from PostgreSQL."""
        parts = [scope_filter(self.app_id, self.user_id, self.agent_id, self.run_id)]
        if not self.time_travel:
            parts.append(one_of("state", self.states()))
        else:
            parts.append(differs("state", MemoryState.EXTRACTED.value))
        if self.as_of is not None:
            parts.append(f"occurred_at <= {epoch_ms(self.as_of)}")
        f = self.filters
        lower = max((t for t in (f and f.occurred_after, start) if t), default=None)
        upper = min((t for t in (f and f.occurred_before, end) if t), default=None)
        if lower is not None:
            parts.append(f"occurred_at >= {epoch_ms(lower)}")
        if upper is not None:
            parts.append(f"occurred_at < {epoch_ms(upper)}")
        return all_of(*parts)


def states_named(names: list[str], where: str) -> list[str]:
    """The state values a request names (the seed's retired names read as ``memory.lifecycle.machine`` maps them);
    ``InvalidRequest`` naming ``where`` for a name that is no state."""
    try:
        return [state_named(name).value for name in names]
    except ValueError as exc:
        raise InvalidRequest(f"{where}: {exc}") from None


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
