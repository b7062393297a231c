"""api.gateway.tenancy.authorize: the rules of who may touch what, from the request and the credential alone."""

from __future__ import annotations

import pytest

from api.errors import Forbidden, InvalidRequest, Unauthorized
from api.gateway.authenticate import ANYONE
from api.gateway.principal import Principal, Scope
from api.gateway.tenancy import ADMIN, READ, WRITE, authorize
from memory.contract.events import Scope as Tenant

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
