"""What both clients read from their arguments or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from memstream_client.version import __version__

# Where `memstream run` serves the API (memory/settings.py: api_host, api_port).
DEFAULT_BASE_URL = "http://127.0.0.1:18080"
DEFAULT_TIMEOUT_SECONDS = 30.0  # above the API's wait for a consistency token (10 s by default)


def base_url_from(base_url: str | None) -> str:
    return (base_url or os.environ.get("MEMSTREAM_URL") or DEFAULT_BASE_URL).rstrip("/")


def default_headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    """``api_key`` or ``MEMSTREAM_API_KEY`` as the bearer credential; none at all for an API run without
    authentication (on loopback only)."""
    key = api_key if api_key is not None else os.environ.get("MEMSTREAM_API_KEY")
    headers = {"Accept": "application/json", "User-Agent": f"memstream-client-python/{__version__}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return {**headers, **(extra or {})}
