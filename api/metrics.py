"""The API's Prometheus metrics: ``GET /metrics`` (this process's registry, ``adapters/metrics.py``) and the
middleware that times every routed request by route template, method and status.

``/metrics`` is public like ``/health``: a scraper carries no credential, and nothing in it names a tenant (the
labels are route templates, never paths with ids in them).
"""

from __future__ import annotations

import time

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.metrics import HTTP_REQUEST_SECONDS

METRICS_PATH = "/metrics"


@get(METRICS_PATH, include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestTimer(ASGIMiddleware):
    """Times each request from its arrival to the end of its answer (the outermost middleware, so refusals by
    authentication and the rate limiter are timed with their status too)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500  # an exception that escapes without an answer becomes the framework's 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await next_app(scope, receive, send_noting_status)
        except Exception as exc:
            # Answered by the app's exception handlers, outside this middleware: Litestar's HTTP exceptions and the
            # API's own errors (api/errors.py) carry their status; anything else is answered 500.
            code = getattr(exc, "status_code", 500)
            status = code if isinstance(code, int) else 500
            raise
        finally:
            # The router has matched the route before any middleware runs: its template bounds the label's values.
            route = str(scope.get("path_template") or "unmatched")
            HTTP_REQUEST_SECONDS.labels(route, scope.get("method", ""), str(status)).observe(
                time.perf_counter() - started
            )
