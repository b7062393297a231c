"""``/v1/admin/keys``: an app's admins create, list and revoke the app's API keys.

Who may: a credential with the ``admin`` scope that is not bound to a user. A user-bound admin key (and a JWT,
which always names a user) may not manage keys: it could mint an app-wide key and so escape its own user.
What: the keys of the caller's own app only. Another app's key prefix is answered 404, exactly like a prefix
that does not exist, so an admin learns nothing about other apps. With authentication off (loopback only) the
caller is every app's admin.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.errors import Forbidden, NotFound
from api.gateway.credentials import Credentials
from api.gateway.key_format import PREFIX_PATTERN
from api.gateway.key_schemas import CreatedKey, CreateKeyRequest, KeyList, KeyOut, created_key, key_out
from api.gateway.key_store import create_key, list_keys, revoke_key, scopes_named
from api.gateway.principal import Principal, Scope
from api.openapi import error_responses
from api.refusals import answered_as_http
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS

DEFAULT_APP = "default"
Prefix = Annotated[str, PathParameter(pattern=PREFIX_PATTERN, description="the key's public prefix")]
AppId = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="default: the caller's app (no other)"
    ),
]


def managed_app(principal: Principal, named: str | None) -> str | None:
    """The app whose keys the caller manages (``None``: every app, authentication being off)."""
    if Scope.ADMIN not in principal.scopes:
        raise Forbidden("managing API keys needs the 'admin' scope")
    if principal.user_id is not None:
        raise Forbidden("a credential bound to a user may not manage API keys; use an app-wide admin key")
    if principal.app_id is None:
        return named
    if named is not None and named != principal.app_id:
        raise Forbidden(f"this credential manages the keys of app {principal.app_id!r} only")
    return principal.app_id


class KeysController(Controller):
    path = "/v1/admin/keys"
    tags = ["admin"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post(
        "/",
        status_code=201,
        summary="Create an API key of the caller's app; the key is in this answer only",
        responses=error_responses(400, 403, 413, 415, 429, 503),
    )
    async def create(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[CreateKeyRequest],
        credentials: NamedDependency[Credentials],
    ) -> CreatedKey:
        app_id = managed_app(request.user, data.app_id) or DEFAULT_APP
        expires_at = datetime.now(UTC) + timedelta(seconds=data.expires_in_seconds) if data.expires_in_seconds else None

        def create() -> CreatedKey:
            with answered_as_http(), psycopg.connect(credentials.dsn) as conn:
                issued = create_key(
                    conn,
                    credentials.pepper,
                    app_id,
                    user_id=data.user_id,
                    scopes=scopes_named(data.scopes),
                    name=data.name,
                    description=data.description,
                    expires_at=expires_at,
                    rate_limit=data.rate_limit_per_minute,
                )
            return created_key(issued.record, issued.key)

        return await asyncio.to_thread(create)

    @get(
        "/",
        summary="The API keys of the caller's app, revoked ones included",
        responses=error_responses(400, 403, 429, 503),
    )
    async def list_keys(
        self, request: Request[Principal, Any, Any], credentials: NamedDependency[Credentials], app_id: AppId = None
    ) -> KeyList:
        app = managed_app(request.user, app_id)

        def read() -> KeyList:
            with psycopg.connect(credentials.dsn) as conn:
                return KeyList(keys=[key_out(record) for record in list_keys(conn, app)])

        return await asyncio.to_thread(read)

    @delete(
        "/{prefix:str}",
        status_code=200,
        summary="Revoke an API key: every API process refuses it within a second",
        responses=error_responses(400, 403, 404, 413, 415, 429, 503),
    )
    async def revoke(
        self, request: Request[Principal, Any, Any], prefix: Prefix, credentials: NamedDependency[Credentials]
    ) -> KeyOut:
        app = managed_app(request.user, None)

        def revoke() -> KeyOut:
            with psycopg.connect(credentials.dsn) as conn:
                record = revoke_key(conn, prefix, app)
            if record is None:
                raise NotFound(f"no API key with prefix {prefix}")
            return key_out(record)

        return await asyncio.to_thread(revoke)
