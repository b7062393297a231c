"""Domain errors of the API and the one place that maps them (and anything unexpected) to HTTP."""

from __future__ import annotations

import logging

import psycopg
from confluent_kafka import KafkaException
from litestar import Request, Response
from litestar.exceptions import HTTPException
from psycopg_pool import PoolTimeout
from pymilvus.exceptions import MilvusException

from api.consistency import NotCaughtUp
from memory.contract.positions import InvalidTokenError

log = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 500

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    """No credential, or one that does not verify: the caller is not identified."""

    status_code = 401


class Forbidden(ApiError):
    """The caller is identified but its credential does not allow this (scope, app or user)."""

    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    """The request cannot run now, or cannot run on what is stored; ``retry_after`` when a retry will do."""

    status_code = 409

    def __init__(self, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class PayloadTooLarge(ApiError):
    status_code = 413


class Unprocessable(ApiError):
    """Well-formed, but it cannot be done as asked (an idempotency key reused for another request, a tool's
    arguments that do not fit the tool)."""

    status_code = 422


class Unavailable(ApiError):
    status_code = 503

    def __init__(self, detail: str, retry_after: int = 2):
        super().__init__(detail)
        self.retry_after = retry_after


def api_error_handler(_: Request, exc: ApiError) -> Response[dict[str, object]]:
    headers: dict[str, str] | None = None
    if isinstance(exc, Unauthorized):
        # RFC 6750: a 401 names the scheme the caller must use.
        headers = {"WWW-Authenticate": 'Bearer realm="memstream"'}
    elif isinstance(exc, Unavailable | Conflict) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    return Response(
        {"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code, headers=headers
    )


def http_error_handler(_: Request, exc: HTTPException) -> Response[dict[str, object]]:
    body: dict[str, object] = {"status_code": exc.status_code, "detail": exc.detail}
    if getattr(exc, "extra", None):
        body["extra"] = exc.extra
    # Litestar puts what the status needs on the exception: ``Allow`` on a 405 (RFC 9110 requires it).
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def unexpected_error_handler(_: Request, exc: Exception) -> Response[dict[str, object]]:
    # Driver exceptions never reach a caller: log the details, answer with a plain 500.
    log.exception("unhandled error", exc_info=exc)
    return Response({"status_code": 500, "detail": "internal error"}, status_code=500)


def store_unavailable_handler(_: Request, exc: Exception) -> Response[dict[str, object]]:
    # An outage, not the caller's fault: say so and when to retry; the driver's message stays in our logs.
    log.warning("store unavailable: %r", exc)
    return Response(
        {"status_code": 503, "detail": "a backing store is unavailable; retry shortly"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


def not_caught_up_handler(_: Request, exc: Exception) -> Response[dict[str, object]]:
    return Response(
        {"status_code": 503, "detail": f"{exc}; retry later or without the consistency token"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def bad_token_handler(_: Request, exc: Exception) -> Response[dict[str, object]]:
    return Response({"status_code": 400, "detail": str(exc)}, status_code=400)


EXCEPTION_HANDLERS = {
    NotCaughtUp: not_caught_up_handler,
    psycopg.OperationalError: store_unavailable_handler,
    PoolTimeout: store_unavailable_handler,
    MilvusException: store_unavailable_handler,
    KafkaException: store_unavailable_handler,
    InvalidTokenError: bad_token_handler,
    ApiError: api_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
