"""Identity, end to end: API keys and JWTs accepted and refused by the real API processes on the local stack.

The module's system accepts API keys, HS256 JWTs with a shared secret and RS256/ES256 JWTs from a JWKS file,
with the issuer and audience verified; a test's extra API processes (``another_api``) share its stores and key
table: a second process for revocation, one reading its JWKS from an URL, one with authentication off.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.gateway.key_format import prefix_of
from api.gateway.principal import Scope
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import start_system
from tests.e2e.conftest import RunningSystem, free_port, running_system
from tests.support import bearer, issue_key, unique, wait_until

pytestmark = pytest.mark.e2e

ISSUER = "https://idp.example.test"
AUDIENCE = "memstream-tests"
HS256_SECRET = "a-shared-secret-of-the-tests-identity-provider"
REVOCATION_BOUND_SECONDS = 1.0


@dataclass
class IdentityProvider:
    """The test's own identity provider: an RSA and an EC key pair, their public JWKS in a file."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    jwks_path: Path

    @property
    def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.jwks_path.read_text())
        return document

    def token(self, app_id: str, alg: str = "RS256", key: Any = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "sub": "alice",
            "app_id": app_id,
            "scope": "memories:read memories:write",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}  # None: leave the claim out
        signing = (
            key if key is not None else {"RS256": self.rsa_key, "ES256": self.ec_key, "HS256": HS256_SECRET}.get(alg)
        )
        kid = kid or {"RS256": "rsa-1", "ES256": "ec-1"}.get(alg)
        return jwt.encode(body, signing, algorithm=alg, headers={"kid": kid} if kid else None)


def public_jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(private.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> IdentityProvider:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("idp") / "jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk(rsa_key, "rsa-1", "RS256"), public_jwk(ec_key, "ec-1", "ES256")]}))
    return IdentityProvider(rsa_key, ec_key, path)


@pytest.fixture(scope="module")
def system(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory, idp: IdentityProvider
) -> Iterator[RunningSystem]:
    with running_system(
        stack_settings,
        tmp_path_factory.mktemp("logs"),
        jwt_hs256_secret=HS256_SECRET,
        jwt_jwks_file=str(idp.jwks_path),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    ) as running:
        yield running


@contextlib.contextmanager
def another_api(system: RunningSystem, logs: Path, **overrides: Any) -> Iterator[str]:
    """One more API process on the system's stores (its base URL), with ``overrides`` to its settings."""
    extra = start_system(replace(system.settings, api_port=free_port(), **overrides), logs, components=("api",))
    try:
        extra.wait_ready()
        yield extra.base_url
    finally:
        extra.stop()


def read(base_url: str, credential: str | None, app_id: str, user_id: str = "alice") -> httpx.Response:
    """A read of one user's memories with ``credential`` (no header at all when ``None``)."""
    headers = bearer(credential) if credential is not None else {}
    return httpx.get(
        f"{base_url}/v1/memories", params={"user_id": user_id, "app_id": app_id}, headers=headers, timeout=30
    )


def refused(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    detail = str(response.json()["detail"])
    for word in words:
        assert word.lower() in detail.lower(), detail
    return detail


# ------------------------------------------------------------------------------------------------ API keys


def test_a_valid_key_is_accepted(system: RunningSystem) -> None:
    key = issue_key(system.settings, system.app_id, scopes=(Scope.READ,))
    assert read(system.system.base_url, key, system.app_id).status_code == 200


def _unknown_key() -> str:
    return f"ms_{'zz' + unique('')[:6]}_{'A' * 43}"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, ("no credential",)),
        ("Basic dXNlcjpwYXNz", ("must be 'Bearer",)),
        ("Bearer", ("must be 'Bearer",)),
        ("Bearer ms_garbage", ("malformed", "ms_<8 letters or digits>")),
        ("Bearer ms_abcdefgh_short", ("malformed",)),
        ("Bearer hello", ("neither a valid API key nor a valid JWT",)),
        ("Bearer a.b.c", ("JWT is malformed",)),
        ("unknown", ("unknown API key",)),
    ],
)
def test_a_missing_garbled_or_unknown_credential_is_a_401_saying_which(
    system: RunningSystem, header: str | None, words: tuple[str, ...]
) -> None:
    headers = {} if header is None else {"Authorization": f"Bearer {_unknown_key()}" if header == "unknown" else header}
    response = httpx.get(
        f"{system.system.base_url}/v1/memories", params={"user_id": "alice", "app_id": system.app_id}, headers=headers
    )
    refused(response, *words)


def test_a_wrong_secret_under_a_real_prefix_is_an_unknown_key(system: RunningSystem) -> None:
    key = issue_key(system.settings, system.app_id)
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    refused(read(system.system.base_url, tampered, system.app_id), "unknown API key")
    assert read(system.system.base_url, key, system.app_id).status_code == 200


def test_an_expired_key_is_refused_saying_so(system: RunningSystem) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    key = issue_key(system.settings, system.app_id, expires_at=expires_at)
    assert read(system.system.base_url, key, system.app_id).status_code == 200
    response = wait_until(
        lambda: (r := read(system.system.base_url, key, system.app_id)).status_code == 401 and r,
        timeout=30,
        what="the key to expire",
    )
    refused(response, "expired at", str(prefix_of(key)))
    assert datetime.now(UTC) >= expires_at  # refused because it expired, not before


def test_a_revoked_key_is_refused_saying_so(system: RunningSystem) -> None:
    key = issue_key(system.settings, system.app_id)
    assert system.cli("keys", "revoke", str(prefix_of(key))).returncode == 0
    response = wait_until(
        lambda: (r := read(system.system.base_url, key, system.app_id)).status_code == 401 and r,
        timeout=10,
        what="the revoked key to be refused",
    )
    refused(response, "revoked at", str(prefix_of(key)))


@pytest.mark.parametrize("via", ["cli", "admin route"])
def test_a_revocation_reaches_two_api_processes_within_a_second(
    system: RunningSystem, tmp_path: Path, via: str
) -> None:
    with another_api(system, tmp_path) as second:
        apis = [system.system.base_url, second]
        key = issue_key(system.settings, system.app_id, scopes=(Scope.READ,))
        prefix = str(prefix_of(key))
        for base in apis:
            assert read(base, key, system.app_id).status_code == 200
        # Both processes keep using the key while it is revoked, so each holds a fresh cached read of it.
        if via == "cli":
            revoking = subprocess.Popen(
                [sys.executable, "-m", "memstream_cli.main", "keys", "revoke", prefix],
                env={**os.environ, **system.settings.to_env()},
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            while revoking.poll() is None:
                for base in apis:
                    read(base, key, system.app_id)
            revoked_at = time.monotonic()  # the CLI committed the revocation before exiting
            assert revoking.returncode == 0, revoking.stderr.read() if revoking.stderr else ""
        else:
            revoked_at = time.monotonic()  # before the request: the commit is somewhere within it
            with system.client() as admin:
                assert admin.delete(f"/v1/admin/keys/{prefix}").status_code == 200
        took: dict[str, float] = {}
        while len(took) < len(apis) and time.monotonic() - revoked_at < 10:
            for base in apis:
                if base not in took:
                    response = read(base, key, system.app_id)
                    if response.status_code == 401:
                        took[base] = time.monotonic() - revoked_at
                        refused(response, "revoked")
                    else:
                        assert response.status_code == 200, response.text
    assert len(took) == 2, f"refused by {sorted(took)} only"
    assert max(took.values()) <= REVOCATION_BOUND_SECONDS, took
    print(f"\nrevocation ({via}) refused after {', '.join(f'{t * 1000:.0f} ms' for t in took.values())}")


# ------------------------------------------------------------------------------------------------ JWTs


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256"])
def test_a_jwt_of_the_identity_provider_is_accepted(system: RunningSystem, idp: IdentityProvider, alg: str) -> None:
    assert read(system.system.base_url, idp.token(system.app_id, alg), system.app_id).status_code == 200


def _other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("token_of", "words"),
    [
        (lambda idp, app: idp.token(app, exp=int(time.time()) - 120), ("Signature has expired",)),
        (lambda idp, app: idp.token(app, aud="someone-else"), ("audience",)),
        (lambda idp, app: idp.token(app, iss="https://evil.example"), ("issuer",)),
        (lambda idp, app: idp.token(app, exp=None), ("exp",)),
        (lambda idp, app: idp.token(app, nbf=int(time.time()) + 3600), ("not yet valid",)),
        (lambda idp, app: idp.token(app, key=_other_rsa_key()), ("Signature verification failed",)),
        (lambda idp, app: idp.token(app, key=_other_rsa_key(), kid="rsa-9"), ("'rsa-9' is not among",)),
        (lambda idp, app: idp.token(app, "HS256", key="a-guessed-secret-of-32-characters!"), ("Signature",)),
        (lambda idp, app: idp.token(app, "none", key=None), ("'none' is not accepted",)),
        (lambda idp, app: idp.token(app, "HS384", key=HS256_SECRET + "-and-more"), ("'HS384' is not accepted",)),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-exp", "not-yet-valid", "unknown-key", "unknown-kid",
         "wrong-secret", "alg-none", "unconfigured-alg"],
)  # fmt: skip
def test_a_jwt_that_does_not_verify_is_a_401_saying_why(
    system: RunningSystem, idp: IdentityProvider, token_of: Any, words: tuple[str, ...]
) -> None:
    refused(read(system.system.base_url, token_of(idp, system.app_id), system.app_id), *words)


class JwksServer(http.server.BaseHTTPRequestHandler):
    document: bytes = b""
    hits: list[float]

    def do_GET(self) -> None:
        self.hits.append(time.monotonic())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_jwks_url_is_fetched_on_first_use_then_cached_and_an_outage_is_a_503(
    system: RunningSystem, idp: IdentityProvider, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    token = idp.token(system.app_id, "RS256")
    with another_api(system, tmp_path, jwt_jwks_file="", jwt_jwks_url=url) as base:
        # Nothing listens there yet: the token may be fine, the keys cannot be read. Not a 401, not a 500.
        outage = read(base, token, system.app_id)
        assert outage.status_code == 503, outage.text
        assert "signing keys" in outage.json()["detail"] and int(outage.headers["retry-after"]) > 0
        hits: list[float] = []
        handler = type("Handler", (JwksServer,), {"document": json.dumps(idp.jwks).encode(), "hits": hits})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            assert hits == []  # the API started without reading it
            accepted = wait_until(
                lambda: read(base, token, system.app_id).status_code == 200, timeout=30, what="the JWKS to be read"
            )
            assert accepted and len(hits) == 1
            for _ in range(20):
                assert read(base, idp.token(system.app_id, "ES256"), system.app_id).status_code == 200
            assert len(hits) == 1  # cached: one read served every token
        finally:
            server.shutdown()
            server.server_close()


# ------------------------------------------------------------------------------------------------ the CLI


def test_keys_create_list_revoke_round_trip(system: RunningSystem) -> None:
    created = system.cli(
        "keys", "create", "--app-id", system.app_id, "--user-id", "alice", "--scope", "memories:read",
        "--expires-in", "30d", "--rate-limit", "120", "--name", "cli round trip",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    prefix = prefix_of(key)
    assert prefix is not None and prefix in created.stderr and "only time" in created.stderr
    assert read(system.system.base_url, key, system.app_id).status_code == 200

    listed = system.cli("keys", "list", "--app-id", system.app_id)
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith(prefix))
    assert "alice" in line and "memories:read" in line and "cli round trip" in line
    assert key[12:] not in listed.stdout  # never the secret
    as_json = [
        json.loads(row) for row in system.cli("keys", "list", "--json", "--app-id", system.app_id).stdout.splitlines()
    ]
    record = next(r for r in as_json if r["prefix"] == prefix)
    assert record["scopes"] == ["memories:read"] and record["rate_limit_per_minute"] == 120
    assert record["user_id"] == "alice" and record["revoked_at"] is None
    expires = datetime.fromisoformat(record["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < expires <= timedelta(days=30)
    assert set(record) & {"key", "secret_hash", "hash"} == set()
    assert {r["app_id"] for r in as_json} == {system.app_id}

    revoked = system.cli("keys", "revoke", prefix)
    assert revoked.returncode == 0 and f"revoked {prefix}" in revoked.stdout
    refused(
        wait_until(lambda: (r := read(system.system.base_url, key, system.app_id)).status_code == 401 and r),
        "revoked",
    )
    after = [
        json.loads(row) for row in system.cli("keys", "list", "--json", "--app-id", system.app_id).stdout.splitlines()
    ]
    assert next(r for r in after if r["prefix"] == prefix)["revoked_at"] is not None

    unknown = system.cli("keys", "revoke", "zzzzzzzz")
    assert unknown.returncode == 1 and "no API key with prefix zzzzzzzz" in unknown.stderr
    bad = system.cli("keys", "create", "--app-id", "an app")
    assert bad.returncode == 2 and "app_id" in bad.stderr


# ------------------------------------------------------------------------------------------------ admin routes


def test_an_admin_creates_lists_and_revokes_the_keys_of_its_own_app(system: RunningSystem) -> None:
    other_app = unique("other-")
    other_key = issue_key(system.settings, other_app)
    with system.client() as admin:
        created = admin.post(
            "/v1/admin/keys",
            json={
                "scopes": ["memories:read"],
                "name": "reader",
                "expires_in_seconds": 3600,
                "rate_limit_per_minute": 30,
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        key, prefix = body["key"], body["prefix"]
        assert prefix_of(key) == prefix and body["app_id"] == system.app_id and body["scopes"] == ["memories:read"]
        expires = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
        assert timedelta(minutes=59) < expires <= timedelta(hours=1) and body["rate_limit_per_minute"] == 30
        assert read(system.system.base_url, key, system.app_id).status_code == 200

        listed = admin.get("/v1/admin/keys")
        assert listed.status_code == 200, listed.text
        keys = listed.json()["keys"]
        assert prefix in {k["prefix"] for k in keys}
        assert {k["app_id"] for k in keys} == {system.app_id}  # not the other app's key
        assert all("key" not in k for k in keys) and key[12:] not in listed.text  # shown once, at creation

        revoked = admin.delete(f"/v1/admin/keys/{prefix}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused(
        wait_until(lambda: (r := read(system.system.base_url, key, system.app_id)).status_code == 401 and r),
        "revoked",
    )
    assert read(system.system.base_url, other_key, other_app).status_code == 200


def test_another_apps_key_is_not_found_exactly_like_a_key_that_does_not_exist(system: RunningSystem) -> None:
    other_key = issue_key(system.settings, unique("other-"))
    other_prefix = str(prefix_of(other_key))
    with system.client() as admin:
        theirs = admin.delete(f"/v1/admin/keys/{other_prefix}")
        nobodys = admin.delete("/v1/admin/keys/zzzzzzzz")
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.json()["detail"].replace(other_prefix, "X") == nobodys.json()["detail"].replace("zzzzzzzz", "X")
        assert admin.get("/v1/admin/keys", params={"app_id": unique("other-")}).status_code == 403
        assert admin.post("/v1/admin/keys", json={"app_id": unique("other-")}).status_code == 403
    with httpx.Client(base_url=system.system.base_url, headers=bearer(other_key)) as them:
        assert them.get("/v1/memories", params={"user_id": "u", "app_id": "x"}).status_code != 401  # not revoked


@pytest.mark.parametrize("who", ["read-write key", "user-bound admin key", "JWT with the admin scope"])
def test_only_an_app_wide_admin_manages_keys(system: RunningSystem, idp: IdentityProvider, who: str) -> None:
    if who == "read-write key":
        credential, words = issue_key(system.settings, system.app_id, scopes=(Scope.READ, Scope.WRITE)), "'admin'"
    elif who == "user-bound admin key":
        credential, words = issue_key(system.settings, system.app_id, user_id="alice"), "bound to a user"
    else:
        credential, words = idp.token(system.app_id, scope="admin"), "bound to a user"
    with system.client(credential) as client:
        for response in (
            client.get("/v1/admin/keys"),
            client.post("/v1/admin/keys", json={}),
            client.delete(f"/v1/admin/keys/{prefix_of(system.admin_key)}"),
        ):
            assert response.status_code == 403, response.text
            assert words in response.json()["detail"]
    assert read(system.system.base_url, system.admin_key, system.app_id).status_code == 200  # still there


def test_a_key_is_created_only_with_what_the_schema_allows(system: RunningSystem) -> None:
    with system.client() as admin:
        assert admin.post("/v1/admin/keys", json={"scopes": ["memories:delete"]}).status_code == 400
        assert admin.post("/v1/admin/keys", json={"scopes": []}).status_code == 400
        assert admin.post("/v1/admin/keys", json={"expires_in_seconds": 0}).status_code == 400
        assert admin.post("/v1/admin/keys", json={"user_id": "two words"}).status_code == 400
        assert admin.post("/v1/admin/keys", json={"secret": "mine"}).status_code == 400
        assert admin.delete("/v1/admin/keys/NOT-A-PREFIX").status_code == 400


# ------------------------------------------------------------------------------------------------ auth off


def test_with_authentication_off_the_api_serves_loopback_only(system: RunningSystem, tmp_path: Path) -> None:
    exposed = replace(system.settings, auth_enabled=False, api_host="0.0.0.0", api_port=free_port())
    result = subprocess.run(
        [sys.executable, "-m", "api"],
        env={**os.environ, **exposed.to_env()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "MEMSTREAM_AUTH_ENABLED=false" in result.stderr and "'0.0.0.0' is not one" in result.stderr
    with another_api(system, tmp_path, auth_enabled=False) as base:
        assert read(base, None, system.app_id).status_code == 200  # loopback: no credential asked
