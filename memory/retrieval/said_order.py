"""Equal scores, one order: a tie goes to the memory said later, by valid time and then by log position,
never by an id.

Memory ids derive from the turn's event id, a random UUID the API draws for every request, and a turn id
that the API makes up is the request's id too: ordering ties by them gave two users who said the same
things different rankings (and the neighbour boost a different idea of which turn came first). What two
ingests of the same conversation share is the order it was said in: its valid time and, for turns that
share one (a request's messages all carry its ``occurred_at``), their place in the log, the offset of the
``MemoryExtracted`` that created the memory (``memories.log_offset``). One user's events share one
partition, so within a user those offsets follow the order the turns were sent and, within a turn, the
order of its memories.

Later first, as the sparse, graph and temporal retrievers already ordered their ties by valid time (of two
equal matches, the newer is the one more likely to still hold); the memory id remains the last resort for a
memory whose log position is unknown (projected before the column existed, see ``schema.sql``).
"""

from __future__ import annotations

from datetime import datetime

SaidKey = tuple[float, int, str]

UNKNOWN_OFFSET = -1  # a memory without a known log position sorts as said before every one with it


def said_key(valid_from: datetime, log_offset: int | None, memory_id: str) -> SaidKey:
    """Larger is said later: compare (score, said_key) pairs in reverse to put the best, then the latest, first."""
    return (valid_from.timestamp(), UNKNOWN_OFFSET if log_offset is None else log_offset, memory_id)
