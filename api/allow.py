"""``Allow`` on an OPTIONS answer lists every method of the path, not only those of one handler.

Litestar answers OPTIONS itself, with the methods of the route as it was when the path's first handler was
registered: ``OPTIONS /v1/memories`` said ``OPTIONS, POST`` though GET and DELETE are served there too (its
405 answers, built from the routing table, are right). This hook rewrites the header of OPTIONS answers from
the app's final routes, so a client (or a CORS preflight) learns what the path really accepts.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def _allowed(app: Litestar) -> dict[str, bytes]:
    """Each path, as routing names it in ``scope["path_template"]``, and its methods."""
    routes = [route for route in app.routes if isinstance(route, HTTPRoute)]
    return {route.path_format: ", ".join(sorted(route.methods)).encode() for route in routes}


async def allow_every_method(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook."""
    if scope.get("method") != "OPTIONS" or message["type"] != "http.response.start":
        return
    app: Litestar = scope["litestar_app"]
    allowed = _allowed(app).get(scope.get("path_template", ""))
    if allowed is None:
        return
    headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != b"allow"]
    message["headers"] = [*headers, (b"allow", allowed)]
