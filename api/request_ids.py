"""Every request gets an id: the caller's ``X-Request-Id`` when it is a sane one (a balancer or the client already
named the request), else a new one. It is answered in ``X-Request-Id``, held in ``adapters.logs.REQUEST_ID`` while
the request runs (so every log line of the request names it, and the events it produces carry it as their
``correlation_id``), and the request ends with one log line: method, route, status and time.

A process launched as one of several API instances (``Settings.process_instance``, e.g. "api-2") also names
itself in ``X-Memstream-Instance``, so a client behind the local balancer can tell which process answered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.logs import REQUEST_ID

log = logging.getLogger(__name__)
HEADER = "x-request-id"
INSTANCE_HEADER = "x-memstream-instance"
# What a caller's id may be: it ends up in logs and events, so nothing that could forge a log line or be huge.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == HEADER:
            offered = value.decode("latin-1")
            if _SANE.fullmatch(offered):
                return offered
            break
    return str(uuid.uuid4())


# What else hears of each answered request: route template (or "unmatched"), method, status, seconds.
Observer = Callable[[str, str, int, float], None]


class RequestIds:
    """Wraps the whole app (``api.app.observed``), outside Litestar's routing and its outermost exception handler:
    refusals raised by a middleware (401, 403, 429) and requests no route matches (404) are answered by that handler,
    so only from out here does every answer carry ``X-Request-Id``, get its log line and reach ``observer`` (the
    request timer of ``api/metrics.py`` when metrics are on)."""

    def __init__(self, app: ASGIApp, observer: Observer | None = None, instance: str = "") -> None:
        self.app = app
        self.observer = observer
        self.named = [(INSTANCE_HEADER.encode(), instance.encode())] if instance else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # an exception that escapes even the app's exception handler: the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (HEADER.encode(), request_id.encode()), *self.named]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            # The router writes the matched route's template into the scope; a request no route matched has none.
            route, method = str(scope.get("path_template") or "unmatched"), str(scope.get("method", ""))
            log.info(
                "%s %s %d", method, route, status,
                extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 2)},
            )
            if self.observer is not None:
                self.observer(route, method, status, seconds)
            REQUEST_ID.reset(token)
