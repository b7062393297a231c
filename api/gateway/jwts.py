"""JWTs from the user's own identity provider, verified with PyJWT.

A JWT names one user (``sub``) of one app (the claim ``settings.jwt_app_claim``), and its ``scope`` claim lists
the scopes (space-separated, as in OAuth 2). ``exp`` is required; ``nbf``, ``iss`` and ``aud`` are verified
(issuer and audience when the settings name them).

Two kinds of signature: HS256 with the shared secret ``jwt_hs256_secret``, and the public-key algorithms of
``jwt_jwks_algorithms`` (RS256, ES256) with the keys of a JWKS document (api.gateway.jwks), the header's ``kid``
choosing the key. Only the algorithms configured are accepted, each with its own kind of key: a token cannot
choose ``none``, nor pass a public key off as an HMAC secret.
"""

from __future__ import annotations

from typing import Any

import jwt

from api.errors import Unauthorized
from api.gateway.jwks import JwksKeys
from api.gateway.principal import Principal, Scope, implied
from memory.settings import Settings

LEEWAY_SECONDS = 30  # clock skew between the identity provider and this host


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def scopes_of(claims: dict[str, Any]) -> frozenset[Scope]:
    raw = claims.get("scope", "")
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    known = {s.value for s in Scope}
    return implied(frozenset(Scope(name) for name in names if name in known))


def principal_from_claims(claims: dict[str, Any], settings: Settings, issuer_name: str) -> Principal:
    user = claims.get("sub")
    app = claims.get(settings.jwt_app_claim)
    if not isinstance(user, str) or not user:
        raise Unauthorized("the JWT has no 'sub' naming the user")
    if not isinstance(app, str) or not app:
        raise Unauthorized(f"the JWT has no '{settings.jwt_app_claim}' claim naming the app")
    return Principal(app_id=app, user_id=user, scopes=scopes_of(claims), credential=f"jwt:{issuer_name}:{user}")


def decode_options(settings: Settings) -> dict[str, Any]:
    required = ["exp", "sub"] + (["iss"] if settings.jwt_issuer else []) + (["aud"] if settings.jwt_audience else [])
    return {"require": required, "verify_aud": bool(settings.jwt_audience)}


class JwtVerifier:
    """Tokens signed with the HS256 secret or with a key of the JWKS (``jwks``, when one is configured)."""

    def __init__(self, settings: Settings, jwks: JwksKeys | None, jwks_algorithms: frozenset[str]) -> None:
        self._settings = settings
        self._jwks = jwks
        self._accepted = frozenset({"HS256"} if settings.jwt_hs256_secret else set()) | (
            jwks_algorithms if jwks is not None else frozenset()
        )

    async def verify(self, credential: str) -> Principal | None:
        if not looks_like_jwt(credential):
            return None
        try:
            header = jwt.get_unverified_header(credential)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the JWT is malformed: {exc}") from exc
        alg = header.get("alg")
        if not self._accepted:
            raise Unauthorized("JWTs are not accepted here (no HS256 secret and no JWKS is configured)")
        if not isinstance(alg, str) or alg not in self._accepted:
            accepted = ", ".join(sorted(self._accepted))
            raise Unauthorized(f"the JWT's algorithm {alg!r} is not accepted here (accepted: {accepted})")
        key: Any = self._settings.jwt_hs256_secret
        issuer_name = self._settings.jwt_issuer or "hs256"
        if alg != "HS256":
            assert self._jwks is not None
            key = await self._jwks.key_for(header.get("kid"), alg)
            issuer_name = self._settings.jwt_issuer or "jwks"
        try:
            claims = jwt.decode(
                credential,
                key,
                algorithms=[alg],
                issuer=self._settings.jwt_issuer or None,
                audience=self._settings.jwt_audience or None,
                leeway=LEEWAY_SECONDS,
                options=decode_options(self._settings),
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the JWT does not verify: {exc}") from exc
        return principal_from_claims(claims, self._settings, issuer_name)
