"""The pipeline page's dead letters are read incrementally (api/pipeline/letter_cache.py) and a new one still shows.

A real running system on the local stack: messages the worker cannot decode are dead-lettered by it; the API,
which keeps what it read between requests, must show each new letter, and a read from where the last one stopped
must find only what was appended since.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.kafka import SyncProducer, make_producer
from api.pipeline.letter_cache import DeadLetterCache
from memory.contract.positions import LogPosition
from replay.deadletters import read_dead_letters, read_dead_letters_from
from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

pytestmark = pytest.mark.e2e


def dead_letter_garbage(system: RunningSystem, user: str) -> str:
    """Where a message the worker cannot decode landed on the turns topic (a letter's ``origin``)."""
    producer = SyncProducer(make_producer(system.settings))
    key = f"{system.app_id}/{user}".encode()
    ((topic, partition, offset),) = [
        (p.topic, p.partition, p.offset) for p in producer.produce_all([(system.settings.topics.turns, key, b"x")])
    ]
    return f"{topic}/{partition}@{offset}"


def shown_on_the_page(system: RunningSystem) -> list[tuple[str, str]]:
    """(origin, component) of each dead letter the pipeline page lists: one bad message is refused by each
    consumer that reads it (the worker, and the PostgreSQL projector, which reads turns for the conversation log)."""
    with system.client() as client:
        response = client.get("/v1/admin/pipeline")
        assert response.status_code == 200, response.text
        letters: list[dict[str, Any]] = response.json()["dead_letters"]
        return [(letter["origin"], letter["component"]) for letter in letters]


def turns_read_by_every_group(system: RunningSystem) -> bool:
    """Every consumer of the turns topic committed past its end: each has dead-lettered what it refused."""
    with system.client() as client:
        groups = client.get("/v1/admin/pipeline").json()["groups"]
    turns = system.settings.topics.turns
    return all(p["lag"] == 0 for g in groups for p in g["partitions"] if p["topic"] == turns)


def origins_shown(system: RunningSystem) -> set[str]:
    return {origin for origin, _ in shown_on_the_page(system)}


def test_a_new_dead_letter_appears_and_only_the_tail_is_read(system: RunningSystem) -> None:
    user = unique("dlq-")
    first = dead_letter_garbage(system, user)
    wait_until(lambda: first in origins_shown(system), timeout=120, what="the first dead letter on the page")
    wait_until(lambda: turns_read_by_every_group(system), timeout=120, what="every consumer past the first")
    cache = DeadLetterCache(system.settings)
    before = cache.letters()
    read_so_far = read_dead_letters_from(system.settings, {})
    assert {letter.dead_letter_id for _, letter in before} == {
        letter.dead_letter_id for _, letter in read_so_far.letters
    }

    # The API already holds the first letter; a second one, dead-lettered after, still appears beside it.
    second = dead_letter_garbage(system, user)

    def refused_by(origin: str) -> list[str]:
        return sorted(component for at, component in shown_on_the_page(system) if at == origin)

    wait_until(lambda: second in origins_shown(system), timeout=120, what="the second dead letter on the page")
    wait_until(lambda: turns_read_by_every_group(system), timeout=120, what="every consumer past the second")
    assert refused_by(second) == refused_by(first)  # each consumer that refused the first refused the second
    shown = shown_on_the_page(system)
    assert first in {origin for origin, _ in shown}, shown  # kept
    assert len(shown) == len(set(shown)), shown  # and none listed twice

    # Reading on from where the first read stopped finds only what was appended since: the new letter.
    tail = read_dead_letters_from(system.settings, read_so_far.reached)
    assert tail.letters and {origin_of(letter) for _, letter in tail.letters} == {second}, tail.letters
    assert all(pos.offset >= read_so_far.reached[pos.partition] for pos, _ in tail.letters)

    # The cache, read on, holds exactly what a whole read of the topic finds, in the same order.
    whole = list(read_dead_letters(system.settings))
    assert [key(p, letter.dead_letter_id) for p, letter in cache.letters()] == [
        key(p, letter.dead_letter_id) for p, letter in whole
    ]


def origin_of(letter: Any) -> str:
    return f"{letter.origin_topic}/{letter.origin_partition}@{letter.origin_offset}"


def key(position: LogPosition, dead_letter_id: str) -> tuple[int, int, str]:
    return position.partition, position.offset, dead_letter_id
