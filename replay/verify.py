"""``memstream replay verify``: compare two targets store by store, by memory id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from memory.settings import Settings
from projections.targets import settings_for_target
from replay.stores import milvus_rows, neo4j_rows, postgres_rows, postgres_turns, redis_rows

READERS: dict[str, Callable[[Settings], dict[str, str]]] = {
    "postgres": postgres_rows,
    "postgres_turns": postgres_turns,
    "milvus": milvus_rows,
    "neo4j": neo4j_rows,
    "redis": redis_rows,
}


@dataclass
class StoreDiff:
    store: str
    left_count: int
    right_count: int
    only_left: list[str] = field(default_factory=list)
    only_right: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.only_left or self.only_right or self.different)


def compare(left: dict[str, str], right: dict[str, str], store: str) -> StoreDiff:
    return StoreDiff(
        store,
        len(left),
        len(right),
        only_left=sorted(set(left) - set(right)),
        only_right=sorted(set(right) - set(left)),
        different=sorted(k for k in set(left) & set(right) if left[k] != right[k]),
    )


def verify(settings: Settings, left: str, right: str, stores: tuple[str, ...]) -> list[StoreDiff]:
    """Differences between target ``left`` and target ``right`` (e.g. ``live`` and a rebuild)."""
    left_settings, right_settings = settings_for_target(settings, left), settings_for_target(settings, right)
    readers = [name for name in READERS if name.split("_")[0] in stores]
    return [compare(READERS[n](left_settings), READERS[n](right_settings), n) for n in readers]
