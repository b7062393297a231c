"""``memory.validation``'s refusals as HTTP answers: 413 when only the length is wrong, 400 otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from api.errors import InvalidRequest, PayloadTooLarge
from memory.errors import InvalidEventError
from memory.validation import TooLong


@contextmanager
def answered_as_http() -> Iterator[None]:
    try:
        yield
    except TooLong as exc:
        raise PayloadTooLarge(str(exc)) from None
    except InvalidEventError as exc:  # memory.validation.InvalidInput, or a turn rule of memory.derivation
        raise InvalidRequest(str(exc)) from None
