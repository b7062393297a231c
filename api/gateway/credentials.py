"""The credentials this API accepts, assembled from the settings: API keys and JWTs (HS256, JWKS).

Building reads nothing (the app is built at import by some tools): the lifespan's ``start`` reads the pepper,
creates the key table if missing and opens the key pool; the JWKS is read by the first token that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.gateway.authenticate import Verifier
from api.gateway.jwks import JwksFile, JwksKeys, JwksSource, JwksUrl, parse_algorithms
from api.gateway.jwts import JwtVerifier
from api.gateway.key_verifier import ApiKeyVerifier
from memory.settings import Settings


class CredentialSettingsError(ValueError):
    pass


@dataclass
class Credentials:
    api_keys: ApiKeyVerifier
    jwts: JwtVerifier
    jwks_source: JwksSource | None

    @property
    def verifiers(self) -> list[Verifier]:
        return [self.api_keys, self.jwts]

    @property
    def dsn(self) -> str:
        """Where the key table is: the live schema's database."""
        return self.api_keys.dsn

    @property
    def pepper(self) -> bytes:
        return self.api_keys.pepper

    async def start(self) -> None:
        await self.api_keys.start()

    async def close(self) -> None:
        await self.api_keys.close()
        if isinstance(self.jwks_source, JwksUrl):
            await self.jwks_source.close()


def jwks_source(settings: Settings) -> JwksSource | None:
    if settings.jwt_jwks_file and settings.jwt_jwks_url:
        raise CredentialSettingsError("set MEMSTREAM_JWT_JWKS_FILE or MEMSTREAM_JWT_JWKS_URL, not both")
    if settings.jwt_jwks_file:
        return JwksFile(settings.jwt_jwks_file)
    if settings.jwt_jwks_url:
        if not settings.jwt_jwks_url.startswith(("https://", "http://")):
            raise CredentialSettingsError(f"MEMSTREAM_JWT_JWKS_URL={settings.jwt_jwks_url!r} is not an http(s) URL")
        return JwksUrl(settings.jwt_jwks_url)
    return None


def build_credentials(settings: Settings) -> Credentials:
    try:
        algorithms = parse_algorithms(settings.jwt_jwks_algorithms)
    except ValueError as exc:
        raise CredentialSettingsError(str(exc)) from exc
    source = jwks_source(settings)
    jwks = JwksKeys(source, settings.jwt_jwks_cache_seconds) if source is not None else None
    return Credentials(ApiKeyVerifier(settings), JwtVerifier(settings, jwks, algorithms), source)
