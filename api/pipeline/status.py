"""Reads the pipeline's state for ``/v1/admin/pipeline``.

Lag: for each consumer group of this system (the Faust worker, ``settings.faust_app_id``; one projector group per
store and serving target), the high watermark of each partition it reads minus the group's committed offset.

Dead letters are read from their topic through ``api.pipeline.letter_cache`` (only what was appended since the
last request; in a thread: the Kafka reader is synchronous), and only those of the caller's app are shown: a
letter's origin key is ``app/user``, so an app's admin never sees another app's failures, and a letter whose key
names no app (a message that could not be keyed) is shown to no app's admin; ``memstream replay deadletter list``
shows it to the operator.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.log_offsets import LogOffsets, Partition
from api.pipeline.letter_cache import DeadLetterCache
from api.pipeline.schemas import DeadLetterOut, GroupLag, PartitionLag, PipelineStatus
from memory.contract.events import DeadLetter
from memory.settings import Settings
from projections.targets import group_id
from replay.deadletters import distinct


def groups_of(settings: Settings, targets: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Group -> (its role, the topic it certainly reads). Which other topics a group reads (the PostgreSQL
    projector also reads the turns, for the conversation log) is read off its commits, so this module need not
    know each projector's wiring (which the API may not import)."""
    topics = settings.topics
    groups = {settings.faust_app_id: ("worker", topics.turns)}
    for store, target in sorted(targets.items()):
        groups[group_id(settings, store, target)] = (f"projection {store} ({target})", topics.memories)
    return groups


async def consumer_lag(settings: Settings, offsets: LogOffsets, groups: dict[str, tuple[str, str]]) -> list[GroupLag]:
    topics = settings.topics
    ends = await offsets.topic_ends([topics.turns, topics.commands, topics.memories])
    every: list[Partition] = sorted(ends)
    answers = []
    for group, (role, main_topic) in groups.items():
        committed = await offsets.committed(group, every)
        read = {main_topic} | {topic for topic, _ in committed}
        rows = [
            PartitionLag(
                topic=topic,
                partition=partition,
                end=ends[(topic, partition)],
                committed=committed.get((topic, partition)),
                lag=max(0, ends[(topic, partition)] - committed.get((topic, partition), 0)),
            )
            for topic, partition in every
            if topic in read
        ]
        answers.append(GroupLag(group=group, role=role, partitions=rows, lag=sum(r.lag for r in rows)))
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
        consumer_lag(settings, offsets, groups_of(settings, targets)),
        asyncio.to_thread(letters_of, letters_read, app_id),
    )
    return PipelineStatus(
        groups=lag,
        targets=dict(sorted(targets.items())),
        dead_letters=[letter_out(letter) for _, letter in letters],
        read_at=datetime.now(UTC),
    )
