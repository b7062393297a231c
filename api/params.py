"""Query and path parameters shared by the routes: ids follow memory.contract.validation's rule (a 400 naming
the parameter); omitted, user and app are the credential's (api.gateway.tenancy.authorize, called first)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from api.errors import InvalidRequest
from api.schemas import APP_ID_DEFAULT, TIMESTAMP_PATTERN, TOKEN_PATTERN, USER_ID_DEFAULT
from memory.contract.positions import MAX_TOKEN_CHARS
from memory.contract.validation import (
    ID_PATTERN,
    MAX_ID_CHARS,
    TEXT_PATTERN,
    InvalidInput,
    check_metadata,
    check_timestamp,
)

# Ids in the query and the path follow memory.contract.validation's rule, as in bodies (a 400 naming the parameter).
# Omitted, user and app are the credential's (api.gateway.tenancy.authorize, called first by every route).
UserId = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description=USER_ID_DEFAULT),
]
AppId = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description=APP_ID_DEFAULT),
]
OptionalId = Annotated[str | None, QueryParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
MemoryId = Annotated[str, PathParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
# The token's shape is stated, not enforced here: memory.contract.positions refuses a bad one with the reason.
Token = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_TOKEN_CHARS,
        description="from a write: wait until it is applied",
        schema_extra={"pattern": TOKEN_PATTERN},
    ),
]

# A JSON object in one query parameter: metadata pairs every listed memory must carry (equality, like a search's
# filters.metadata). JSON rather than one parameter per pair: metadata keys may hold any printable character.
# Smaller than metadata itself: the whole request line must fit the HTTP server's 16 KiB, and the largest filter
# the schema admits, JSON- and URL-escaped (8 characters for one), does: enough to name an item or a topic.
MAX_FILTER_PAIRS = 4
MAX_FILTER_KEY_CHARS = 64
MAX_FILTER_VALUE_CHARS = 128
MAX_METADATA_FILTER_CHARS = 8_000
MetadataFilter = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_METADATA_FILTER_CHARS,
        description=f"a JSON object of at most {MAX_FILTER_PAIRS} string pairs (keys up to {MAX_FILTER_KEY_CHARS}"
        f' characters, values up to {MAX_FILTER_VALUE_CHARS}), e.g. {{"topic": "travel"}}: memories whose metadata'
        " has them all",
    ),
]


def metadata_filter(text: str | None) -> dict[str, str] | None:
    """The ``metadata`` query parameter as pairs; a 400 naming the problem when it is not a JSON object of strings
    within the filter's limits."""
    if text is None:
        return None
    try:
        pairs = json.loads(text)
    except ValueError:
        raise InvalidRequest('metadata must be a JSON object of string pairs, e.g. {"topic": "travel"}') from None
    if not isinstance(pairs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
        raise InvalidRequest("metadata must be a JSON object whose keys and values are strings")
    if len(pairs) > MAX_FILTER_PAIRS:
        raise InvalidRequest(f"metadata has {len(pairs)} pairs; a filter takes at most {MAX_FILTER_PAIRS}")
    for key, value in pairs.items():
        if len(key) > MAX_FILTER_KEY_CHARS or len(value) > MAX_FILTER_VALUE_CHARS:
            raise InvalidRequest(
                f"metadata[{key[:MAX_FILTER_KEY_CHARS]!r}]: a filter's keys take at most {MAX_FILTER_KEY_CHARS}"
                f" characters and its values at most {MAX_FILTER_VALUE_CHARS}"
            )
    try:
        check_metadata(pairs, "metadata")
        json.dumps(pairs, ensure_ascii=False).encode()  # a lone surrogate ("\ud800") is no text PostgreSQL holds
    except (InvalidInput, UnicodeEncodeError) as exc:
        raise InvalidRequest(f"metadata: {exc}") from None
    return pairs


# GET /v1/memories's narrowing parameters (api.reader.ListFilter).
MAX_TEXT_FILTER_CHARS = 200
Kind = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="only memories of this kind (fact, summary, ...)",
    ),
]
TextContains = Annotated[
    str | None,
    QueryParameter(
        name="q",
        min_length=1,
        max_length=MAX_TEXT_FILTER_CHARS,
        pattern=TEXT_PATTERN,
        description="only memories whose text contains this, ignoring case (plain text: no wildcards)",
    ),
]
Pinned = Annotated[bool | None, QueryParameter(description="true: only pinned memories; false: only unpinned ones")]
# Strings checked against the published pattern, then parsed by time_bound: typed as datetimes, Litestar read
# "null" as no filter and bare numbers as epoch seconds, values the schema refuses (the OpenAPI fuzz found them).
OccurredAfter = Annotated[
    str | None,
    QueryParameter(
        description="only memories whose valid time (valid_from: when it became true, the turn's occurred_at)"
        " is at or after this; ISO 8601 with a time zone, between 1900-01-01 and 2999-12-31 in UTC",
        pattern=TIMESTAMP_PATTERN,
        schema_extra={"format": "date-time"},
    ),
]
OccurredBefore = Annotated[
    str | None,
    QueryParameter(
        description="only memories whose valid time (valid_from) is before this; ISO 8601 with a time zone, between"
        " 1900-01-01 and 2999-12-31 in UTC",
        pattern=TIMESTAMP_PATTERN,
        schema_extra={"format": "date-time"},
    ),
]
IncludeSuperseded = Annotated[
    bool,
    QueryParameter(
        description="also memories a newer statement superseded (valid_to set), which are otherwise left out"
    ),
]


def text_filter(text: str | None) -> str | None:
    """The ``q`` parameter as given; a 400 when it holds a lone surrogate (percent-encoded bytes that are no
    UTF-8), which PostgreSQL cannot compare with any text."""
    if text is not None:
        try:
            text.encode()
        except UnicodeEncodeError:
            raise InvalidRequest("q: not valid UTF-8 text") from None
    return text


def time_bound(moment: str | None, name: str) -> datetime | None:
    """A time filter the pattern let through, parsed; a 400 naming it when it is no real date (2026-02-30), has no
    time zone or lies outside the accepted years."""
    if moment is None:
        return None
    try:
        when = datetime.fromisoformat(moment.upper())
    except ValueError:
        raise InvalidRequest(f"{name}: {moment!r} is not a date and time that exists") from None
    try:
        check_timestamp(when, name)
    except InvalidInput as exc:
        raise InvalidRequest(str(exc)) from None
    return when
