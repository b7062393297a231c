"""Same question, same answer: equal scores are ordered by when a memory was said (valid time, then log
position), never by its id (memory.retrieval.said_order), in fusion, ranking, neighbour support, the graph
walks' sum and the whole final order; and the projections record the log position a replay writes again."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from api.retrievers.graph import summed
from api.retrievers.topic_walk import Walked
from memory.contract.events import MemoryExtracted
from memory.contract.positions import LogPosition
from memory.retrieval.fusion import reciprocal_rank_fusion
from memory.retrieval.ranking import Candidate, TurnRef, rank, with_conversation_support
from memory.retrieval.recipes import recipe_named
from memory.retrieval.said_order import UNKNOWN_OFFSET, said_key
from memory.retrieval.scoring import CandidateRow, Found, final_order
from projections.base import Positioned
from projections.neo4j import plan as neo4j_plan
from projections.postgres.fold import Plan, fold, segments
from tests.support import make_turn, pipeline_events, unique

NOW = datetime(2026, 5, 6, 12, tzinfo=UTC)
SAID = NOW - timedelta(days=2)  # one timestamp several turns share, as a request's messages do


def test_later_valid_time_then_later_log_position_counts_as_said_later() -> None:
    assert said_key(SAID, 5, "z") > said_key(SAID - timedelta(seconds=1), 9, "z")  # time first
    assert said_key(SAID, 6, "a") > said_key(SAID, 5, "z")  # same time: the log, not the id
    assert said_key(SAID, 0, "a") > said_key(SAID, None, "z")  # a known position beats an unknown one
    assert said_key(SAID, None, "a")[1] == UNKNOWN_OFFSET


def test_fusion_orders_equal_scores_by_when_they_were_said_not_by_id() -> None:
    # "b" and "a" get the same RRF score (rank 1 in one retriever each); "a" was said later.
    ranked = {"dense": ["b"], "sparse": ["a"]}
    said = {"a": said_key(SAID, 11, "a"), "b": said_key(SAID, 10, "b")}
    assert [h.memory_id for h in reciprocal_rank_fusion(ranked, said=said)] == ["a", "b"]
    said = {"a": said_key(SAID, 10, "a"), "b": said_key(SAID, 11, "b")}
    assert [h.memory_id for h in reciprocal_rank_fusion(ranked, said=said)] == ["b", "a"]
    # Without positions (callers outside search), the id still makes the order total.
    assert [h.memory_id for h in reciprocal_rank_fusion(ranked)] == ["a", "b"]


def test_rank_puts_the_later_said_of_two_equal_scores_first() -> None:
    older = Candidate("zzz", 0.03, 0.5, SAID, log_offset=40)
    later = Candidate("aaa", 0.03, 0.5, SAID, log_offset=41)
    assert [r.memory_id for r in rank([later, older], NOW, 0.05, 0.02, 30.0)] == ["aaa", "zzz"]
    assert [r.memory_id for r in rank([older, later], NOW, 0.05, 0.02, 30.0)] == ["aaa", "zzz"]
    later = Candidate("aaa", 0.03, 0.5, SAID, log_offset=39)  # now "zzz" is the later one
    assert [r.memory_id for r in rank([later, older], NOW, 0.05, 0.02, 30.0)] == ["zzz", "aaa"]


def test_a_turn_s_gain_goes_to_its_later_said_memory_when_its_memories_tie() -> None:
    first = Candidate("m-z", 0.02, 0.5, SAID, log_offset=7)
    second = Candidate("m-a", 0.02, 0.5, SAID, log_offset=8)
    refs = {"m-z": TurnRef("c", ("t1",), 0), "m-a": TurnRef("c", ("t1",), 0)}
    boosted = with_conversation_support([first, second], refs, 0.25, 0.0, 2)
    assert {c.memory_id: c.fused_score for c in boosted} == pytest.approx({"m-z": 0.02, "m-a": 0.025})


def test_the_graph_walks_sum_breaks_ties_by_when_said() -> None:
    entities = [Walked("x", 1.0, (100, 3)), Walked("y", 0.5, (100, 9))]
    topics = [Walked("y", 0.5, (100, 9)), Walked("z", 1.0, (200, 1)), Walked("w", 1.0, (100, 4))]
    # x, y, z and w all sum to 1.0: z was said last (later time), then w, y (same time, later offsets), then x.
    assert [f.memory_id for f in summed(entities, topics, 10)] == ["z", "y", "w", "x"]
    assert [f.memory_id for f in summed(entities, topics, 2)] == ["z", "y"]  # the cut keeps the same ones


# --- the whole final order, for two users who said the same things ---------------------------------------------

TEXTS = [
    "Alice: I adopted a dog named Max last spring.",
    "Alice: Max loves the beach.",
    "Alice: Thanks!",
    "Alice: Thanks!",
    "Alice: I started pottery classes on Tuesdays.",
    "Alice: My sister Nora lives in Porto.",
    "Alice: We went hiking with Max in the Alps.",
    "Alice: Sounds good.",
    "Alice: Sounds good.",
    "Alice: I work as a nurse at the city hospital.",
]


def _said(index: int) -> tuple[datetime, int]:
    """Turns in sessions of four, each session's turns sharing one timestamp; offsets grow with the log."""
    return SAID - timedelta(days=10 - index // 4), 100 + 3 * index


def _user(ids: list[str]) -> dict[str, CandidateRow]:
    rows = {}
    for index, (memory_id, text) in enumerate(zip(ids, TEXTS, strict=True)):
        valid_from, offset = _said(index)
        rows[memory_id] = CandidateRow(
            memory_id,
            text,
            0.5,
            valid_from,
            speaker="Alice",
            conversation_id="c",
            source_turn_ids=(f"{uuid.uuid4()}:0",),  # turn ids the API drew at random
            log_offset=offset,
        )
    return rows


def _found(ids: list[str], rng: random.Random) -> dict[str, list[Found]]:
    """What the retrievers return, with ties (equal scores) in an order of the store's choosing."""
    scores = {
        "dense": [0.61, 0.55, 0.4, 0.4, 0.3, 0.3, 0.55, 0.35, 0.35, 0.3],
        "sparse": [4.0, 4.0, 0.0, 0.0, 1.0, 1.0, 4.0, 0.0, 0.0, 1.0],
        "graph": [2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0],
    }
    found = {}
    for kind, per_text in scores.items():
        matches = [Found(memory_id, score) for memory_id, score in zip(ids, per_text, strict=True) if score > 0]
        rng.shuffle(matches)
        found[kind] = sorted(matches, key=lambda f: -f.score)  # best first; equal ones as shuffled
    return found


def _positions(rows: dict[str, CandidateRow]) -> dict[tuple[str, str], int]:
    """Turn positions as api.reader.TURN_POSITIONS numbers them: valid time, then log position."""
    ordered = sorted(rows.values(), key=lambda r: (r.valid_from, r.log_offset))
    return {(r.conversation_id, r.source_turn_ids[0]): index for index, r in enumerate(ordered)}


@pytest.mark.parametrize("seed", range(25))
def test_two_users_who_said_the_same_things_get_the_same_ranking(seed: int) -> None:
    rng = random.Random(seed)
    orders = []
    for _ in range(2):
        ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in TEXTS]  # ids derive from random event ids
        rows = _user(ids)
        order = final_order(
            _found(ids, rng), rows, recipe_named("hybrid"), "What about Max?", NOW, None, _positions(rows)
        )
        orders.append([(rows[s.memory_id].text, rows[s.memory_id].log_offset) for s in order])
    assert orders[0] == orders[1]
    assert len(orders[0]) == len(TEXTS)


def test_duplicates_said_at_one_time_come_later_said_first() -> None:
    # Without neighbour support, the two "Thanks!" (one session, one timestamp) tie on everything but the log.
    recipe = dataclasses.replace(recipe_named("hybrid"), neighbour_share=0.0, sibling_share=0.0)
    for seed in range(5):
        rng = random.Random(seed)
        ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in TEXTS]
        rows = _user(ids)
        order = final_order(_found(ids, rng), rows, recipe, "What about Max?", NOW)
        thanks = [rows[s.memory_id].log_offset for s in order if rows[s.memory_id].text == "Alice: Thanks!"]
        assert thanks == [109, 106]


# --- the projections record the position ------------------------------------------------------------------------


def _extraction_log() -> tuple[list[object], list[MemoryExtracted]]:
    user = unique("u")
    turns = [make_turn(user, "I moved to Lisbon last year.", "t1"), make_turn(user, "I work as a nurse.", "t2")]
    events: list[object] = [*turns, *pipeline_events(turns, lambda texts: [np.ones(384, np.float32) for _ in texts])]
    return events, [e for e in events if isinstance(e, MemoryExtracted)]


def test_postgres_keeps_the_offset_of_the_first_extraction_even_when_it_is_redelivered() -> None:
    events, extracted = _extraction_log()
    redelivered = [*events, *extracted]  # a worker re-sent the extraction after a crash: later offsets
    items = [Positioned(event, LogPosition("memories", 0, 50 + offset)) for offset, event in enumerate(redelivered)]
    [(segment, _)] = segments(items)
    plan = Plan()
    for item in segment:
        fold(plan, item)
    first = {item.event.memory_id: item.position.offset for item in reversed(items) if item.event in extracted}
    assert {row.memory_id: row.log_offset for row in plan.created_rows()} == first
    assert len(first) == len(extracted) >= 2


def test_neo4j_memory_rows_carry_the_offset_of_their_extraction() -> None:
    events, extracted = _extraction_log()
    offsets = [70 + i for i in range(len(events))]
    written = {
        row["memory_id"]: row["log_offset"]
        for step in neo4j_plan.steps(events, offsets)  # type: ignore[arg-type]
        if not isinstance(step, neo4j_plan.Deletes)
        for kind, rows in step
        if kind == neo4j_plan.MEMORY
        for row in rows
    }
    assert written == {e.memory_id: offsets[events.index(e)] for e in extracted}
    assert neo4j_plan.row_of(extracted[0]).values["log_offset"] is None  # type: ignore[union-attr]
