"""How many requests a minute a caller may make: a key's own limit, else its app's, else the default.

Read from the settings once at start-up (``RatePolicy.from_settings``), so a mistyped per-app limit stops the
API with a message naming the setting and the entry instead of quietly leaving an app on the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from api.gateway.principal import Principal
from memory.contract.validation import ID_CHARS
from memory.settings import Settings

SETTING = "MEMSTREAM_RATE_LIMITS_PER_APP"
# An app id as the API accepts it (memory.contract.validation's id characters), then "=" and a positive count.
_ENTRY = re.compile(rf"^(?P<app>[{ID_CHARS}]+)=(?P<limit>[0-9]+)$")


class RatePolicyError(ValueError):
    """A rate-limit setting that cannot be read; the API refuses to start with it."""


def parse_app_limits(raw: str) -> dict[str, int]:
    """``"app1=5000, app2=100"`` → ``{"app1": 5000, "app2": 100}``; empty → ``{}``."""
    limits: dict[str, int] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        match = _ENTRY.match(entry.replace(" ", ""))
        if match is None:
            raise RatePolicyError(
                f"{SETTING}: {entry!r} is not '<app_id>=<requests per minute>' (e.g. 'app1=5000,app2=100')"
            )
        app, limit = match["app"], int(match["limit"])
        if limit < 1:
            raise RatePolicyError(f"{SETTING}: the limit of app {app!r} must be at least 1 request per minute")
        if app in limits:
            raise RatePolicyError(f"{SETTING}: app {app!r} is named twice")
        limits[app] = limit
    return limits


@dataclass(frozen=True)
class RatePolicy:
    default: int
    per_app: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> RatePolicy:
        if settings.rate_limit_per_minute < 1:
            raise RatePolicyError("MEMSTREAM_RATE_LIMIT_PER_MINUTE must be at least 1")
        return cls(settings.rate_limit_per_minute, parse_app_limits(settings.rate_limits_per_app))

    def limit_for(self, principal: Principal) -> int:
        """Requests per minute for this caller: its key's limit wins over its app's, which wins over the default."""
        if principal.rate_limit is not None:
            return principal.rate_limit
        if principal.app_id is not None and principal.app_id in self.per_app:
            return self.per_app[principal.app_id]
        return self.default
