"""``memory.contract.validation``'s refusals as HTTP answers: 413 when only the length is wrong, 400 otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from api.errors import InvalidRequest, PayloadTooLarge
from memory.contract.validation import TooLong
from memory.errors import InvalidEventError


@contextmanager
def answered_as_http() -> Iterator[None]:
    try:
        yield
    except TooLong as exc:
        raise PayloadTooLarge(str(exc)) from None
    # memory.contract.validation.InvalidInput, or a turn rule of memory.ingest.derivation
    except InvalidEventError as exc:
        raise InvalidRequest(str(exc)) from None
