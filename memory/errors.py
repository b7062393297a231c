"""Errors of the functional core. One base; each names what went wrong in words a caller can act on."""


class MemoryError_(Exception):
    """Base error of the ``memory`` package (underscore: don't shadow the builtin MemoryError)."""


class DecodeError(MemoryError_):
    """A message is not a well-formed memstream record."""


class InvalidEventError(MemoryError_):
    """A decoded event breaks a rule (empty text, wrong scope...)."""
