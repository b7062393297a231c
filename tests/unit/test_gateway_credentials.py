"""The gateway's credentials without a server: key shape and hashing, secret files, the JWKS cache's policy,
the JWT verifier's algorithm rules, and the loopback rule for authentication off (end to end:
tests/e2e/test_authentication.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.secret_files import SecretFileError, generated_secret, read_secret, replace_secret, write_once
from api.errors import Unauthorized, Unavailable
from api.gateway import jwks as jwks_module
from api.gateway.authenticate import ExposedWithoutAuthentication, is_loopback, refuse_exposure_without_authentication
from api.gateway.jwks import JwksFile, JwksKeys, parse_algorithms
from api.gateway.jwts import JwtVerifier
from api.gateway.key_format import digest, looks_like_key, matches, new_key, prefix_of
from api.gateway.principal import Scope, implied
from memory.settings import Settings
from memstream_cli.keys_cmd import duration

PEPPER = b"p" * 32


def test_a_new_key_has_the_documented_shape_and_its_prefix_finds_it() -> None:
    keys = {new_key() for _ in range(200)}
    assert len(keys) == 200
    for prefix, key in keys:
        assert key.startswith(f"ms_{prefix}_") and len(key) == 3 + 8 + 1 + 43
        assert prefix_of(key) == prefix and looks_like_key(key)


@pytest.mark.parametrize(
    "credential",
    [
        "ms_",
        "ms_abc_def",
        "ms_ABCDEFGH_" + "a" * 43,  # upper-case prefix
        "ms_abcdefgh_" + "a" * 42,  # a secret one character short
        "ms_abcdefgh_" + "a" * 44,
        "ms_abcdefgh_" + "a" * 42 + "=",  # not URL-safe base64
        "ms_abcdefgh_" + "a" * 43 + "\n",
    ],
)
def test_anything_else_of_the_scheme_has_no_prefix(credential: str) -> None:
    assert looks_like_key(credential) and prefix_of(credential) is None


def test_the_hash_binds_the_pepper_the_prefix_and_the_secret() -> None:
    _, key = new_key()
    stored = digest(PEPPER, key)
    assert matches(PEPPER, key, stored)
    assert not matches(b"q" * 32, key, stored)  # another server's pepper
    prefix, secret = key[3:11], key[12:]
    other_prefix = ("a" if prefix[0] != "a" else "b") + prefix[1:]
    assert not matches(PEPPER, f"ms_{other_prefix}_{secret}", stored)  # the secret moved under another prefix
    assert not matches(PEPPER, key[:-1] + ("A" if key[-1] != "A" else "B"), stored)


def test_a_jwt_is_never_taken_for_a_key() -> None:
    token = jwt.encode({"sub": "u"}, "s" * 32, algorithm="HS256")
    assert not looks_like_key(token)


def test_admin_implies_reading_and_writing() -> None:
    assert implied(frozenset({Scope.ADMIN})) == frozenset(Scope)
    assert implied(frozenset({Scope.READ})) == frozenset({Scope.READ})


def test_secret_files_are_written_once_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "x.key"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: write_once(path, f"content-number-{i:04d}"), range(16)))
    assert won.count(True) == 1
    assert read_secret(path) == f"content-number-{won.index(True):04d}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    replace_secret(path, "replaced-secret-content")
    assert read_secret(path) == "replaced-secret-content" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["x.key"]  # no drafts left behind
    assert generated_secret(path) == "replaced-secret-content"  # an existing secret is kept
    path.chmod(0o640)
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_secret(path)


@pytest.mark.parametrize(("raw", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("45m", 2700), ("2w", 1209600)])
def test_durations(raw: str, seconds: int) -> None:
    assert duration(raw).total_seconds() == seconds


@pytest.mark.parametrize("raw", ["0d", "30", "d", "1.5h", "-3d", "3y"])
def test_durations_that_say_nothing_are_refused(raw: str) -> None:
    with pytest.raises(Exception, match="not a duration"):
        duration(raw)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("::", False), ("192.168.1.4", False), ("example.org", False)],
)  # fmt: skip
def test_authentication_off_is_for_loopback_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    refuse_exposure_without_authentication(Settings(api_host=host))  # on: any host
    if loopback:
        refuse_exposure_without_authentication(Settings(api_host=host, auth_enabled=False))
    else:
        with pytest.raises(ExposedWithoutAuthentication, match="MEMSTREAM_AUTH_ENABLED=false"):
            refuse_exposure_without_authentication(Settings(api_host=host, auth_enabled=False))


def test_a_jwks_never_supplies_a_shared_secret() -> None:
    assert parse_algorithms("RS256, ES256") == {"RS256", "ES256"}
    for bad in ("HS256", "RS256,HS256", "none", ""):
        with pytest.raises(ValueError, match="public-key algorithms"):
            parse_algorithms(bad)


# ------------------------------------------------------------------------------------------ JWKS and JWTs


def rsa_jwk(kid: str) -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "alg": "RS256", "use": "sig"}


def ec_jwk(kid: str) -> tuple[Any, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "alg": "ES256", "use": "sig"}


def write_jwks(path: Path, *jwks: dict[str, Any]) -> None:
    path.write_text(json.dumps({"keys": list(jwks)}))


def token(private: Any, alg: str, kid: str | None, **claims: Any) -> str:
    body = {"sub": "alice", "app_id": "app-a", "scope": "memories:read", "exp": int(time.time()) + 300, **claims}
    return jwt.encode(body, private, algorithm=alg, headers={"kid": kid} if kid else None)


def hmac_token(secret: bytes, claims: dict[str, Any]) -> str:
    """An HS256 JWT signed by hand (PyJWT refuses to sign with a PEM public key as the secret, rightly)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


async def test_the_jwks_is_read_on_first_use_and_a_new_kid_rereads_it_at_most_so_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwks.json"
    keys = JwksKeys(JwksFile(str(path)), cache_seconds=300)  # no file yet: building reads nothing
    _, first_jwk = rsa_jwk("k1")
    write_jwks(path, first_jwk)
    assert (await keys.key_for("k1", "RS256")).key_id == "k1"
    _, second_jwk = ec_jwk("k2")
    write_jwks(path, first_jwk, second_jwk)  # the provider rotates
    # Read less than MIN_REFRESH_SECONDS ago: a kid it does not know is refused without reading again.
    with pytest.raises(Unauthorized, match="'k2' is not among"):
        await keys.key_for("k2", "ES256")
    monkeypatch.setattr(jwks_module, "MIN_REFRESH_SECONDS", 0.0)
    assert (await keys.key_for("k2", "ES256")).key_id == "k2"
    with pytest.raises(Unauthorized, match="says ES256 but its key 'k1' is for RS256"):
        await keys.key_for("k1", "ES256")
    with pytest.raises(Unauthorized, match="names no key id"):
        await keys.key_for(None, "RS256")  # two keys: which one?


async def test_an_unreadable_jwks_is_a_503_until_it_can_be_read_and_old_keys_serve_through_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwks.json"
    keys = JwksKeys(JwksFile(str(path)), cache_seconds=0.0)
    with pytest.raises(Unavailable) as refused:
        await keys.key_for("k1", "RS256")
    assert refused.value.status_code == 503 and refused.value.retry_after > 0
    _, jwk = rsa_jwk("k1")
    write_jwks(path, jwk)
    monkeypatch.setattr(jwks_module, "FAILED_RETRY_SECONDS", 0.0)
    assert (await keys.key_for("k1", "RS256")).key_id == "k1"
    path.write_text("not json")  # the next read fails: the keys read before keep serving
    monkeypatch.setattr(jwks_module, "MIN_REFRESH_SECONDS", 0.0)
    assert (await keys.key_for("k1", "RS256")).key_id == "k1"


async def test_only_the_configured_algorithms_verify(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    private, jwk = rsa_jwk("k1")
    write_jwks(path, jwk)
    secret = "s" * 32
    verifier = JwtVerifier(Settings(jwt_hs256_secret=secret), JwksKeys(JwksFile(str(path)), 300), frozenset({"RS256"}))
    assert (await verifier.verify(token(private, "RS256", "k1"))).user_id == "alice"  # type: ignore[union-attr]
    assert (await verifier.verify(token(secret, "HS256", None))).scopes == {Scope.READ}  # type: ignore[union-attr]
    unsigned = jwt.encode({"sub": "alice", "app_id": "a", "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(Unauthorized, match="'none' is not accepted"):
        await verifier.verify(unsigned)
    ec_private, _ = ec_jwk("k1")
    with pytest.raises(Unauthorized, match="'ES256' is not accepted"):
        await verifier.verify(token(ec_private, "ES256", "k1"))
    # The classic confusion: an HS256 token whose "secret" is the provider's public key, which anyone has.
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(Unauthorized, match="does not verify"):
        await verifier.verify(hmac_token(public_pem, {"sub": "alice", "app_id": "a", "exp": int(time.time()) + 60}))
    assert await verifier.verify("ms_not_a_jwt") is None  # another verifier's kind
    none_configured = JwtVerifier(Settings(), None, frozenset({"RS256"}))
    with pytest.raises(Unauthorized, match="not accepted here"):
        await none_configured.verify(token(secret, "HS256", None))
