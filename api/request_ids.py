"""Every request gets an id: the caller's ``X-Request-Id`` when it is a sane one (a balancer or the client already
named the request), else a new one. It is answered in ``X-Request-Id``, held in ``adapters.logs.REQUEST_ID`` while
the request runs (so every log line of the request names it, and the events it produces carry it as their
``correlation_id``), and the request ends with one log line: method, route, status and time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.logs import REQUEST_ID

log = logging.getLogger(__name__)
HEADER = "x-request-id"
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


class RequestIds(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_from(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        except Exception as exc:  # answered by the app's exception handlers, outside: their status is the error's
            code = getattr(exc, "status_code", 500)
            status = code if isinstance(code, int) else 500
            raise
        finally:
            log.info(
                "%s %s %d", scope.get("method", ""), scope.get("path_template") or "unmatched", status,
                extra={
                    "method": scope.get("method", ""),
                    "route": scope.get("path_template") or "unmatched",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)
