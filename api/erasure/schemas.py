"""The bodies of the erasure routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from api.schemas import CommandAccepted


class ErasureAccepted(CommandAccepted):
    """``DELETE /v1/memories?user_id=…``: the command was accepted; ``erasure_id`` names its receipt."""

    erasure_id: str


class ErasureCommand(msgspec.Struct):
    """Where the erase command sits on the commands topic, and whether the worker has applied it yet (turned it
    into ``UserErased`` on the memory log, which every projector then applies)."""

    applied: bool
    topic: str
    partition: int
    offset: int


class StoreErasure(msgspec.Struct):
    """What one store still holds of the user, counted in the store itself (rows, nodes or keys per part), over
    every target it may hold data in."""

    store: str
    gone: bool
    held: dict[str, int]


class TopicRetention(msgspec.Struct):
    topic: str
    # retention.ms as the broker reports it: -1 keeps records without a time limit; None: it could not be read.
    retention_ms: int | None


class KafkaLog(msgspec.Struct):
    statement: str
    topics: list[TopicRetention]


class ErasureReceipt(msgspec.Struct):
    erasure_id: str
    app_id: str
    user_id: str
    requested_at: datetime
    checked_at: datetime
    # done: the command is applied and every store holds nothing of the user; pending otherwise.
    status: Literal["pending", "done"]
    command: ErasureCommand
    stores: list[StoreErasure]
    targets_checked: list[str]
    kafka_log: KafkaLog
    consistency_token: str
