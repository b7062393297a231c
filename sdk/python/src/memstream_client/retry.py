"""When to try a request again, and how long to wait first.

Exponential backoff with full jitter (a random wait between 0 and ``base * 2**attempt``, capped), unless the API
said how long with ``Retry-After`` (seconds or an HTTP date), which is honoured as is. Both are bounded: at most
``max_retries`` retries, and never a wait that would end more than ``max_retry_seconds`` after the call began.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# Statuses worth another try unchanged: a rate limit and an unavailable store (or a write not applied in time).
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_retry_seconds: float = 60.0
    base_seconds: float = 0.5
    cap_seconds: float = 8.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_retry_seconds < 0:
            raise ValueError("max_retries and max_retry_seconds must not be negative")

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry)] for the ``retry``-th retry (0 first)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2**retry)
        return (rng or random).uniform(0, ceiling)

    def wait_before(self, retry: int, retry_after: float | None, elapsed: float) -> float | None:
        """Seconds to wait before the ``retry``-th retry, or None when the retries or the time are spent."""
        if retry >= self.max_retries:
            return None
        delay = retry_after if retry_after is not None else self.backoff(retry)
        if elapsed + delay > self.max_retry_seconds:
            return None
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3); None if absent or
    unreadable. A date in the past means now."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
