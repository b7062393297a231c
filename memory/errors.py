"""Errors of the functional core. One base; each names what went wrong in words a caller can act on."""


class MemoryError_(Exception):
    """Base error of the ``memory`` package (underscore: don't shadow the builtin MemoryError)."""


class DecodeError(MemoryError_):
    """A message is not a well-formed memstream record."""


class InvalidEventError(MemoryError_):
    """A decoded event breaks a rule (empty text, wrong scope...)."""


class IllegalTransition(InvalidEventError):
    """An event asks a memory to move between two states the lifecycle table does not connect.

    It is an ``InvalidEventError`` so the agents dead-letter it like any other broken event; the message
    names both states (and what *is* allowed) so the dead-letter reason is actionable on its own.
    """

    def __init__(self, current: str, target: str, allowed: tuple[str, ...]) -> None:
        self.current = current
        self.target = target
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "nothing (final state)"
        super().__init__(f"illegal transition from {current!r} to {target!r}; from {current!r} allowed: {options}")
