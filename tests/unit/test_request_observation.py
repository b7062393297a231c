"""``api.app.observed``: the request id and the request timer wrap the whole Litestar app, so answers Litestar gives
outside a route's middleware (a middleware's refusal, a path no route matches) carry ``X-Request-Id`` and are timed
with their status, and the timer is absent when metrics are off. A small real Litestar app stands in for the API (the
real one needs the stores; tests/e2e/test_metrics.py and test_request_logs.py check it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from litestar import Litestar, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.params import PathParameter
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import REGISTRY

from api.app import create_app, observed
from memory.settings import Settings

SECONDS = "memstream_http_request_duration_seconds_count"


class Gate(ASGIMiddleware):
    """Refuses like the gateway does: by raising from a middleware, answered by Litestar's exception handler."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = str(scope["path"])
        if path.endswith("/refused"):
            raise NotAuthorizedException("no credential")
        if path.endswith("/forbidden"):
            raise PermissionDeniedException("not yours")
        await next_app(scope, receive, send)


def app(prefix: str, metrics_enabled: bool) -> Litestar:
    @get(f"/{prefix}/{{name:str}}", sync_to_thread=False)
    def hello(name: Annotated[str, PathParameter()]) -> str:
        return name

    litestar = Litestar(route_handlers=[hello], middleware=[Gate()])
    observed(litestar, metrics_enabled)
    return litestar


def timed(route: str, status: int) -> float:
    value = REGISTRY.get_sample_value(SECONDS, {"route": route, "method": "GET", "status": str(status)})
    return value or 0.0


def test_refusals_and_unknown_paths_carry_the_request_id_and_are_timed() -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}"  # a route template no other test times
    template = f"/{prefix}/{{name}}"  # the router's template drops the parameter's type
    before = {status: timed(template, status) for status in (200, 401, 403)}
    unmatched = timed("unmatched", 404)
    with TestClient(app(prefix, metrics_enabled=True)) as client:
        answers = {
            200: client.get(f"/{prefix}/x", headers={"X-Request-Id": "req-ok"}),
            401: client.get(f"/{prefix}/refused", headers={"X-Request-Id": "req-401"}),
            403: client.get(f"/{prefix}/forbidden", headers={"X-Request-Id": "req-403"}),
            404: client.get("/nowhere/at/all", headers={"X-Request-Id": "req-404"}),
        }
    for status, answer in answers.items():
        assert answer.status_code == status
    assert {s: a.headers.get("x-request-id") for s, a in answers.items()} == {
        200: "req-ok", 401: "req-401", 403: "req-403", 404: "req-404"
    }
    for status in (200, 401, 403):
        assert timed(template, status) - before[status] == 1, status
    assert timed("unmatched", 404) - unmatched == 1


def test_with_metrics_off_nothing_is_timed_but_ids_are_still_given() -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}"
    template = f"/{prefix}/{{name}}"  # the router's template drops the parameter's type
    with TestClient(app(prefix, metrics_enabled=False)) as client:
        answer = client.get(f"/{prefix}/refused")
    assert answer.status_code == 401 and answer.headers["x-request-id"]
    assert timed(template, 401) == 0


def test_the_api_has_no_metrics_route_with_metrics_off() -> None:
    def paths(metrics_enabled: bool) -> set[str]:
        return {route.path for route in create_app(replace(Settings(), metrics_enabled=metrics_enabled)).routes}

    assert "/metrics" in paths(True)
    assert "/metrics" not in paths(False)  # GET /metrics is then a 404 like any unknown path
