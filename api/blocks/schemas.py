"""Bodies of ``/v1/blocks``. Label and limit rules are ``memory.blocks.rules``', stated here for the schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas import AppId, NonEmptyId, UserId
from memory.blocks.rules import DEFAULT_LIMIT, LABEL_PATTERN, MAX_LIMIT, MIN_LIMIT
from memory.contract.validation import BLOCK_TEXT_PATTERN

Label = Annotated[str, msgspec.Meta(pattern=LABEL_PATTERN, max_length=64, description="lowercase, digits, _")]
Limit = Annotated[int, msgspec.Meta(ge=MIN_LIMIT, le=MAX_LIMIT, description="the block's size limit in characters")]
# Far beyond any limit; what is longer than the block's limit is a 422 naming both lengths. An empty content or
# old text is refused by memory.blocks.rules with a 400 that names the field ("old must not be empty").
BlockText = Annotated[
    str,
    msgspec.Meta(
        max_length=4 * MAX_LIMIT,
        description="no control characters but tab and line breaks",
        extra_json_schema={"extra": {"pattern": BLOCK_TEXT_PATTERN}},
    ),
]
# Stated, not enforced while decoding: the rules refuse an empty one with a message naming the field.
NonEmptyBlockText = Annotated[
    str,
    msgspec.Meta(
        max_length=4 * MAX_LIMIT,
        description="not empty; no control characters but tab and line breaks",
        extra_json_schema={"extra": {"pattern": BLOCK_TEXT_PATTERN, "minLength": 1}},
    ),
]
ChangeName = Literal["created", "appended", "replaced", "deleted", "refused"]


class BlockOut(msgspec.Struct):
    label: str
    value: str
    limit: int
    version: int
    updated_at: datetime | None  # None: never written (persona and human before their first edit)
    app_id: str
    user_id: str
    agent_id: str | None  # None: the user's blocks, shared by all their agents


class BlockList(msgspec.Struct):
    blocks: list[BlockOut]


class BlockHistoryEntry(msgspec.Struct):
    version: int
    change: ChangeName
    value: str  # the block after the change; for a refused edit, the block as it stayed
    limit: int
    reason: str | None  # why an edit was refused (None unless refused)
    event_id: str
    occurred_at: datetime
    recorded_at: datetime


class BlockHistory(msgspec.Struct):
    label: str
    entries: list[BlockHistoryEntry]


class CreateBlockRequest(msgspec.Struct, forbid_unknown_fields=True):
    label: Label
    value: BlockText = ""
    limit: Limit = DEFAULT_LIMIT
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None


class AppendBlockRequest(msgspec.Struct, forbid_unknown_fields=True):
    content: NonEmptyBlockText
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None


class ReplaceBlockRequest(msgspec.Struct, forbid_unknown_fields=True):
    old: NonEmptyBlockText
    new: BlockText
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None


class BlockWriteAccepted(msgspec.Struct):
    status: str
    event_ids: list[str]
    consistency_token: str
    block: BlockOut  # the block as it will read once applied: what the API checked, plus this edit
