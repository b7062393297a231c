"""CORS is closed unless origins are configured, and the docs pages load nothing from another host.

Real API processes (the API alone is enough: no write reaches the pipeline here) on isolated settings, with
authentication on.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from memory.settings import Settings
from memstream_cli.processes import System, start_system
from tests.e2e.conftest import free_port
from tests.support import isolated_settings, unique

SECRET = "cors-and-docs-test-secret-0123456789"
ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"
PAGES = ("/schema", "/schema/swagger", "/schema/redoc")
# Every URL a page names: <script src>, <link href>, and any absolute or protocol-relative URL anywhere in it.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ABSOLUTE = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")


def bearer(app_id: str, user_id: str) -> dict[str, str]:
    claims = {"sub": user_id, "app_id": app_id, "scope": "memories:read memories:write", "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@contextlib.contextmanager
def api_alone(stack_settings: Settings, logs: Path, **overrides: Any) -> Iterator[httpx.Client]:
    settings = replace(
        isolated_settings(stack_settings), api_port=free_port(), auth_enabled=True, jwt_hs256_secret=SECRET, **overrides
    )
    api: System = start_system(settings, logs, components=("api",))
    try:
        api.wait_ready()
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            yield client
    finally:
        api.stop()


@pytest.fixture(scope="module")
def open_to_one(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with api_alone(stack_settings, tmp_path_factory.mktemp("logs"), cors_origins=ALLOWED) as client:
        yield client


@pytest.fixture(scope="module")
def closed(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with api_alone(stack_settings, tmp_path_factory.mktemp("logs"), docs_public=False) as client:
        yield client


def preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/v1/memories/search",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


def test_a_preflight_from_the_configured_origin_is_granted(open_to_one: httpx.Client) -> None:
    granted = preflight(open_to_one, ALLOWED)
    assert granted.status_code == 204, granted.text
    assert granted.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in granted.headers["Access-Control-Allow-Methods"]
    allowed_headers = granted.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "idempotency-key" in allowed_headers  # a page may make its writes safe to retry
    assert "Access-Control-Allow-Credentials" not in granted.headers


def test_a_preflight_from_another_origin_is_not_granted(open_to_one: httpx.Client, closed: httpx.Client) -> None:
    for api, origin in ((open_to_one, OTHER), (closed, ALLOWED)):  # an origin not named; none named at all
        refused = preflight(api, origin)
        assert "Access-Control-Allow-Origin" not in refused.headers, (origin, refused.headers)
        assert "Access-Control-Allow-Headers" not in refused.headers


def test_answers_name_the_configured_origin_only(open_to_one: httpx.Client) -> None:
    app, user = unique("app-"), unique("cora-")
    body = {"app_id": app, "user_id": user, "text": "I keep bees on the roof."}  # only produced: no worker here

    def write(origin: str) -> httpx.Response:
        return open_to_one.post("/v1/memories", json=body, headers={**bearer(app, user), "Origin": origin})

    mine = write(ALLOWED)
    assert mine.status_code == 202, mine.text
    assert mine.headers["Access-Control-Allow-Origin"] == ALLOWED
    exposed = mine.headers["Access-Control-Expose-Headers"].lower()
    assert "ratelimit-remaining" in exposed and "idempotent-replayed" in exposed  # readable by the page
    assert "Access-Control-Allow-Origin" not in write(OTHER).headers


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_loads_everything_from_the_api_itself(open_to_one: httpx.Client, page: str) -> None:
    answer = open_to_one.get(page)  # public by default: no credential
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html"), answer.text
    html = answer.text
    assert ABSOLUTE.findall(html) == []  # no other host, not even protocol-relative
    references = REFERENCE.findall(html)
    assert any(r.endswith(".js") for r in references), references
    for reference in references:
        assert reference.startswith("/schema/assets/"), reference
        asset = open_to_one.get(reference)
        assert asset.status_code == 200, (reference, asset.status_code)
        assert len(asset.content) > 0
    scripts = [r for r in references if r.endswith(".js")]
    assert all(open_to_one.get(s).headers["content-type"].startswith("text/javascript") for s in scripts)


def test_private_docs_need_a_credential(closed: httpx.Client) -> None:
    app, user = unique("app-"), unique("dora-")
    assert closed.get("/schema").status_code == 401
    assert closed.get("/schema/openapi.json").status_code == 401
    assert closed.get("/schema/openapi.json", headers=bearer(app, user)).status_code == 200
    assert closed.get("/health").status_code == 200
