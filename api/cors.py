"""CORS: closed unless the settings name the origins whose pages may call the API.

With no ``cors_origins`` the API sends no CORS header at all, so a browser lets no page of another origin
read an answer or send the ``Authorization`` header (a preflight gets no ``Access-Control-Allow-Origin``).
The origins named get exactly what a client of this API needs: the methods it serves, the ``Authorization``,
``Content-Type`` and ``Idempotency-Key`` request headers, and the rate-limit and ``Idempotent-Replayed``
headers readable from scripts. No cookies are
involved (credentials are bearer tokens), so ``Access-Control-Allow-Credentials`` is never sent.
"""

from __future__ import annotations

import re

from litestar.config.cors import CORSConfig

SETTING = "MEMSTREAM_CORS_ORIGINS"
# What a browser sends in ``Origin``: scheme, host, optional port; no path, no trailing slash.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\*$")
EXPOSED = [
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "WWW-Authenticate",
    "Idempotent-Replayed",
]


class CorsSettingError(ValueError):
    """An origin a browser would never send; the API refuses to start with it rather than never match it."""


def parse_origins(raw: str) -> list[str]:
    origins = [origin.strip() for origin in raw.split(",") if origin.strip()]
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise CorsSettingError(
                f"{SETTING}: {origin!r} is not an origin like 'https://app.example.com' or 'http://localhost:3000'"
                " (scheme and host, an optional port, no path or trailing slash)"
            )
    return origins


def cors_config(raw_origins: str) -> CORSConfig | None:
    origins = parse_origins(raw_origins)
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],  # a retry-safe write from a page
        allow_credentials=False,
        expose_headers=EXPOSED,
    )
