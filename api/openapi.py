"""What the OpenAPI schema says beyond what Litestar derives from the handlers' signatures.

- Every error status a route can answer, with the error body (``ErrorBody``): routes name their kind
  (``READ``, ``READ_ONE``, ``WRITE``, ``WRITE_ONE``) instead of repeating the statuses.
- The rules that tie fields together, which a struct cannot state: exactly one of ``messages`` or ``text``
  when adding, at least one of ``text`` or ``pinned`` when correcting.
- The text limit, which is a setting (``MEMSTREAM_MAX_CONTENT_CHARS``), so it is stated when the app is built.
- ``additionalProperties: false`` on the bodies that refuse unknown fields (``forbid_unknown_fields``).

A schema that leaves a rule out makes a valid-looking request fail; these keep the schema and the checks equal.
"""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, OpenAPIType, Reference, Schema

from api import schemas
from api.schemas import ErrorBody

ERRORS = {
    400: "The request breaks a rule of this schema; `detail` (and `extra`, for a parameter or body that did not"
    " decode) names the field and the problem.",
    404: "No such memory for this user: the same answer whether the id is unknown or another user's.",
    413: "The body is larger than 2 MiB, or a text is longer than the text limit stated on the field.",
    415: "A body not sent as `Content-Type: application/json`.",
    429: "Past the caller's rate limit (requests per minute, api/gateway/rate_limit.py); retry after the `Retry-After`"
    " header's seconds. With authentication on, every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and"
    " `RateLimit-Reset` (seconds until the window resets).",
    503: "A backing store is unavailable, or the write behind `consistency_token` was not applied within the"
    " timeout; retry after the `Retry-After` header's seconds.",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(data_container=ErrorBody, description=ERRORS[status], generate_examples=False)
        for status in statuses
    }


READ = error_responses(400, 429, 503)
READ_ONE = error_responses(400, 404, 429, 503)
WRITE = error_responses(400, 413, 415, 429, 503)
WRITE_ONE = error_responses(400, 404, 413, 415, 429, 503)

# The request bodies' text fields, whose limit is the max_content_chars setting.
TEXT_FIELDS = (("AddMemoriesRequest", "text"), ("Message", "content"), ("UpdateMemoryRequest", "text"))


def _given(field: str, kind: OpenAPIType) -> Schema:
    """The body has ``field``, and it is not null."""
    return Schema(required=[field], properties={field: Schema(type=kind)})


def _components(openapi: OpenAPI) -> dict[str, Schema | Reference]:
    return dict(openapi.components.schemas) if openapi.components and openapi.components.schemas else {}


def _component(openapi: OpenAPI, name: str) -> Schema:
    found = _components(openapi)[name]
    assert isinstance(found, Schema), f"{name} is a component schema, not a reference"
    return found


def _property(schema: Schema, name: str) -> Schema:
    found = (schema.properties or {})[name]
    assert not isinstance(found, Reference), f"{name} is an inline schema"
    return found


def state_body_rules(openapi: OpenAPI, max_content_chars: int) -> None:
    """Add the cross-field rules and the text limit to Litestar's generated schema (built once, then served)."""
    _component(openapi, "AddMemoriesRequest").one_of = [
        _given("messages", OpenAPIType.ARRAY),
        _given("text", OpenAPIType.STRING),
    ]
    _component(openapi, "UpdateMemoryRequest").any_of = [
        _given("text", OpenAPIType.STRING),
        _given("pinned", OpenAPIType.BOOLEAN),
    ]
    for component, field in TEXT_FIELDS:
        _property(_component(openapi, component), field).max_length = max_content_chars
    for name in _components(openapi):
        if _refuses_unknown_fields(getattr(schemas, name, None)):
            _component(openapi, name).additional_properties = False


def _refuses_unknown_fields(struct: object) -> bool:
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return False
    return bool(struct.__struct_config__.forbid_unknown_fields)


__all__ = ["READ", "READ_ONE", "WRITE", "WRITE_ONE", "error_responses", "state_body_rules"]
