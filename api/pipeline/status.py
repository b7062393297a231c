"""Reads the pipeline's state for ``/v1/admin/pipeline``.

Lag: for each consumer group of this system (the Faust worker, ``settings.faust_app_id``; one projector group per
store and serving target: ``projections.targets.consumer_groups``), the high watermark of each partition it reads
minus the group's committed offset.

Dead letters are read from their topic through ``api.pipeline.letter_cache`` (only what was appended since the
last request; in a thread: the Kafka reader is synchronous), and only those of the caller's app are shown: a
letter's origin key is ``app/user``, so an app's admin never sees another app's failures, and a letter whose key
names no app (a message that could not be keyed) is shown to no app's admin; ``memstream replay deadletter list``
shows it to the operator.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.log_offsets import LogOffsets, group_positions
from api.pipeline.letter_cache import DeadLetterCache
from api.pipeline.schemas import DeadLetterOut, GroupLag, PartitionLag, PipelineStatus
from memory.contract.events import DeadLetter
from memory.settings import Settings
from projections.targets import consumer_groups
from replay.deadletters import distinct


async def consumer_lag(settings: Settings, offsets: LogOffsets, targets: dict[str, str]) -> list[GroupLag]:
    """Every pipeline group's position on each partition it reads (projections.targets.consumer_groups)."""
    groups = consumer_groups(settings, targets)
    found = await asyncio.gather(*(group_positions(offsets, group, g.topics) for group, g in groups.items()))
    answers = []
    for (group, g), positions in zip(groups.items(), found, strict=True):
        rows = [
            PartitionLag(topic=topic, partition=partition, end=at.end, committed=at.committed, lag=at.lag)
            for (topic, partition), at in positions.items()
        ]
        answers.append(GroupLag(group=group, role=g.role, partitions=rows, lag=sum(r.lag for r in rows)))
    return answers


def belongs_to(letter: DeadLetter, app_id: str | None) -> bool:
    """``app_id`` None: the caller of every app (authentication off)."""
    if app_id is None:
        return True
    key = (letter.origin_key or b"").decode("utf-8", "replace")
    return key.startswith(f"{app_id}/")


def letters_of(cache: DeadLetterCache, app_id: str | None) -> list[tuple[str, DeadLetter]]:
    """(where it is, the letter) for the app's dead letters, oldest first, each once."""
    return [
        (f"{pos.topic}/{pos.partition}@{pos.offset}", letter)
        for pos, letter in distinct(cache.letters())
        if belongs_to(letter, app_id)
    ]


def letter_out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        dead_letter_id=letter.dead_letter_id,
        component=letter.component,
        reason=letter.reason,
        error_type=letter.error_type,
        origin=f"{letter.origin_topic}/{letter.origin_partition}@{letter.origin_offset}",
        original_bytes=letter.original_size,
        failed_at=letter.failed_at,
    )


async def pipeline_status(
    settings: Settings, offsets: LogOffsets, letters_read: DeadLetterCache, targets: dict[str, str], app_id: str | None
) -> PipelineStatus:
    lag, letters = await asyncio.gather(
        consumer_lag(settings, offsets, targets),
        asyncio.to_thread(letters_of, letters_read, app_id),
    )
    return PipelineStatus(
        groups=lag,
        targets=dict(sorted(targets.items())),
        dead_letters=[letter_out(letter) for _, letter in letters],
        read_at=datetime.now(UTC),
    )
