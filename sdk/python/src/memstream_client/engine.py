"""How a ``Call`` becomes requests, written once for both clients (no I/O here).

``Engine.run`` is a generator: it yields ``Send`` (a request to make) and ``Sleep`` (a wait before a retry), and
is sent back the ``httpx.Response`` or the ``httpx.TransportError`` of each ``Send``. The sync client drives it
with ``httpx.Client`` and ``time.sleep``, the async client with ``httpx.AsyncClient`` and ``asyncio.sleep``; the
retries, the idempotency key, read-your-writes and the errors are decided here, the same for both.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from memstream_client.calls import Call, wait_for
from memstream_client.consistency import Scope, TokenBook
from memstream_client.errors import ConnectionFailed, MemstreamError, error_for, model_can_correct
from memstream_client.models import ToolResult
from memstream_client.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

T = TypeVar("T")

# Failures that happen before a byte of the request left: any call may be sent again after them.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Send:
    method: str
    path: str
    params: dict[str, Any]
    json: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Action = Send | Sleep
Outcome = httpx.Response | httpx.TransportError | None
Exchange = Generator[Action, Outcome, T]


class Engine:
    def __init__(
        self,
        policy: RetryPolicy,
        read_your_writes: bool,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.policy = policy
        self.read_your_writes = read_your_writes
        self.book = TokenBook()
        self._clock = clock

    def run(self, call: Call[T]) -> Exchange[T]:
        """Send ``call`` (with the tokens read-your-writes asks for), remember a write's token, parse the answer."""
        call, waited = yield from self._after_own_writes(call)
        data = yield from self._attempts(call)
        if waited:
            self.book.seen(call.scope, waited)  # visible now: later reads need not wait for them
        if call.writes is not None and isinstance(data, dict) and data.get("consistency_token"):
            self.book.wrote(call.scope, call.writes, data["consistency_token"])
        return call.parse(data)

    def _after_own_writes(self, call: Call[T]) -> Exchange[tuple[Call[T], list[str]]]:
        """The call as read-your-writes wants it sent (carrying a token), once the waits it needs first are done;
        and the tokens it will have seen once it is answered."""
        if call.consistency_token is not None:  # the caller's own: sent as is, the book is not consulted
            return (call.with_token(call.consistency_token) if call.token_in else call), []
        if not (call.reads or call.checked_against_stored) or not self._wants_own_writes(call):
            return call, []
        pending = self.book.pending(call.scope)
        # A read carries one pending token (the API waits for it); the others, and every one for a write the API
        # checks against what is stored (a block appended to right after it was deleted is then refused, not
        # accepted against the old block), are waited for first.
        carried = pending[-1] if pending and call.reads and call.token_in else None
        for token in pending:
            if token != carried:
                yield from self._attempts(wait_for(token, call.scope))
        return (call.with_token(carried) if carried is not None else call), pending

    def wait(self, token: str, scope: Scope | None) -> Exchange[None]:
        """``wait_for``: the scope given, else the one this client wrote the token in, else the credential's."""
        scope = scope or self.book.scope_of(token) or Scope(None, None)
        yield from self._attempts(wait_for(token, scope))
        self.book.seen(scope, [token])

    def dispatch(self, call: Call[ToolResult]) -> Exchange[str]:
        """A model's tool call: the result's text, or the API's refusal as text when the model can correct it."""
        try:
            result = yield from self.run(call)
        except MemstreamError as error:
            if model_can_correct(error):
                return f"Error: {error.message}"
            raise
        return result.text

    def _wants_own_writes(self, call: Call[Any]) -> bool:
        return self.read_your_writes if call.read_your_writes is None else call.read_your_writes

    def _attempts(self, call: Call[Any]) -> Exchange[Any]:
        """Send until an answer that is final; return its decoded JSON body (None when empty)."""
        headers = {"Idempotency-Key": str(uuid.uuid4())} if call.needs_idempotency_key else {}
        request = Send(call.method, call.path, call.params, call.body, headers)  # the same for every retry
        started = self._clock()
        retries = 0
        while True:
            outcome = yield request
            if isinstance(outcome, httpx.Response):
                if outcome.status_code < 400:
                    return _decoded(outcome)
                retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
                error: MemstreamError = error_for(
                    outcome.status_code, _json_or_none(outcome), outcome.text, outcome.headers, retry_after
                )
                if not _worth_retrying(outcome, call):
                    raise error
            elif isinstance(outcome, httpx.TransportError):
                error = ConnectionFailed(f"{call.method} {call.path}: {type(outcome).__name__}: {outcome}")
                retry_after = None
                if not (call.retry_safe or isinstance(outcome, NOT_SENT)):
                    raise error from outcome
            else:  # the driver always sends one of the two
                raise TypeError(f"expected a response or a transport error, got {outcome!r}")
            delay = self.policy.wait_before(retries, retry_after, self._clock() - started)
            if delay is None:
                raise error
            yield Sleep(delay)
            retries += 1


def _worth_retrying(response: httpx.Response, call: Call[Any]) -> bool:
    if response.status_code in RETRY_STATUSES:
        return call.retry_safe
    # The same idempotency key while its first request is still being answered: the API says when to ask again,
    # and then replays the first answer. A 409 without Retry-After is a real conflict (a block that exists).
    return response.status_code == 409 and call.needs_idempotency_key and "Retry-After" in response.headers


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _decoded(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise MemstreamError(
            f"the API answered {response.status_code} with a body that is not JSON: {response.text[:200]!r}"
        ) from exc
