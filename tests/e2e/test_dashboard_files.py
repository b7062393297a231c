"""The dashboard's files: public and self-contained; the data behind them stays behind authentication.

A real API process (alone: nothing here reaches the pipeline) on isolated settings, with authentication on. The
browser tests (tests/browser) use the pages; these check what a browser would be sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import jwt
import pytest

from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import start_system
from tests.e2e.conftest import free_port
from tests.support import isolated_settings

pytestmark = pytest.mark.e2e

SECRET = "dashboard-files-test-secret-0123456789"
STATIC = PROJECT_ROOT / "api" / "ui" / "static"
# What a page or module asks the browser to load: src/href attributes, stylesheet links, ES module imports.
REFERENCE = re.compile(
    r"""(?:src|href)\s*=\s*["']([^"'#]+)["']|\bfrom\s+["']([^"']+)["']|\bimport\s+["']([^"']+)["']"""
)
ABSOLUTE = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]""")


@pytest.fixture(scope="module")
def api(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = replace(
        isolated_settings(stack_settings), api_port=free_port(), auth_enabled=True, jwt_hs256_secret=SECRET
    )
    process = start_system(settings, tmp_path_factory.mktemp("logs"), components=("api",))
    try:
        process.wait_ready()
        with httpx.Client(base_url=process.base_url, timeout=30) as client:
            yield client
    finally:
        process.stop()


def token(app_id: str, user_id: str, scope: str) -> dict[str, str]:
    claims = {"sub": user_id, "app_id": app_id, "scope": scope, "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def test_the_page_and_every_file_it_loads_are_served_without_a_credential(api: httpx.Client) -> None:
    seen: set[str] = set()
    waiting = ["/ui/"]
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
        if path.endswith(".png"):
            continue
        for match in REFERENCE.finditer(response.text):
            target = next(group for group in match.groups() if group)
            assert target.startswith("/ui/"), f"{path} loads {target!r}: only the dashboard's own files may load"
            waiting.append(target)
    # Every file in the package is reached from the page: no dead file, and none the crawl above missed.
    shipped = {f"/ui/{file.relative_to(STATIC).as_posix()}" for file in STATIC.rglob("*") if file.is_file()}
    assert seen - {"/ui/"} == shipped - {"/ui/index.html"}


def test_no_file_names_another_host() -> None:
    for file in STATIC.rglob("*"):
        if file.is_file():
            # The SVG namespace is a name, not a request.
            text = file.read_text().replace('"http://www.w3.org/2000/svg"', "")
            found = ABSOLUTE.findall(text)
            assert not found, f"{file.name} names {found}: the dashboard loads nothing from the network"


def test_every_dashboard_file_carries_a_content_security_policy_of_self_only(api: httpx.Client) -> None:
    for path in ["/ui/", *(f"/ui/{f.relative_to(STATIC).as_posix()}" for f in STATIC.rglob("*") if f.is_file())]:
        response = api.get(path)
        assert response.status_code == 200, path
        directives = response.headers["content-security-policy"].split("; ")
        policy = dict(directive.split(" ", 1) for directive in directives)
        assert policy["default-src"] == "'none'", (path, policy)  # what is not named is refused
        assert policy["script-src"] == "'self'", (path, policy)  # no inline script, no eval, no other origin
        sources = " ".join(policy.values())
        assert "unsafe" not in sources and "http" not in sources and "*" not in sources, (path, policy)
        assert set(sources.split()) <= {"'self'", "'none'"}, (path, policy)
        assert response.headers["x-content-type-options"] == "nosniff"


def test_no_page_has_an_inline_script_or_style() -> None:
    page = (STATIC / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/ui/app.js">'], page
    assert "<style" not in page and "style=" not in page, "an inline style: the policy refuses it"
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler: the policy refuses it"


def test_an_unknown_dashboard_file_is_404(api: httpx.Client) -> None:
    assert api.get("/ui/no-such-page.js").status_code == 404


def test_the_data_stays_behind_authentication(api: httpx.Client) -> None:
    assert api.get("/v1/whoami").status_code == 401
    assert api.get("/v1/memories", params={"user_id": "alice"}).status_code == 401
    assert api.get("/v1/whoami", headers={"Authorization": "Bearer not-a-credential"}).status_code == 401


def test_whoami_answers_the_credentials_app_user_and_scopes(api: httpx.Client) -> None:
    reader = api.get("/v1/whoami", headers=token("app-one", "alice", "memories:read"))
    assert reader.status_code == 200, reader.text
    body = reader.json()
    assert (body["app_id"], body["user_id"], body["scopes"]) == ("app-one", "alice", ["memories:read"])
    assert SECRET not in reader.text and "eyJ" not in reader.text  # names the credential, never repeats it
    admin = api.get("/v1/whoami", headers=token("app-one", "alice", "admin")).json()
    assert admin["scopes"] == ["admin", "memories:read", "memories:write"]  # admin implies reading and writing
