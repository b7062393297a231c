"""The ``Idempotency-Key`` header in the OpenAPI schema: an optional parameter of every idempotent route, with
the 409 and 422 answers it brings. Derived from the routes' own ``opt`` (the middleware's test), so the schema
and the behaviour name the same routes."""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute

from api.idempotency.middleware import HEADER, KEY_PATTERN, MAX_KEY_CHARS, REPLAYED_HEADER

DESCRIPTION = (
    "Makes a retry safe: the same key with the same request (method, path, query and body bytes) from the same"
    " credential answers the first answer again, with the same status and body and the header"
    f" `{REPLAYED_HEADER}: true`, and does nothing new. Keys are remembered for at least 24 hours. 1 to"
    f" {MAX_KEY_CHARS} visible ASCII characters; a UUID per logical request is a good key."
)
ANSWERS = {
    409: f"A request with this `{HEADER}` is still being processed; retry after the `Retry-After` header's seconds.",
    422: f"This `{HEADER}` was already used for a different request (method, path, query or body).",
}


def idempotent_operations(app: Litestar) -> list[tuple[str, str]]:
    """(OpenAPI path, lower-case method) of every handler with ``opt={"idempotent": True}``."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.opt.get("idempotent"):
                found.extend((route.path_format, method.lower()) for method in handler.http_methods)
    return found


def state_idempotency_key(openapi: OpenAPI, app: Litestar) -> None:
    parameter = Parameter(
        name=HEADER,
        param_in=ParamType.HEADER,
        required=False,
        description=DESCRIPTION,
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_CHARS, pattern=KEY_PATTERN),
    )
    replayed = OpenAPIHeader(
        description="`true` when this is the stored answer of an earlier request with the same key",
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
    )
    for path, method in idempotent_operations(app):
        item = (openapi.paths or {}).get(path)
        operation = getattr(item, method, None)
        if not isinstance(operation, Operation):
            continue
        operation.parameters = [*(operation.parameters or []), parameter]
        responses: dict[str, OpenAPIResponse | Reference] = dict(operation.responses or {})
        for status, description in ANSWERS.items():
            existing = responses.get(str(status))
            if isinstance(existing, OpenAPIResponse):  # the route's own 409/422: both meanings
                existing.description = f"{existing.description} Or: {description}"
            else:
                responses[str(status)] = error_answer(description)
        for code, response in responses.items():
            if code.startswith("2") and isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), REPLAYED_HEADER: replayed}
        operation.responses = responses


def error_answer(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={"application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ErrorBody"))},
    )
