"""The API's Prometheus metrics: ``GET /metrics`` (this process's registry, ``adapters/metrics.py``) and the
middleware that times every routed request by route template, method and status.

``/metrics`` is public like ``/health``: a scraper carries no credential, and nothing in it names a tenant (the
labels are route templates, never paths with ids in them).
"""

from __future__ import annotations

import time

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.metrics import HTTP_REQUEST_SECONDS

METRICS_PATH = "/metrics"


@get(METRICS_PATH, include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestTimer:
    """Times each request from its arrival to the end of its answer. It wraps the whole app like ``RequestIds``
    (``api.app.observed``), so refusals by authentication and the rate limiter, and requests no route matches, are
    timed with their status too (route ``unmatched`` for the latter: a path never becomes a label)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes even the app's exception handler: the server answers 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # Read after the call: the router has written the matched route's template into the scope by then.
            route = str(scope.get("path_template") or "unmatched")
            HTTP_REQUEST_SECONDS.labels(route, scope.get("method", ""), str(status)).observe(
                time.perf_counter() - started
            )
