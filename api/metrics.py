"""The API's Prometheus metrics: ``GET /metrics`` (this process's registry, ``adapters/metrics.py``) and the
timing of every request by route template, method and status (``time_request``).

``/metrics`` is public like ``/health``: a scraper carries no credential, and nothing in it names a tenant (the
labels are route templates, never paths with ids in them).
"""

from __future__ import annotations

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.metrics import HTTP_REQUEST_SECONDS

METRICS_PATH = "/metrics"


@get(METRICS_PATH, include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def time_request(route: str, method: str, status: int, seconds: float) -> None:
    """Record one answered request (called by ``api.request_ids.RequestIds``, which wraps the whole app, so refusals
    by authentication and the rate limiter, and requests no route matches, are timed with their status too: route
    ``unmatched`` for the latter, a path never becomes a label)."""
    HTTP_REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)
