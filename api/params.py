"""Query and path parameters shared by the routes: ids follow memory.contract.validation's rule (a 400 naming
the parameter); omitted, user and app are the credential's (api.gateway.tenancy.authorize, called first)."""

from __future__ import annotations

import json
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from api.errors import InvalidRequest
from api.schemas import APP_ID_DEFAULT, TOKEN_PATTERN, USER_ID_DEFAULT
from memory.contract.positions import MAX_TOKEN_CHARS
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS, InvalidInput, check_metadata

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
MAX_METADATA_FILTER_CHARS = 8_000
MetadataFilter = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_METADATA_FILTER_CHARS,
        description='a JSON object of string pairs, e.g. {"topic": "travel"}: memories whose metadata has them all',
    ),
]


def metadata_filter(text: str | None) -> dict[str, str] | None:
    """The ``metadata`` query parameter as pairs; a 400 naming the problem when it is not a JSON object of strings
    within the metadata limits."""
    if text is None:
        return None
    try:
        pairs = json.loads(text)
    except ValueError:
        raise InvalidRequest('metadata must be a JSON object of string pairs, e.g. {"topic": "travel"}') from None
    if not isinstance(pairs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
        raise InvalidRequest("metadata must be a JSON object whose keys and values are strings")
    try:
        check_metadata(pairs, "metadata")
    except InvalidInput as exc:
        raise InvalidRequest(str(exc)) from None
    return pairs
