"""Every failure is an exception carrying the HTTP status and the API's own message.

The API answers every refusal with ``{"status_code": ..., "detail": "...", "extra": [...]}`` (``extra`` lists what
failed when a parameter or body did not decode). ``message`` is ``detail`` exactly as the API wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MemstreamError(Exception):
    """The base of every error this client raises."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConnectionFailed(MemstreamError):
    """No answer from the API (connection refused or reset, a timeout), after the retries allowed."""


class APIError(MemstreamError):
    """The API answered with an error status."""

    def __init__(
        self,
        status_code: int,
        message: str,
        extra: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.extra = extra
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class ClientError(APIError):
    """A 4xx: the request is refused as it is; sending it again unchanged will not help (429 aside)."""


class InvalidRequest(ClientError):
    """400, 413, 415 or 422: the message names the field and the problem."""


class AuthenticationError(ClientError):
    """401: no credential, or one that does not verify (the message says which)."""


class PermissionDenied(ClientError):
    """403: the credential is valid but does not allow this (another app, another user, a missing scope)."""


class NotFound(ClientError):
    """404: no such memory, block or tool for this user."""


class Conflict(ClientError):
    """409: e.g. a block that already exists, text to replace that is not in the block."""


class RateLimited(ClientError):
    """429, once the retries allowed are spent: ``retry_after`` is the seconds the API asked to wait."""

    def __init__(
        self,
        status_code: int,
        message: str,
        extra: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(status_code, message, extra, headers)
        self.retry_after = retry_after


class ServerError(APIError):
    """A 5xx. ``retry_after`` is set when the API said when to try again (503: a store unavailable, or a write
    behind a consistency token not applied in time)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        extra: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(status_code, message, extra, headers)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[ClientError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
}


def error_for(
    status_code: int, body: object, text: str, headers: Mapping[str, str], retry_after: float | None
) -> APIError:
    """The exception for an error answer; ``body`` is the decoded JSON (or None), ``text`` the raw body."""
    message = text.strip()[:500] or f"HTTP {status_code}"
    extra: list[dict[str, Any]] | None = None
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            message = detail
        if isinstance(body.get("extra"), list):
            extra = body["extra"]
    if status_code == 429:
        return RateLimited(status_code, message, extra, headers, retry_after)
    if status_code >= 500:
        return ServerError(status_code, message, extra, headers, retry_after)
    if 400 <= status_code < 500:
        return _BY_STATUS.get(status_code, ClientError)(status_code, message, extra, headers)
    return APIError(status_code, message, extra, headers)


def model_can_correct(error: MemstreamError) -> bool:
    """Whether a tool call's failure is the model's to fix (bad arguments, a label or text that is not there):
    the dispatcher hands those back as text. A credential that is refused, a rate limit or an outage is the
    application's problem, not the model's, and is raised."""
    return isinstance(error, ClientError) and not isinstance(
        error, AuthenticationError | PermissionDenied | RateLimited
    )
