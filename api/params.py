"""Query and path parameters shared by the routes: ids follow memory.contract.validation's rule (a 400 naming
the parameter); omitted, user and app are the credential's (api.gateway.tenancy.authorize, called first)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from api.schemas import APP_ID_DEFAULT, TOKEN_PATTERN, USER_ID_DEFAULT
from memory.contract.positions import MAX_TOKEN_CHARS
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS

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
