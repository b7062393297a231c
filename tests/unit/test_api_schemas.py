"""The API's request validation and route table, without services (no network)."""

import msgspec
import pytest

from api.app import create_app
from api.schemas import AddMemoriesRequest, SearchRequest
from memory.settings import Settings


def test_the_app_builds_and_declares_the_routes() -> None:
    app = create_app(Settings())
    paths = {route.path for route in app.routes}
    assert {"/v1/memories", "/v1/memories/search", "/v1/memories/{memory_id:str}", "/health"} <= paths


def test_openapi_documents_the_write_endpoint() -> None:
    schema = create_app(Settings()).openapi_schema.to_schema()
    assert "202" in schema["paths"]["/v1/memories"]["post"]["responses"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"user_id": "u", "text": "x", "extra": 1}', "extra"),
        (b'{"user_id": "has space", "text": "x"}', "user_id"),
        (b'{"user_id": "u", "messages": []}', "messages"),
        (b'{"user_id": "u", "messages": [{"role": "robot", "content": "x"}]}', "role"),
    ],
)
def test_bad_write_bodies_are_rejected_with_the_field_named(body: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.json.decode(body, type=AddMemoriesRequest)


def test_a_good_write_body_decodes_with_defaults() -> None:
    body = msgspec.json.decode(b'{"user_id": "u-1", "text": "I like tea"}', type=AddMemoriesRequest)
    # Omitted app and user are the credential's (api.gateway.tenancy), filled in by the route, not the schema.
    assert body.app_id is None and body.infer is True and body.metadata == {}


def test_search_defaults() -> None:
    body = msgspec.json.decode(b'{"user_id": "u", "query": "tea"}', type=SearchRequest)
    assert body.top_k == 10
