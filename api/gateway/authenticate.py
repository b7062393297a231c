"""Turns the ``Authorization: Bearer <credential>`` of every request into a ``Principal`` (``request.user``).

Each verifier recognises its own kind of credential (an API key by its prefix, a JWT by its three parts) and
either answers a ``Principal``, raises ``Unauthorized`` with the reason, or passes (``None``) to the next.
Paths that never need a credential (liveness, readiness, and the docs when the settings say so) are excluded
by the middleware's ``exclude`` patterns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Protocol

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from api.errors import Unauthorized
from api.gateway.principal import Principal, Scope
from memory.settings import Settings

# Everyone may ask whether the process is alive or ready, and scrape its metrics (api/metrics.py: no tenant's data
# in them); nothing else is public.
PUBLIC_PATHS = ["^/health$", "^/ready$", "^/metrics$"]
# The dashboard's files (api/ui): pages and scripts, no data; the data they show comes from the guarded routes,
# called with the key the user signs in with.
DASHBOARD_PATHS = ["^/ui(/|$)"]
DOCS_PATHS = ["^/schema"]
# The caller when authentication is off (local experiments, loopback only): every app, every user, every scope.
ANYONE = Principal(app_id=None, user_id=None, scopes=frozenset(Scope), credential="auth-off")


class Verifier(Protocol):
    async def verify(self, credential: str) -> Principal | None:
        """A principal, ``None`` when the credential is not of this verifier's kind; ``Unauthorized`` if bad."""
        ...


def bearer_credential(header: str | None) -> str:
    if not header:
        raise Unauthorized("no credential: send 'Authorization: Bearer <API key or JWT>'")
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key or JWT>'")
    return credential.strip()


class BearerAuthentication(AbstractAuthenticationMiddleware):
    verifiers: Sequence[Verifier] = ()

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        credential = bearer_credential(connection.headers.get("authorization"))
        for verifier in self.verifiers:
            principal = await verifier.verify(credential)
            if principal is not None:
                return AuthenticationResult(user=principal, auth=credential)
        raise Unauthorized("the credential is neither a valid API key nor a valid JWT")


class AnyoneAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        return AuthenticationResult(user=ANYONE, auth=None)


class ExposedWithoutAuthentication(RuntimeError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


def refuse_exposure_without_authentication(settings: Settings) -> None:
    """With authentication off anyone who can connect is every app's admin: only this machine may connect."""
    if not settings.auth_enabled and not is_loopback(settings.api_host):
        raise ExposedWithoutAuthentication(
            f"authentication is off (MEMSTREAM_AUTH_ENABLED=false), so the API may listen on a loopback address"
            f" only, and MEMSTREAM_API_HOST={settings.api_host!r} is not one: listen on 127.0.0.1, or turn"
            " authentication on"
        )


def authentication(settings: Settings, verifiers: Sequence[Verifier], docs_public: bool) -> DefineMiddleware:
    exclude = PUBLIC_PATHS + DASHBOARD_PATHS + (DOCS_PATHS if docs_public else [])
    if not settings.auth_enabled:
        return DefineMiddleware(AnyoneAuthentication, exclude=exclude)
    middleware = type("Authentication", (BearerAuthentication,), {"verifiers": tuple(verifiers)})
    return DefineMiddleware(middleware, exclude=exclude)
