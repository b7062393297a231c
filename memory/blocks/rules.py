"""What a block edit does to a block, and when it is refused. Pure, and shared by both sides on purpose.

The API checks an edit against the projected block to answer 404/409/422 at once; the lifecycle agent
decides the same edit against its folded state, which may be newer (another edit raced this one). Both
call these functions, so a refusal reads the same wherever it happens.

Semantics follow Letta's core memory tools: append joins with a newline when the block is not empty;
replace substitutes every occurrence of the old text (an empty new text deletes it). ``persona`` and
``human`` always exist (empty, the default limit, version 0) until written; deleting them empties them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

LABEL_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
DEFAULT_LABELS: tuple[str, ...] = ("persona", "human")
DEFAULT_LIMIT = 2000
MIN_LIMIT = 1
MAX_LIMIT = 20_000
QUOTE_CHARS = 60  # how much of a missing old text a refusal quotes

_LABEL = re.compile(LABEL_PATTERN)


class Change(StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    REPLACED = "replaced"
    DELETED = "deleted"


class RefusalKind(StrEnum):
    UNKNOWN_LABEL = "unknown_label"  # 404
    LABEL_EXISTS = "label_exists"  # 409
    OLD_TEXT_MISSING = "old_text_missing"  # 409
    OVER_LIMIT = "over_limit"  # 422
    INVALID = "invalid"  # 400/422: input the API would not have accepted


class EditRefused(Exception):
    def __init__(self, kind: RefusalKind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class BlockView:
    """A block as an edit sees it. ``version`` counts every change of the label so far (a delete too), so it
    is not reset by a delete; ``written`` is False for a block that was never written or was deleted."""

    label: str
    value: str
    limit: int
    version: int
    written: bool

    @property
    def exists(self) -> bool:
        return self.written or self.label in DEFAULT_LABELS


@dataclass(frozen=True)
class Edit:
    change: Change
    value: str
    limit: int
    version: int


def is_default(label: str) -> bool:
    return label in DEFAULT_LABELS


def check_label(label: str) -> str:
    if not _LABEL.fullmatch(label):
        raise EditRefused(
            RefusalKind.INVALID, f"label {label[:80]!r} must match {LABEL_PATTERN} (lowercase, digits, underscores)"
        )
    return label


def check_limit(limit: int) -> int:
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise EditRefused(RefusalKind.INVALID, f"limit must be between {MIN_LIMIT} and {MAX_LIMIT} characters")
    return limit


def view(label: str, value: str, limit: int, version: int, written: bool) -> BlockView:
    """The block an edit works on: a default block that is not written reads as the implicit empty default."""
    if not written:
        return BlockView(label, "", DEFAULT_LIMIT, version, False)
    return BlockView(label, value, limit, version, True)


def unwritten(label: str) -> BlockView:
    return BlockView(label, "", DEFAULT_LIMIT, 0, False)


def _existing(block: BlockView) -> BlockView:
    if not block.exists:
        raise EditRefused(
            RefusalKind.UNKNOWN_LABEL, f"core memory block {block.label!r} does not exist (create it first)"
        )
    return block


def _within_limit(block: BlockView, value: str, what: str) -> str:
    if len(value) > block.limit:
        raise EditRefused(
            RefusalKind.OVER_LIMIT,
            f"{what} of {len(value)} characters would exceed the block's limit of {block.limit} characters",
        )
    return value


def create(block: BlockView, value: str, limit: int) -> Edit:
    check_label(block.label)
    check_limit(limit)
    if block.written:
        raise EditRefused(RefusalKind.LABEL_EXISTS, f"core memory block {block.label!r} already exists")
    if len(value) > limit:
        raise EditRefused(
            RefusalKind.OVER_LIMIT, f"value of {len(value)} characters exceeds the limit of {limit} characters"
        )
    return Edit(Change.CREATED, value, limit, block.version + 1)


def append(block: BlockView, content: str) -> Edit:
    _existing(block)
    if not content:
        raise EditRefused(RefusalKind.INVALID, "content must not be empty")
    value = f"{block.value}\n{content}" if block.value else content
    if len(value) > block.limit:
        raise EditRefused(
            RefusalKind.OVER_LIMIT,
            f"appending {len(content)} characters to block {block.label!r} ({len(block.value)} characters now)"
            f" would exceed its limit of {block.limit} characters",
        )
    return Edit(Change.APPENDED, value, block.limit, block.version + 1)


def replace(block: BlockView, old: str, new: str) -> Edit:
    _existing(block)
    if not old:
        raise EditRefused(RefusalKind.INVALID, "old must not be empty")
    if old not in block.value:
        quoted = old if len(old) <= QUOTE_CHARS else old[:QUOTE_CHARS] + "..."
        raise EditRefused(RefusalKind.OLD_TEXT_MISSING, f"{quoted!r} is not in core memory block {block.label!r}")
    value = block.value.replace(old, new)
    _within_limit(block, value, f"block {block.label!r} after the replacement")
    return Edit(Change.REPLACED, value, block.limit, block.version + 1)


def delete(block: BlockView) -> Edit:
    _existing(block)
    # A default block empties back to the implicit default (its limit too); another label stops existing.
    return Edit(Change.DELETED, "", DEFAULT_LIMIT if is_default(block.label) else block.limit, block.version + 1)
