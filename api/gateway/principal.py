"""Who a request acts as, once its credential is verified."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    READ = "memories:read"
    WRITE = "memories:write"
    ADMIN = "admin"


def implied(granted: frozenset[Scope]) -> frozenset[Scope]:
    """The scopes a grant gives: ``admin`` implies reading and writing."""
    return frozenset(Scope) if Scope.ADMIN in granted else granted


@dataclass(frozen=True)
class Principal:
    """A verified caller.

    ``app_id``: the one application it belongs to; it never reaches another app's data. ``None`` only for the
    local-experiments caller when authentication is off (``MEMSTREAM_AUTH_ENABLED=false``, loopback only).
    ``user_id``: set for a user-bound key or a JWT (its ``sub``): only that user's memories; ``None`` for an
    app-wide key, which may act for any user of its app.
    ``credential``: how it is named in logs, receipts and the rate limiter (``key:<prefix>`` or
    ``jwt:<issuer>:<sub>``); never the secret.
    ``rate_limit``: requests per minute allowed to this caller, when its key or app sets one (``None``: the
    default from settings).
    """

    app_id: str | None
    user_id: str | None
    scopes: frozenset[Scope]
    credential: str
    rate_limit: int | None = None

    @property
    def rate_key(self) -> str:
        """What the limiter counts by: the user for a user-bound credential, the credential otherwise."""
        if self.user_id is not None:
            return f"user:{self.app_id or '*'}:{self.user_id}"
        return self.credential
