"""The ``Idempotency-Key`` header, honoured on every route whose handler has ``opt={"idempotent": True}``.

Placed after authentication and the rate limiter (api/app.py): the key belongs to the verified caller
(``Principal.rate_key``, so two tenants' keys never meet), and a request refused for its rate is neither run
nor remembered. For a request that carries a key it:

1. checks the key (1..255 visible ASCII characters; anything else is a 400 naming the rule);
2. reads the body (the route reads it again, unchanged) and fingerprints method, path, query and body;
3. reserves the key in PostgreSQL (api.idempotency.store): a different request under the key is a 422, a
   request whose first attempt is still running a 409 with ``Retry-After``, a repeated request gets the first
   answer again (same status and body) with ``Idempotent-Replayed: true``, and the route does not run;
4. otherwise runs the route and stores its answer before the last byte of it leaves, so a retry that follows
   the answer always finds it. 5xx and 429 answers are not stored: the reservation is released and a retry
   runs the route again (the failure may not be the request's fault).

A request without the header is not touched. Requests with it on other routes are not either: the header
means something only where the route promises it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from api.errors import Conflict, InvalidRequest, Unprocessable
from api.gateway.principal import Principal
from api.idempotency.store import IdempotencyStore, InFlight, Mismatch, Replay, Reserved, fingerprint

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255
# Visible ASCII: no spaces, no control characters, nothing a proxy could rewrite.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(rb"[\x21-\x7e]{1,255}")
# Answers larger than this are not remembered (the reservation is released); no idempotent route answers so much.
MAX_STORED_ANSWER_BYTES = 1024 * 1024
# Not kept: the route sends them anew on every answer, and a replay is its own answer.
UNSTORED_HEADERS = frozenset({"date", "server"})


def idempotent(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get("idempotent"))


def key_of(scope: Scope) -> str | None:
    """The request's key, ``None`` without the header; ``InvalidRequest`` when it breaks the rule."""
    values = [value for name, value in scope.get("headers", []) if name.lower() == b"idempotency-key"]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(f"send one {HEADER} header, not {len(values)}")
    if not _KEY.fullmatch(values[0]):
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_CHARS} visible ASCII characters (no spaces), such as a UUID;"
            f" got {len(values[0])} bytes that are not"
        )
    return values[0].decode("ascii")


def storable(status_code: int) -> bool:
    """5xx: our failure, and 429: the caller's rate; neither is the request's answer, so a retry runs again."""
    return status_code < 500 and status_code != 429


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, store: IdempotencyStore, max_body_bytes: int) -> None:
        self._store = store
        # A body past the app's own limit is refused by the route (413) without the key being reserved.
        self._max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not idempotent(scope):
            await next_app(scope, receive, send)
            return
        key = key_of(scope)
        principal = scope.get("user")
        if key is None or not isinstance(principal, Principal):  # no principal: the route's ``caller`` answers 401
            await next_app(scope, receive, send)
            return
        received, body = await read_body(receive, self._max_body_bytes)
        replay_receive = replaying(received, receive)
        if body is None:  # too large: the route refuses it (413); nothing to reserve
            await next_app(scope, replay_receive, send)
            return
        owner = principal.rate_key
        request = fingerprint(str(scope.get("method", "")), scope["path"], bytes(scope.get("query_string", b"")), body)
        outcome = await self._store.reserve(owner, key, request)
        if isinstance(outcome, Mismatch):
            raise Unprocessable(
                f"{HEADER} {key!r} was already used for a different request (method, path, query or body differ);"
                " use a new key for a new request"
            )
        if isinstance(outcome, InFlight):
            raise Conflict(
                f"a request with {HEADER} {key!r} is still being processed; retry after {outcome.retry_after} s",
                retry_after=outcome.retry_after,
            )
        if isinstance(outcome, Replay):
            await send_replay(outcome, send)
            return
        await self._run(scope, replay_receive, send, next_app, owner, key, outcome)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, owner: str, key: str, held: Reserved
    ) -> None:
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        size = 0
        settled = False

        async def settle(status_code: int, headers: list[tuple[str, str]], body: bytes | None) -> None:
            nonlocal settled
            settled = True
            try:
                if body is None or not storable(status_code):
                    await self._store.release(owner, key, held.attempt)
                elif not await self._store.complete(owner, key, held.attempt, status_code, headers, body):
                    log.warning("idempotency key %r of %s: the reservation was taken over; answer not kept", key, owner)
            except Exception:
                # The answer still goes out. The reservation stays in flight until its lease lapses (then a retry
                # runs again): never released after the route acted, which could run it twice at once.
                log.exception("idempotency key %r of %s: the outcome could not be recorded", key, owner)

        async def capture(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                start = dict(message)
            elif message["type"] == "http.response.body" and start is not None and not settled:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED_ANSWER_BYTES:  # past it nothing is kept, so nothing more is held either
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    whole = b"".join(chunks) if size <= MAX_STORED_ANSWER_BYTES else None
                    await settle(start["status"], response_headers(start), whole)
            await send(message)

        try:
            await next_app(scope, receive, capture)
        finally:
            if not settled:
                # No complete answer went out (an error escaped the route's own handlers, or the client left):
                # whatever happened, a retry must be able to run.
                await asyncio.shield(self._store.release(owner, key, held.attempt))


def response_headers(start: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in start.get("headers", [])
        if name.decode("latin-1").lower() not in UNSTORED_HEADERS
    ]


async def read_body(receive: Receive, max_bytes: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """Every message read and the body; ``None`` as the body when it exceeds the app's limit."""
    received: list[ReceiveMessage] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return received, None  # the client left: the route sees the disconnect
        size += len(message["body"])
        if size > max_bytes:
            return received, None
        if not message.get("more_body", False):
            return received, b"".join(m["body"] for m in received if m["type"] == "http.request")


def replaying(received: list[ReceiveMessage], receive: Receive) -> Receive:
    """A ``receive`` that hands out the messages already read, then the connection's own."""
    pending = list(received)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def send_replay(answer: Replay, send: Send) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
