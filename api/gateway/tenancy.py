"""Tenancy: which memories a request may touch, decided from its parameters and the caller's credential alone.

Every route calls ``authorize`` before it reads, waits for or writes anything. The rules:

- a credential belongs to one app and never reaches another app's memories (``Forbidden``, "wrong app");
- a user-bound credential (a user-bound key, or a JWT: its ``sub``) reaches only its own user ("another user");
- the route's permission must be among the credential's scopes; ``admin`` implies read and write, and only
  ``admin`` erases a whole user ("missing scope").

The decision never depends on what exists: a 403 names the rule the request broke, which the caller can tell
from its own request and credential, and says nothing about whether the other app, user or memory exists.
Memory ids are not checked here; the readers look them up within the authorized scope only, so another
tenant's id gets the same 404 as an id that never existed.

Defaults: an omitted ``app_id`` is the credential's app ("default" with authentication off); an omitted
``user_id`` is a user-bound credential's user, and an app-wide credential must name the user (400).
``agent_id`` and ``run_id`` narrow a user's scope and are never bound by a credential, so they pass through.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.errors import Forbidden, InvalidRequest, Unauthorized
from api.gateway.principal import Principal, Scope
from memory.contract.events import Scope as Tenant
from memory.contract.validation import InvalidInput, check_id

READ = Scope.READ
WRITE = Scope.WRITE
ADMIN = Scope.ADMIN
# The app of every request when authentication is off (local experiments): what the API always used.
AUTH_OFF_APP = "default"


def caller(request: Request[Any, Any, Any]) -> Principal:
    """The ``caller`` dependency of every route: the principal the authentication middleware verified.

    Fails closed: a route reached without one (a middleware left out by mistake) answers 401, never acts as
    anyone."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise Unauthorized("no credential was verified for this request")
    return principal


def grants(principal: Principal, needed: Scope) -> bool:
    return needed in principal.scopes or Scope.ADMIN in principal.scopes


def authorize(
    principal: Principal,
    needed: Scope,
    app_id: str | None,
    user_id: str | None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> Tenant:
    """The scope the request acts in, with its defaults filled in; ``Forbidden`` if the credential does not
    allow it, ``InvalidRequest`` if an app-wide credential does not say which user."""
    app = app_of(principal, app_id)
    user = user_of(principal, user_id)
    if not grants(principal, needed):
        raise Forbidden(missing_scope(needed))
    return Tenant(app, user, agent_id, run_id)


def app_of(principal: Principal, asked: str | None) -> str:
    own = principal.app_id
    if own is None:  # authentication off: every app
        return asked or AUTH_OFF_APP
    credential_id(own, "app id")
    if asked is not None and asked != own:
        raise Forbidden(f"app_id '{asked}' is not this credential's app: a credential reaches only its own app")
    return own


def user_of(principal: Principal, asked: str | None) -> str:
    own = principal.user_id
    if own is None:
        if asked is None:
            raise InvalidRequest(
                "user_id is required: this credential is not bound to one user, so the request must name one"
            )
        return asked
    credential_id(own, "user id")
    if asked is not None and asked != own:
        raise Forbidden(
            f"user_id '{asked}' is not this credential's user: a user-bound credential reaches only its own user"
        )
    return own


def missing_scope(needed: Scope) -> str:
    if needed is Scope.ADMIN:
        return "this credential lacks the 'admin' scope: only 'admin' may erase a whole user"
    return f"this credential lacks the '{needed.value}' scope this route needs (or 'admin')"


def credential_id(value: str, what: str) -> None:
    """A credential's app or user becomes a request's scope, so it must be an id this API holds: a JWT whose
    ``sub`` has a '/' could otherwise share a Kafka key (``app/user``) and a cache key with another tenant."""
    try:
        check_id(value, what)
    except InvalidInput as exc:
        raise Unauthorized(f"the credential's {exc}; it cannot name a tenant here") from None
