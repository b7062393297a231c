"""``/ui``: the dashboard's files, and ``/v1/whoami``, which its sign-in asks first.

The files are public (like ``/health``): a browser fetches a page and its scripts before anyone has typed a key,
and they hold no data. Every datum the pages show comes from the JSON API, which the page calls with the API key
the user signed in with (``Authorization: Bearer``), so what the dashboard shows is exactly what the key may read.
The files ship inside the package (``api/ui/static``) and load nothing from the network: no CDN, no fonts.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.static_files import create_static_files_router

from api.gateway.principal import Principal, implied
from api.openapi import error_responses

UI_PATH = "/ui"
STATIC_DIRECTORY = Path(__file__).parent / "static"
# What a dashboard page may load or call: its own files and its own API, nothing else. No inline script or
# style (the pages build their DOM with textContent, never HTML), no plugin, no frame, no other origin, so a
# memory's text that carried markup could neither run nor send data anywhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class WhoAmI(msgspec.Struct):
    """The caller as its credential says: the dashboard shows the app, asks for a user when the key is
    app-wide (``user_id`` null), and hides what the scopes do not allow."""

    app_id: str | None
    user_id: str | None
    scopes: list[str]
    credential: str


# No parameter and no body, so no 400; 503 when the key store cannot be asked to verify an API key.
@get(
    "/v1/whoami",
    tags=["ops"],
    summary="The verified caller: its app, user and scopes",
    responses=error_responses(429, 503),
)
async def whoami(caller: NamedDependency[Principal]) -> WhoAmI:
    scopes = sorted(scope.value for scope in implied(caller.scopes))
    return WhoAmI(app_id=caller.app_id, user_id=caller.user_id, scopes=scopes, credential=caller.credential)


async def secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def ui_router() -> Router:
    # no-cache: the browser revalidates, so a new release's files are picked up at once (they are small).
    return create_static_files_router(
        path=UI_PATH,
        directories=[STATIC_DIRECTORY],
        html_mode=True,  # /ui/ answers index.html
        name="ui",
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
        after_request=secured,
    )
