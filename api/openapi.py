"""What the OpenAPI schema says beyond what Litestar derives from the handlers' signatures.

- Every error status a route can answer, with the error body (``ErrorBody``): routes name their kind
  (``READ``, ``READ_ONE``, ``WRITE``, ``WRITE_ONE``) instead of repeating the statuses.
- The rules that tie fields together, which a struct cannot state: exactly one of ``messages`` or ``text``
  when adding, at least one of ``text`` or ``pinned`` when correcting.
- The text limit, which is a setting (``MEMSTREAM_MAX_CONTENT_CHARS``), so it is stated when the app is built.
- ``additionalProperties: false`` on the bodies that refuse unknown fields (``forbid_unknown_fields``).
- Authentication: the bearer scheme, required by every operation but the public paths the authentication
  middleware excludes (the same list, api.gateway.authenticate), each of them answering 401 without it.
- ``user_id`` is required. A user-bound credential may leave it out (its own user, api.gateway.tenancy) but
  one that is not bound to a user (an app-wide key; anyone, with authentication off) must name it, and the
  schema cannot say which credential a request carries: it states the rule every caller meets, and the
  field's description states the leniency.

A schema that leaves a rule out makes a valid-looking request fail; these keep the schema and the checks equal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import ModuleType

import msgspec
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)

from api import schemas
from api.params import MAX_FILTER_KEY_CHARS, MAX_FILTER_PAIRS, MAX_FILTER_VALUE_CHARS
from api.schemas import ErrorBody
from memory.contract.validation import METADATA_KEY_PATTERN, METADATA_VALUE_PATTERN

BEARER = "bearer"
UNAUTHORIZED = (
    "No credential, or one that does not verify: `detail` says which (missing, malformed, unknown, expired or"
    " revoked API key; a JWT that does not verify). Send `Authorization: Bearer <API key or JWT>`."
)
ERRORS = {
    400: "The request breaks a rule of this schema; `detail` (and `extra`, for a parameter or body that did not"
    " decode) names the field and the problem.",
    403: "The credential is valid but does not allow this: `detail` names the rule (another app, another user,"
    " a missing scope), decided from the request and the credential alone, never from what is stored.",
    404: "No such memory for this user: the same answer whether the id is unknown or another user's.",
    409: "The request contradicts what is stored: `detail` says what (a block label that exists, old text that is"
    " not in the block).",
    413: "The body is larger than 2 MiB, or a text is longer than the text limit stated on the field.",
    415: "A body not sent as `Content-Type: application/json`.",
    422: "Well-formed, but it cannot be done as asked: `detail` says why (a tool's arguments that do not fit the"
    " tool, naming the argument; a core memory block edit that would exceed the block's limit, naming the lengths).",
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


# 401 is stated with the bearer scheme when authentication is on (state_bearer_security).
READ = error_responses(400, 403, 429, 503)
READ_ONE = error_responses(400, 403, 404, 429, 503)
WRITE = error_responses(400, 403, 413, 415, 429, 503)
WRITE_ONE = error_responses(400, 403, 404, 413, 415, 429, 503)

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


def state_body_rules(openapi: OpenAPI, max_content_chars: int, body_modules: Sequence[ModuleType] = (schemas,)) -> None:
    """Add the cross-field rules and the text limit to Litestar's generated schema (built once, then served).
    ``body_modules``: where the request structs named by the schema's components are defined."""
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
        structs = (getattr(module, name, None) for module in body_modules)
        if any(_refuses_unknown_fields(struct) for struct in structs):
            _component(openapi, name).additional_properties = False


def state_bearer_security(openapi: OpenAPI, public_paths: Sequence[str]) -> None:
    """Every operation outside ``public_paths`` (regular expressions) needs a bearer credential and may answer 401."""
    components = openapi.components or Components()
    components.security_schemes = {
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="An API key (`ms_...`, from `memstream keys create` or `POST /v1/admin/keys`) or a JWT"
            " of the configured identity provider.",
        )
    }
    openapi.components = components
    unauthorized = OpenAPIResponse(
        description=UNAUTHORIZED,
        content={"application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ErrorBody"))},
    )
    for path, item in (openapi.paths or {}).items():
        if any(re.search(pattern, path) for pattern in public_paths):
            continue
        for operation in _operations(item):
            operation.security = [{BEARER: []}]
            operation.responses = {**(operation.responses or {}), "401": unauthorized}


def _operations(item: object) -> list[Operation]:
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    return [op for op in (getattr(item, m, None) for m in methods) if isinstance(op, Operation)]


# The request bodies that name a user (api.gateway.tenancy fills it in for a user-bound credential).
SCOPED_BODIES = (
    "AddMemoriesRequest",
    "SearchRequest",
    "ContextRequest",
    "UpdateMemoryRequest",
    "ConversationSearchRequest",
    "ToolCallRequest",
    "CreateBlockRequest",
    "AppendBlockRequest",
    "ReplaceBlockRequest",
)


def state_user_required(openapi: OpenAPI) -> None:
    """``user_id`` is required, in bodies and query strings: the schema every caller meets (see above)."""
    for name in SCOPED_BODIES:
        body = _component(openapi, name)
        body.required = sorted({*(body.required or []), "user_id"})
        _as_string(_property(body, "user_id"))
    for item in (openapi.paths or {}).values():
        for operation in _operations(item):
            for parameter in operation.parameters or []:
                if isinstance(parameter, Reference) or not isinstance(parameter.schema, Schema):
                    continue
                if parameter.name == "user_id":
                    parameter.required = True
                    _as_string(parameter.schema)


def state_metadata_filter(openapi: OpenAPI) -> None:
    """The ``metadata`` query parameter (``api.params.MetadataFilter``) is JSON: stated as a parameter with
    ``content: application/json`` and the object's own limits, so a client (and the fuzzer) sends JSON."""
    pairs = Schema(
        type=OpenAPIType.OBJECT,
        max_properties=MAX_FILTER_PAIRS,
        property_names=Schema(min_length=1, max_length=MAX_FILTER_KEY_CHARS, pattern=METADATA_KEY_PATTERN),
        additional_properties=Schema(
            type=OpenAPIType.STRING, max_length=MAX_FILTER_VALUE_CHARS, pattern=METADATA_VALUE_PATTERN
        ),
    )
    for item in (openapi.paths or {}).values():
        for operation in _operations(item):
            for parameter in operation.parameters or []:
                if isinstance(parameter, Reference) or (parameter.name, parameter.param_in) != (
                    "metadata",
                    ParamType.QUERY,
                ):
                    continue
                parameter.schema = None
                parameter.content = {"application/json": OpenAPIMediaType(schema=pairs)}


def _as_string(schema: Schema) -> None:
    """``oneOf: [string, null]`` (how an optional id is generated) becomes ``type: string``; its length,
    pattern and description stay."""
    schema.one_of = None
    schema.type = OpenAPIType.STRING


def _refuses_unknown_fields(struct: object) -> bool:
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return False
    return bool(struct.__struct_config__.forbid_unknown_fields)


__all__ = [
    "READ",
    "READ_ONE",
    "WRITE",
    "WRITE_ONE",
    "error_responses",
    "state_bearer_security",
    "state_body_rules",
    "state_user_required",
]
