"""The public keys of the identity provider, from a JWKS document (a file or an URL), read on first use and cached.

Nothing is read when the app is built: the first JWT that needs a key reads the document. It is kept for
``settings.jwt_jwks_cache_seconds`` and read again after; a token naming a ``kid`` the cached document does not
have makes one early re-read (the provider rotated its keys), at most once per ``MIN_REFRESH_SECONDS`` so that
tokens with made-up ``kid``s cannot make this API hammer the provider. Concurrent requests share one read.

When the document cannot be read, the keys read before keep serving (a provider's hiccup does not lock every
user out); with none read yet the answer is ``503`` with ``Retry-After``: the token may well be valid, the
failure is ours, and a client must not throw its token away as it would on a 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from api.errors import Unauthorized, Unavailable

log = logging.getLogger(__name__)

MIN_REFRESH_SECONDS = 10.0
FAILED_RETRY_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 5.0
# Public-key algorithms only: an HMAC "key" in a JWKS would be a shared secret published to the world.
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class JwksError(Exception):
    """The document could not be read or holds no usable key (the reason is logged, not shown to callers)."""


class JwksSource(Protocol):
    name: str

    async def read(self) -> dict[str, Any]: ...


class JwksFile:
    def __init__(self, path: str) -> None:
        self.name = path
        self._path = Path(path)

    async def read(self) -> dict[str, Any]:
        try:
            text = await asyncio.to_thread(self._path.read_text)
            document: dict[str, Any] = json.loads(text)
        except (OSError, ValueError) as exc:
            raise JwksError(f"{self._path}: {exc}") from exc
        return document


class JwksUrl:
    def __init__(self, url: str) -> None:
        self.name = url
        self._url = url
        self._client: httpx.AsyncClient | None = None

    async def read(self) -> dict[str, Any]:
        if self._client is None:  # created on first use, inside the server's event loop
            self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
        try:
            response = await self._client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JwksError(f"{self._url}: {exc!r}") from exc
        return document

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def parse_algorithms(setting: str) -> frozenset[str]:
    chosen = frozenset(a.strip() for a in setting.split(",") if a.strip())
    if not chosen or not chosen <= ASYMMETRIC:
        known = ", ".join(sorted(ASYMMETRIC))
        raise ValueError(f"MEMSTREAM_JWT_JWKS_ALGORITHMS={setting!r}: name public-key algorithms from {known}")
    return chosen


class JwksKeys:
    """The key a token's header names: ``kid`` selects it, and its algorithm must be the token's ``alg``."""

    def __init__(self, source: JwksSource, cache_seconds: float) -> None:
        self._source = source
        self._cache_seconds = cache_seconds
        self._keys: jwt.PyJWKSet | None = None
        self._read_at = float("-inf")  # when the keys were last read successfully
        self._tried_at = float("-inf")  # when a read was last attempted
        self._pending: asyncio.Future[None] | None = None

    @property
    def name(self) -> str:
        return self._source.name

    async def key_for(self, kid: object, alg: str) -> jwt.PyJWK:
        if self._due():
            await self._refresh()
        if self._keys is None:
            raise Unavailable("the identity provider's signing keys could not be read; retry shortly", retry_after=5)
        key = self._find(kid)
        if key is None and time.monotonic() - self._tried_at >= MIN_REFRESH_SECONDS:
            await self._refresh()  # the provider may have rotated its keys
            key = self._find(kid)
        if key is None:
            raise Unauthorized(
                f"the JWT's key id {kid!r} is not among the identity provider's keys"
                if kid is not None
                else "the JWT names no key id ('kid') and the identity provider has several keys"
            )
        if key.algorithm_name != alg:
            raise Unauthorized(f"the JWT says {alg} but its key {kid!r} is for {key.algorithm_name}")
        return key

    def _due(self) -> bool:
        """Whether to read the document now: it is older than the cache time, and the last attempt is not too
        recent (a failing provider is asked again after a second while no key is known, after
        ``MIN_REFRESH_SECONDS`` while old keys serve)."""
        now = time.monotonic()
        pause = FAILED_RETRY_SECONDS if self._keys is None else MIN_REFRESH_SECONDS
        return now - self._read_at >= self._cache_seconds and now - self._tried_at >= pause

    def _find(self, kid: object) -> jwt.PyJWK | None:
        if self._keys is None:
            return None
        if kid is None:
            return self._keys.keys[0] if len(self._keys.keys) == 1 else None
        return next((k for k in self._keys.keys if k.key_id == kid), None)

    async def _refresh(self) -> None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._read())
            self._pending.add_done_callback(self._forget_pending)
        # A failed read is logged by _read; the keys read before, if any, keep serving.
        with contextlib.suppress(JwksError):
            await asyncio.shield(self._pending)

    def _forget_pending(self, _: object) -> None:
        self._pending = None

    async def _read(self) -> None:
        self._tried_at = time.monotonic()
        try:
            document = await self._source.read()
            keys = jwt.PyJWKSet.from_dict(document)
        except (jwt.PyJWTError, AttributeError, TypeError) as exc:
            log.warning("JWKS %s holds no usable key: %s", self._source.name, exc)
            raise JwksError(str(exc)) from exc
        except JwksError as exc:
            log.warning("JWKS %s could not be read: %s", self._source.name, exc)
            raise
        self._keys = keys
        self._read_at = self._tried_at
