"""JWTs from the user's own identity provider, verified with PyJWT.

A JWT names one user (``sub``) of one app (the claim ``settings.jwt_app_claim``), and its ``scope`` claim lists
the scopes (space-separated, as in OAuth 2). ``exp`` is required; ``nbf``, ``iss`` and ``aud`` are verified
(issuer and audience when the settings name them). Only the algorithms configured are accepted, so a token
cannot choose ``none`` or pass an HMAC secret off as a public key.
"""

from __future__ import annotations

from typing import Any

import jwt

from api.errors import Unauthorized
from api.gateway.principal import Principal, Scope
from memory.settings import Settings

LEEWAY_SECONDS = 30  # clock skew between the identity provider and this host


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def scopes_of(claims: dict[str, Any]) -> frozenset[Scope]:
    raw = claims.get("scope", "")
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    known = {s.value for s in Scope}
    return frozenset(Scope(name) for name in names if name in known)


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


class Hs256Verifier:
    """Tokens signed with the shared secret ``settings.jwt_hs256_secret``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def verify(self, credential: str) -> Principal | None:
        if not looks_like_jwt(credential):
            return None
        try:
            header = jwt.get_unverified_header(credential)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the JWT is malformed: {exc}") from exc
        if header.get("alg") != "HS256":
            return None
        if not self._settings.jwt_hs256_secret:
            raise Unauthorized("HS256 JWTs are not accepted here (no shared secret is configured)")
        try:
            claims = jwt.decode(
                credential,
                self._settings.jwt_hs256_secret,
                algorithms=["HS256"],
                issuer=self._settings.jwt_issuer or None,
                audience=self._settings.jwt_audience or None,
                leeway=LEEWAY_SECONDS,
                options=decode_options(self._settings),
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the JWT does not verify: {exc}") from exc
        return principal_from_claims(claims, self._settings, self._settings.jwt_issuer or "hs256")
