"""What every projector is: a name, the topics it reads, and idempotent application of events at positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memory.contract.positions import LogPosition


class ProjectionError(Exception):
    """Base error of the projections package."""


class PoisonEventError(ProjectionError):
    """This one event can never be applied (bad data, not a store outage): dead-letter it and move on."""


@dataclass(frozen=True)
class Positioned:
    event: Any
    position: LogPosition


class Projector(Protocol):
    name: str
    topics: tuple[str, ...]

    def checkpoints(self) -> dict[tuple[str, int], int]:
        """Last applied offset per (topic, partition); the runner resumes after it."""
        ...

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        """Apply in order and record the checkpoint; applying an already applied item changes nothing."""
        ...

    def close(self) -> None: ...


def newer_than_checkpoint(items: Sequence[Positioned], checkpoints: dict[tuple[str, int], int]) -> list[Positioned]:
    """Drop what a checkpoint says was applied: the duplicate is detected and skipped, not an error."""
    return [
        item
        for item in items
        if item.position.offset > checkpoints.get((item.position.topic, item.position.partition), -1)
    ]


def highest_positions(items: Sequence[Positioned]) -> dict[tuple[str, int], int]:
    highest: dict[tuple[str, int], int] = {}
    for item in items:
        key = (item.position.topic, item.position.partition)
        highest[key] = max(highest.get(key, -1), item.position.offset)
    return highest
