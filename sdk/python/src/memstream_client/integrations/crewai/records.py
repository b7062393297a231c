"""CrewAI's ``MemoryRecord`` and memstream's memories, both ways, and the scope paths CrewAI filters by.

memstream keeps a memory's text, importance and times itself; what only CrewAI has (the record's scope path, its
categories, its own importance, its source and privacy, and the caller's metadata) travels in the memory's
metadata under ``crewai_*`` keys, whose values are strings (memstream's metadata holds strings only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from crewai.memory.types import MemoryRecord

from memstream_client.models import Memory, SearchHit

SCOPE = "crewai_scope"
CATEGORIES = "crewai_categories"
IMPORTANCE = "crewai_importance"
SOURCE = "crewai_source"
PRIVATE = "crewai_private"
BATCH = "crewai_batch"  # which remember call wrote it: how the writer finds the ids memstream gave its records
OURS = frozenset({SCOPE, CATEGORIES, IMPORTANCE, SOURCE, PRIVATE, BATCH})
# What memstream adds to every memory from the turn it came from: not the caller's, so not shown to agents
# (``MemoryMatch.format`` prints every metadata value into the prompt).
MEMSTREAM_OWN = frozenset({"conversation_id", "role", "speaker"})


@dataclass(frozen=True)
class Draft:
    """What CrewAI asked to remember, before memstream has stored it (and given it an id)."""

    content: str
    scope: str
    categories: list[str]
    metadata: dict[str, Any]
    importance: float | None
    source: str | None
    private: bool


def stored_metadata(draft: Draft, batch: str) -> dict[str, str]:
    """The memory's metadata in memstream: the caller's (non-string values as JSON) and the ``crewai_*`` keys."""
    metadata = {
        str(key): value if isinstance(value, str) else json.dumps(value) for key, value in draft.metadata.items()
    }
    metadata.update({SCOPE: draft.scope, CATEGORIES: json.dumps(draft.categories), BATCH: batch})
    if draft.importance is not None:
        metadata[IMPORTANCE] = repr(float(draft.importance))
    if draft.source is not None:
        metadata[SOURCE] = draft.source
    if draft.private:
        metadata[PRIVATE] = "true"
    return metadata


def _categories(metadata: Mapping[str, str]) -> list[str]:
    try:
        parsed = json.loads(metadata.get(CATEGORIES, "[]"))
    except ValueError:
        return []
    return [str(c) for c in parsed] if isinstance(parsed, list) else []


def _importance(metadata: Mapping[str, str], memstream_importance: float) -> float:
    """CrewAI's own importance when the caller gave one, else the importance memstream keeps (it rises as a
    memory is used and decays as it is not), within CrewAI's 0..1."""
    try:
        value = float(metadata[IMPORTANCE])
    except (KeyError, ValueError):
        value = memstream_importance
    return min(max(value, 0.0), 1.0)


def record_from(memory: Memory | SearchHit, created_at: datetime | None = None) -> MemoryRecord:
    """The CrewAI record of a memstream memory (or search hit: it carries no ``created_at``, its valid time is)."""
    metadata = memory.metadata
    when = created_at or (memory.created_at if isinstance(memory, Memory) else memory.valid_from)
    return MemoryRecord(
        id=memory.id,
        content=memory.memory,
        scope=metadata.get(SCOPE, "/"),
        categories=_categories(metadata),
        metadata={k: v for k, v in metadata.items() if k not in OURS and k not in MEMSTREAM_OWN},
        importance=_importance(metadata, memory.importance),
        created_at=when,
        last_accessed=memory.updated_at if isinstance(memory, Memory) else when,
        source=metadata.get(SOURCE),
        private=metadata.get(PRIVATE) == "true",
    )


def batch_of(memory: Memory) -> str | None:
    return memory.metadata.get(BATCH)


# --- scope paths -------------------------------------------------------------------------------------------------


def within(scope: str, prefix: str | None) -> bool:
    """Whether a record's scope path is ``prefix`` or under it (CrewAI's prefix match: ``/a`` holds ``/a/b``,
    not ``/ab``); no prefix, or ``/``, holds everything."""
    if prefix is None or not prefix.strip("/"):
        return True
    root = "/" + prefix.strip("/")
    return scope == root or scope.startswith(root + "/")


def child_of(scope: str, parent: str) -> str | None:
    """The immediate child of ``parent`` that ``scope`` lies in (``/a`` and ``/a/b/c``: ``/a/b``), if any."""
    base = "/" + parent.strip("/") if parent.strip("/") else ""
    if not scope.startswith(base + "/"):
        return None
    first = scope[len(base) + 1 :].split("/", 1)[0]
    return f"{base}/{first}" if first else None


def as_aware(moment: datetime) -> datetime:
    """CrewAI makes its times with ``datetime.utcnow()`` (naive, meaning UTC); memstream's carry a time zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def matches(
    record: MemoryRecord,
    categories: Iterable[str] | None = None,
    metadata_filter: Mapping[str, Any] | None = None,
    older_than: datetime | None = None,
) -> bool:
    """CrewAI's record filters: any of the categories, every metadata pair equal, created before ``older_than``."""
    wanted = list(categories or [])
    if wanted and not any(c in record.categories for c in wanted):
        return False
    if metadata_filter and not all(record.metadata.get(k) == _as_stored(v) for k, v in metadata_filter.items()):
        return False
    return older_than is None or as_aware(record.created_at) < as_aware(older_than)


def _as_stored(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def visible(record: MemoryRecord, source: str | None, include_private: bool) -> bool:
    """CrewAI's privacy rule: a private record is seen only by its own source (never by a caller naming none)."""
    return include_private or not record.private or (source is not None and record.source == source)
