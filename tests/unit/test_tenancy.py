"""api.gateway.tenancy.authorize: the rules of who may touch what, from the request and the credential alone."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.errors import Forbidden, InvalidRequest, Unauthorized
from api.gateway.authenticate import ANYONE
from api.gateway.principal import Principal, Scope
from api.gateway.tenancy import ADMIN, READ, WRITE, authorize
from memory.contract.events import Scope as Tenant
from memory.settings import Settings

RW = frozenset({Scope.READ, Scope.WRITE})


def credential(app: str = "a", user: str | None = "alice", *scopes: Scope) -> Principal:
    return Principal(app_id=app, user_id=user, scopes=frozenset(scopes) or RW, credential="test")


def test_omitted_app_and_user_are_the_credentials() -> None:
    assert authorize(credential(), READ, None, None) == Tenant("a", "alice")
    assert authorize(credential(), WRITE, "a", "alice", "bot", "run-1") == Tenant("a", "alice", "bot", "run-1")


def test_an_app_wide_credential_names_the_user_or_gets_a_400() -> None:
    app_wide = credential("a", None)
    assert authorize(app_wide, READ, None, "bob") == Tenant("a", "bob")
    with pytest.raises(InvalidRequest, match="user_id is required"):
        authorize(app_wide, READ, "a", None)


def test_auth_off_acts_for_anyone_in_the_default_app() -> None:
    assert authorize(ANYONE, ADMIN, None, "bob") == Tenant("default", "bob")
    assert authorize(ANYONE, ADMIN, "other", "bob") == Tenant("other", "bob")
    with pytest.raises(InvalidRequest):
        authorize(ANYONE, READ, None, None)


@pytest.mark.parametrize(
    ("principal", "needed", "app", "user", "rule"),
    [
        (credential(), READ, "b", None, "not this credential's app"),
        (credential("a", None, Scope.ADMIN), ADMIN, "b", "alice", "not this credential's app"),
        (credential(), READ, None, "bob", "not this credential's user"),
        (credential("a", "alice", Scope.ADMIN), ADMIN, "a", "bob", "not this credential's user"),
        (credential("a", "alice", Scope.READ), WRITE, None, None, "lacks the 'memories:write' scope"),
        (credential("a", None, Scope.WRITE), READ, None, "bob", "lacks the 'memories:read' scope"),
        (credential(), ADMIN, None, None, "only 'admin' may erase a whole user"),
    ],
)
def test_each_refusal_names_its_rule(
    principal: Principal, needed: Scope, app: str | None, user: str | None, rule: str
) -> None:
    with pytest.raises(Forbidden) as refused:
        authorize(principal, needed, app, user)
    assert rule in refused.value.detail


def test_admin_implies_read_and_write_but_not_another_tenant() -> None:
    admin = credential("a", None, Scope.ADMIN)
    for needed in (READ, WRITE, ADMIN):
        assert authorize(admin, needed, None, "bob") == Tenant("a", "bob")


def test_a_credential_naming_an_id_this_api_cannot_hold_is_refused() -> None:
    # "a/b" would make the Kafka and cache key "app/a/b", the same as app "app/a"'s user "b".
    with pytest.raises(Unauthorized, match="user id"):
        authorize(credential("app", "a/b"), READ, None, None)
    with pytest.raises(Unauthorized, match="app id"):
        authorize(credential("app/a", "b"), READ, None, None)


@pytest.mark.parametrize("auth_enabled", [True, False])
def test_the_schema_requires_user_id_and_leaves_app_id_to_the_credential(auth_enabled: bool) -> None:
    # Required is the rule every caller meets (an app-wide key must name the user); the leniency for a
    # user-bound credential is in the description, so a client following the schema is never refused.
    openapi = create_app(Settings(auth_enabled=auth_enabled)).openapi_schema.to_schema()
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            if "user_id" in parameters:
                assert parameters["user_id"]["required"] is True, (method, path)
                assert parameters["user_id"]["schema"]["type"] == "string", (method, path)
                assert not parameters["app_id"]["required"], (method, path)
            if path.startswith(("/v1/memories", "/v1/context")):
                assert "403" in operation["responses"], (method, path)
    for body in ("AddMemoriesRequest", "SearchRequest", "ContextRequest", "UpdateMemoryRequest"):
        schema = openapi["components"]["schemas"][body]
        assert "user_id" in schema["required"] and "app_id" not in schema["required"], body
        assert "user-bound" in schema["properties"]["user_id"]["description"], body
