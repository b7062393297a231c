"""The OpenAPI schema states the rules the checks enforce, and every status a route answers (api.openapi)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.app import create_app
from memory.contract.validation import (
    _SPACES,
    METADATA_KEY_PATTERN,
    METADATA_VALUE_PATTERN,
    NAME_PATTERN,
    TEXT_PATTERN,
    InvalidInput,
    check_metadata,
    check_name,
    check_text,
)

SAMPLES = ["a", " x ", "", " ", "\u3000", "\ufeff", "a\n", "Kim\n", "a\x00b", "\x1b[31m", "tab\there", "\x85", "é"]


def _passes(check: Any, value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True


def test_the_spaces_class_is_what_str_strip_removes() -> None:
    spaces = re.compile(f"[{_SPACES}]")
    assert {c for c in map(chr, range(0x110000)) if c.isspace()} == {
        c for c in map(chr, range(0x110000)) if spaces.fullmatch(c)
    }


@pytest.mark.parametrize("value", SAMPLES)
def test_each_pattern_admits_exactly_what_its_check_accepts(value: str) -> None:
    assert bool(re.search(TEXT_PATTERN, value)) == _passes(lambda v: check_text(v, "text", 100), value)
    assert bool(re.search(NAME_PATTERN, value)) == _passes(lambda v: check_name(v, "name"), value)
    key_ok = _passes(lambda v: check_metadata({v: "x"}), value)
    assert bool(re.search(METADATA_KEY_PATTERN, value)) == key_ok
    assert bool(re.search(METADATA_VALUE_PATTERN, value)) == _passes(lambda v: check_metadata({"k": v}), value)


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    schema: dict[str, Any] = create_app().openapi_schema.to_schema()
    return schema


def test_every_route_declares_its_error_statuses(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            if path == "/health":
                continue
            if path == "/ready":  # public, like /health: no credential, no body; 503 when a store is away
                assert declared == {"200", "503"} and not operation.get("security"), declared
                continue
            expected = {"429", "503"} | ({"413", "415"} if method in ("post", "put", "delete") else set())
            # 400: a route with parameters or a body (GET /v1/whoami has neither).
            expected |= {"400"} if operation.get("parameters") or operation.get("requestBody") else set()
            expected |= {"404"} if "{memory_id}" in path or "{prefix}" in path else set()
            expected |= {"401"}  # every route but the public ones needs a credential
            assert expected <= declared, (method, path, declared)
            assert operation["security"] == [{"bearer": []}], (method, path)
            error = operation["responses"]["429"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}


def test_bodies_state_their_cross_field_rules_and_refuse_unknown_fields(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    assert [branch["required"] for branch in components["AddMemoriesRequest"]["oneOf"]] == [["messages"], ["text"]]
    assert [branch["required"] for branch in components["UpdateMemoryRequest"]["anyOf"]] == [["text"], ["pinned"]]
    assert components["Message"]["properties"]["content"]["maxLength"] == 20_000
    bodies = ("AddMemoriesRequest", "Message", "SearchRequest", "SearchFilters", "ContextRequest", "CreateKeyRequest")
    for name in bodies:
        assert components[name]["additionalProperties"] is False, name


def test_the_bearer_scheme_is_stated_and_the_public_paths_need_none(openapi: dict[str, Any]) -> None:
    assert openapi["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in openapi["paths"]["/health"]["get"]
    assert "401" not in openapi["paths"]["/health"]["get"]["responses"]


def test_list_parameters_state_their_bounds(openapi: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in openapi["paths"]["/v1/memories"]["get"]["parameters"]}
    assert (parameters["offset"]["schema"]["minimum"], parameters["offset"]["schema"]["maximum"]) == (0, 1_000_000)
    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 500)
    # The metadata filter is JSON, stated as such with its own limits (api.params.MetadataFilter).
    metadata = parameters["metadata"]["content"]["application/json"]["schema"]
    assert "schema" not in parameters["metadata"]
    assert (metadata["type"], metadata["maxProperties"]) == ("object", 4)
    assert metadata["propertyNames"]["maxLength"] == 64 and metadata["additionalProperties"]["maxLength"] == 128


def test_the_state_names_a_query_may_use_are_the_machines_and_the_retired_ones() -> None:
    from typing import get_args

    from api.schemas import STATE_NAMES, StateName

    assert sorted(get_args(StateName)) == STATE_NAMES
