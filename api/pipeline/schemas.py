"""The pipeline page's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

MAX_REDRIVE = 100


class PartitionLag(msgspec.Struct):
    topic: str
    partition: int
    end: int  # the high watermark: one past the last record
    committed: int | None  # the group's next offset; None: it has committed nothing there yet
    lag: int  # records written and not yet read past (end when nothing is committed)


class GroupLag(msgspec.Struct):
    group: str
    # What the group is: "worker", or "projection <store>" with its target ("live", "blue", ...).
    role: str
    partitions: list[PartitionLag]
    lag: int


class DeadLetterOut(msgspec.Struct):
    dead_letter_id: str
    component: str
    reason: str
    error_type: str
    origin: str  # topic/partition@offset of the message that failed
    original_bytes: int
    failed_at: datetime


class PipelineStatus(msgspec.Struct):
    groups: list[GroupLag]
    # Store -> the projection target the API reads now (memstream_targets).
    targets: dict[str, str]
    dead_letters: list[DeadLetterOut]
    read_at: datetime


class RedriveRequest(msgspec.Struct, forbid_unknown_fields=True):
    # The dead letters to re-drive (ids from GET /v1/admin/pipeline), each once, in this order.
    dead_letter_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_REDRIVE)]


class Redriven(msgspec.Struct):
    dead_letter_id: str
    # Where the original message was produced again: topic/partition@offset.
    redriven_to: str


class RedriveAccepted(msgspec.Struct):
    redriven: list[Redriven]
