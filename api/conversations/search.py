"""Full-text search over a user's conversation log in PostgreSQL.

The turns' ``tsvector`` is the ``english`` configuration's, like the memories' BM25 (api/retrievers/sparse.py),
stored and GIN-indexed by the projection (projections/postgres/schema.sql). Any word of the query may match
(``or_tsquery``, as the sparse retriever reads a query): a model's search rarely repeats a turn's exact words.
Turns are ordered by ``ts_rank``, best first, then newest. The scope (app, user, and agent when given) is in
the statement's WHERE clause: nothing of another tenant is read, counted or ranked.

Turns written by a memory tool (``archival_memory_insert`` stores its text as a turn with ``infer=false``,
marked with ``TOOL_METADATA_KEY``) are not conversation and are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.conversations.schemas import ConversationHit, ConversationSearchRequest, ConversationSearchResponse
from api.errors import InvalidRequest
from api.retrievers.base import or_tsquery, words_of
from api.schemas import MAX_QUERY_CHARS
from memory.contract.events import Scope
from memory.contract.validation import InvalidInput, check_text
from memory.conversations.sessions import TOOL_METADATA_KEY

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)

SEARCH = """
WITH hits AS (
  SELECT event_id, turn_id, conversation_id, role, speaker, text, occurred_at,
         ts_rank(tsv, to_tsquery('english', %(query)s)) AS rank
  FROM conversation_turns
  WHERE app_id = %(app)s AND user_id = %(user)s
    AND (%(agent)s::text IS NULL OR agent_id = %(agent)s)
    AND (%(start)s::timestamptz IS NULL OR occurred_at >= %(start)s)
    AND (%(end)s::timestamptz IS NULL OR occurred_at < %(end)s)
    AND NOT metadata ? %(tool_key)s
    AND tsv @@ to_tsquery('english', %(query)s)
)
SELECT (SELECT count(*) FROM hits) AS total, page.*
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT * FROM hits ORDER BY rank DESC, occurred_at DESC, event_id LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
"""


@dataclass(frozen=True)
class ConversationQuery:
    """A validated search: the scope ``authorize`` answered, and the window as [start, end) in UTC."""

    scope: Scope
    text: str
    start: datetime | None
    end: datetime | None
    page: int
    page_size: int


def bound(value: str | None, field: str, end: bool) -> datetime | None:
    """A date or an RFC 3339 date-time as a UTC instant; an end is returned exclusive (a date: the next midnight,
    a date-time: one microsecond later), so that ``occurred_at < end`` includes what was asked."""
    if value is None:
        return None
    try:
        if _DATE.fullmatch(value):
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            step = timedelta(days=1)
        elif _RFC3339.fullmatch(value):
            moment = msgspec.json.decode(msgspec.json.encode(value.upper()), type=datetime).astimezone(UTC)
            step = timedelta(microseconds=1)
        else:
            raise ValueError("not a date")
    except (ValueError, msgspec.ValidationError):
        raise InvalidRequest(
            f"{field} must be a date such as 2026-03-01 or an RFC 3339 date-time with a time zone such as"
            f" 2026-03-01T09:15:00Z; got {value!r}"
        ) from None
    if not end:
        return moment
    try:
        return moment + step
    except OverflowError:
        return None  # the end of year 9999: no upper bound


def read_query(body: ConversationSearchRequest, scope: Scope) -> ConversationQuery:
    """Validate ``body`` (400 naming the field); ``scope``: what ``api.gateway.tenancy.authorize`` allowed."""
    try:
        check_text(body.query, "query", MAX_QUERY_CHARS)
    except InvalidInput as exc:
        raise InvalidRequest(str(exc)) from None
    start = bound(body.start_date, "start_date", end=False)
    end = bound(body.end_date, "end_date", end=True)
    if start is not None and end is not None and start >= end:
        raise InvalidRequest(f"start_date {body.start_date} is after end_date {body.end_date}: the range is empty")
    return ConversationQuery(scope, body.query, start, end, body.page, body.page_size)


async def search_conversations(pool: AsyncConnectionPool, query: ConversationQuery) -> ConversationSearchResponse:
    tsquery = or_tsquery(words_of(query.text))
    answer = ConversationSearchResponse(results=[], page=query.page, page_size=query.page_size, total=0)
    if not tsquery:
        return answer  # no word to search for (punctuation only)
    params: dict[str, Any] = {
        "query": tsquery,
        "app": query.scope.app_id,
        "user": query.scope.user_id,
        "agent": query.scope.agent_id,
        "start": query.start,
        "end": query.end,
        "tool_key": TOOL_METADATA_KEY,
        "limit": query.page_size,
        "offset": query.page * query.page_size,
    }
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SEARCH, params)
        rows = await cur.fetchall()
    answer.total = int(rows[0]["total"]) if rows else 0
    answer.results = [hit(row) for row in rows if row["event_id"] is not None]
    return answer


def hit(row: dict[str, Any]) -> ConversationHit:
    return ConversationHit(
        turn_id=row["turn_id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        speaker=row["speaker"],
        text=row["text"],
        occurred_at=row["occurred_at"],
        rank=round(float(row["rank"]), 6),
    )
