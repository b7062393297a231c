"""Which failures in an agent are an outage to wait out (the batch is read again), and which are the event's own."""

from __future__ import annotations

import asyncio

import openai

# An OpenAI-compatible endpoint that is away, slow or overloaded: every event would fail the same way now,
# and none of them is to blame.
_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.RateLimitError,
    openai.InternalServerError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT)
