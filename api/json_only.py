"""Write routes take JSON only; anything else is a 415 before the body is read.

Why: a browser sends a cross-site HTML form (``application/x-www-form-urlencoded``, ``multipart/form-data``)
or a ``text/plain`` POST without asking the server first (no CORS preflight). Litestar decodes a JSON body
whatever its declared type, so without this guard any web page a user visits could write or correct their
memories with a body that happens to be JSON. ``application/json`` can only be sent cross-site after a
preflight, which this API grants only to the origins ``MEMSTREAM_CORS_ORIGINS`` names (api/cors.py).

DELETE routes take their ids in the query and no body: a DELETE without a body needs no content type (so
plain ``curl -X DELETE`` keeps working); a DELETE that carries a body must declare it JSON like any write.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException
from litestar.handlers import BaseRouteHandler

JSON = "application/json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnsupportedMediaType(ClientException):
    status_code = 415


def media_type(content_type: str) -> str:
    """``application/json; charset=utf-8`` → ``application/json`` (parameters dropped, case folded)."""
    return content_type.split(";", 1)[0].strip().lower()


def carries_body(connection: ASGIConnection) -> bool:
    length = connection.headers.get("content-length")
    chunked = "transfer-encoding" in connection.headers
    return chunked or (length is not None and length.strip() not in {"", "0"})


def json_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A Litestar guard (``Litestar(guards=[json_only])``); guards run before any parameter or body is parsed."""
    method = connection.scope.get("method", "")
    if method not in WRITE_METHODS:
        return
    content_type = connection.headers.get("content-type")
    if content_type is None:
        if method == "DELETE" and not carries_body(connection):
            return
        raise UnsupportedMediaType(f"{method} needs a JSON body sent with 'Content-Type: {JSON}'")
    if media_type(content_type) != JSON:
        raise UnsupportedMediaType(
            f"Content-Type {media_type(content_type)!r} is not accepted: {method} takes '{JSON}' only"
        )
