"""The tick gate (streams/agents/tick_gate.py): ticks wait until the memory log's backlog at assignment is folded."""

from __future__ import annotations

import asyncio

from streams.agents.tick_gate import Backlog, TickGate


def gate_over(backlogs: dict[int, Backlog], asked: list[list[int]] | None = None) -> TickGate:
    async def read(partitions: list[int]) -> dict[int, Backlog]:
        if asked is not None:
            asked.append(partitions)
        return {p: backlogs[p] for p in partitions}

    return TickGate(read)


def test_a_partition_with_a_backlog_opens_once_the_offset_before_its_end_is_folded() -> None:
    gate = gate_over({0: (10, 15)})
    asyncio.run(gate.prepare([0]))
    assert not gate.is_open(0)
    gate.folded(0, 13)
    assert not gate.is_open(0)
    gate.folded(0, 14)
    assert gate.is_open(0)


def test_a_partition_read_to_its_end_or_empty_is_open_at_once() -> None:
    gate = gate_over({0: (15, 15), 1: (None, 0), 2: (None, 3)})
    asyncio.run(gate.prepare([0, 1, 2]))
    assert (gate.is_open(0), gate.is_open(1), gate.is_open(2)) == (True, True, False)


def test_offsets_folded_before_the_backlog_was_asked_for_count() -> None:
    gate = gate_over({0: (10, 15)})
    gate.folded(0, 20)  # a batch of memory events came before the first tick
    asyncio.run(gate.prepare([0]))
    assert gate.is_open(0)


def test_the_backlog_is_asked_once_per_assignment_and_again_after_a_reset() -> None:
    asked: list[list[int]] = []
    gate = gate_over({0: (5, 5), 1: (0, 4)}, asked)
    asyncio.run(gate.prepare([1, 0, 1]))
    asyncio.run(gate.prepare([0, 1]))
    assert asked == [[0, 1]]
    gate.reset()
    assert not gate.is_open(0)
    asyncio.run(gate.prepare([0]))
    assert asked == [[0, 1], [0]] and gate.is_open(0)


def test_the_gate_shuts_while_this_workers_own_events_are_not_read_back() -> None:
    gate = gate_over({0: (5, 5)})
    asyncio.run(gate.prepare([0]))
    assert gate.is_open(0)
    gate.produced(0, 9)  # a consolidation's events, written at offsets up to 9
    assert not gate.is_open(0)
    gate.folded(0, 8)
    assert not gate.is_open(0)
    gate.folded(0, 9)
    assert gate.is_open(0)


def test_a_partition_never_asked_about_is_shut() -> None:
    gate = gate_over({0: (5, 5)})
    gate.folded(0, 100)
    assert not gate.is_open(0)
