"""Whose credential a tool call carries to the API, and the clients that carry it.

On stdio the server has one caller and one credential (``--api-key`` / ``MEMSTREAM_API_KEY``). Over HTTP every
request brings its own ``Authorization: Bearer`` credential: ``ApiCredentialCheck`` lets a request in only if the
API accepts that credential, and each tool call then sends it to the API, which enforces its app, user and scopes.
The MCP server decides nothing about permissions itself, so an MCP caller can do exactly what its key may.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver.exceptions import ToolError

from memstream_client.async_client import AsyncMemstream
from memstream_client.errors import AuthenticationError, ClientError, MemstreamError

log = logging.getLogger("memstream_client.integrations.mcp")

MAX_CLIENTS = 256  # distinct credentials with a client kept; the least recently used is dropped beyond that


def fingerprint(credential: str) -> str:
    """Names a credential in logs and MCP session ownership without revealing it."""
    return "credential-" + hashlib.sha256(credential.encode()).hexdigest()[:16]


class SharedTransport(httpx.AsyncBaseTransport):
    """One connection pool under every credential's client. Closing a client does not close the pool (a client
    dropped from ``Clients`` may still be finishing a call); ``Clients.aclose`` does, at shutdown."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None

    async def close_pool(self) -> None:
        await self.inner.aclose()


class Clients:
    """An ``AsyncMemstream`` per credential, so each caller's writes are followed by its own reads
    (read-your-writes keeps a client's consistency tokens), all over one connection pool."""

    def __init__(self, base_url: str | None, factory: Callable[..., AsyncMemstream] = AsyncMemstream) -> None:
        self._base_url = base_url
        self._factory = factory
        self._transport = SharedTransport()
        self._clients: OrderedDict[str | None, AsyncMemstream] = OrderedDict()

    def for_credential(self, credential: str | None) -> AsyncMemstream:
        client = self._clients.get(credential)
        if client is None:
            # api_key="" (not None) for "no credential": None would fall back to MEMSTREAM_API_KEY.
            client = self._factory(
                api_key=credential or "", base_url=self._base_url, read_your_writes=True, transport=self._transport
            )
            self._clients[credential] = client
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(credential)
        return client

    async def aclose(self) -> None:
        self._clients.clear()
        await self._transport.close_pool()


class CallerCredential:
    """The credential of the caller of the tool call being served."""

    def __init__(self, fixed: str | None, per_request: bool) -> None:
        self._fixed = fixed
        self._per_request = per_request

    def current(self) -> str | None:
        if not self._per_request:
            return self._fixed
        token = get_access_token()  # set by the SDK's auth middleware for this request, carried into the handler
        if token is None:  # the HTTP app refuses such requests before they get here; never fall back to a default
            raise ToolError("this request carries no credential: send Authorization: Bearer <memstream API key>")
        return token.token


class ApiCredentialCheck:
    """The HTTP server's door (the ``mcp`` SDK's ``TokenVerifier``): a bearer credential is let in if the API
    accepts it, asked with its cheapest authenticated read (``GET /v1/tools``). A 403 lets it in too: the
    credential is genuine, only short of a scope, and each tool call gets the API's own refusal naming it. The
    answer is kept ``cache_seconds``; that only spares the API a call per request, since every tool call sends the
    credential to the API again (a revoked key is refused there at once)."""

    def __init__(self, clients: Clients, cache_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = clients
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._verified: OrderedDict[str, float] = OrderedDict()  # fingerprint → when it verified

    async def verify_token(self, token: str) -> AccessToken | None:
        name = fingerprint(token)
        verified_at = self._verified.get(name)
        if verified_at is None or self._clock() - verified_at > self._cache_seconds:
            if not await self._api_accepts(token, name):
                self._verified.pop(name, None)
                return None
            self._verified[name] = self._clock()
            self._verified.move_to_end(name)
            while len(self._verified) > MAX_CLIENTS:
                self._verified.popitem(last=False)
        # client_id is what the SDK binds an HTTP session to: a session opened with one key is not found with another.
        return AccessToken(token=token, client_id=name, scopes=[])

    async def _api_accepts(self, token: str, name: str) -> bool:
        try:
            await self._clients.for_credential(token).tools()
        except AuthenticationError as refused:
            log.info("refused %s: the API answered 401: %s", name, refused.message)
            return False
        except ClientError:
            return True  # 403 (a scope missing), 429: the API knows the credential
        except MemstreamError as failure:  # the API is unreachable or failing: nobody is let in unverified
            log.warning("could not verify %s, refused: %s", name, failure)
            return False
        return True
