"""The final order of a search from retriever results and rows (memory.retrieval.scoring.final_order),
without a store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from memory.language.time_expressions import TimeRange
from memory.retrieval.recipes import recipe_named
from memory.retrieval.scoring import (
    OUT_OF_RANGE,
    VAGUE_OUT_OF_RANGE,
    VAGUE_TEMPORAL_VOTE,
    CandidateRow,
    Found,
    asked_range,
    final_order,
    fusion_weights,
    in_range_factor,
    prior,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def row(memory_id: str, text: str, **fields: object) -> CandidateRow:
    defaults: dict[str, object] = {"importance": 0.5, "valid_from": NOW - 3 * DAY}
    return CandidateRow(memory_id, text, **{**defaults, **fields})  # type: ignore[arg-type]


def ids(order: list) -> list[str]:  # type: ignore[type-arg]
    return [s.memory_id for s in order]


def test_what_two_retrievers_agree_on_ranks_first_and_invisible_matches_drop_out() -> None:
    rows = {
        "paris": row("paris", "I live in Paris with my sister Nora."),
        "lisbon": row("lisbon", "Sarah works at Lumen Labs in Lisbon."),
        "berlin": row("berlin", "We moved to Berlin after the wedding."),
    }
    found = {
        "dense": [Found("lisbon", 0.61), Found("paris", 0.60), Found("forgotten", 0.9)],
        "sparse": [Found("paris", 7.0), Found("berlin", 6.9)],
    }
    order = final_order(found, rows, recipe_named("dense_sparse"), "where do I live", NOW)
    assert ids(order) == ["paris", "lisbon", "berlin"]  # "forgotten" has no visible row: never shown
    top = order[0]
    assert top.ranks == {"dense": 2, "sparse": 1}  # ranks among the visible matches
    assert top.score == pytest.approx(1.0, abs=0.05) and top.fused_score > order[1].fused_score


def test_a_vague_remark_ranked_first_by_the_retriever_yields_to_a_specific_fact() -> None:
    rows = {
        "remark": row("remark", "That sounds so great!"),
        "fact": row("fact", "I adopted a beagle named Biscuit in Denver."),
    }
    found = {"dense": [Found("remark", 0.50), Found("fact", 0.49)]}
    assert ids(final_order(found, rows, recipe_named("dense"), "tell me about my dog", NOW)) == ["fact", "remark"]
    # With the specificity prior off, the retriever's own order stands.
    plain = dataclasses.replace(recipe_named("dense"), specificity_exponent=0.0)
    assert ids(final_order(found, rows, plain, "tell me about my dog", NOW)) == ["remark", "fact"]


def test_the_person_the_query_names_is_favoured_and_a_time_range_discounts_what_lies_outside() -> None:
    rows = {
        "melanie": row("melanie", "Melanie: I painted a sunset over the lake.", speaker="Melanie"),
        "caroline": row("caroline", "Caroline: I painted a sunrise over the lake.", speaker="Caroline"),
    }
    found = {"dense": [Found("melanie", 0.70), Found("caroline", 0.69)]}
    recipe = recipe_named("dense")
    assert ids(final_order(found, rows, recipe, "What did Caroline paint?", NOW)) == ["caroline", "melanie"]
    assert ids(final_order(found, rows, recipe, "What did they paint?", NOW)) == ["melanie", "caroline"]

    last_week = TimeRange(NOW - 7 * DAY, NOW, "last week")
    dated = {
        "old": row("old", "I painted a sunset over the lake.", valid_from=NOW - 40 * DAY),
        "new": row("new", "I painted a sunrise over the lake.", valid_from=NOW - 2 * DAY),
    }
    found = {"dense": [Found("old", 0.70), Found("new", 0.69)], "temporal": []}
    assert ids(final_order(found, dated, recipe_named("hybrid"), "What did I paint last week?", NOW, last_week)) == [
        "new",
        "old",
    ]
    assert prior(recipe, dated["old"], last_week, set(), None) == pytest.approx(
        OUT_OF_RANGE * prior(recipe, dated["new"], last_week, set(), None)
    )


def test_a_vague_time_only_leans_a_clearly_better_match_from_outside_stays_first() -> None:
    dated = {
        "answer": row("answer", "I told my sister about the new kayak.", valid_from=NOW - 12 * DAY),
        "nearby": row("nearby", "My sister called about dinner plans.", valid_from=NOW - 4 * DAY),
    }
    # The answer matches clearly better (dense and BM25 agree) but lies just outside the guessed range.
    found = {
        "dense": [Found("answer", 0.70), Found("nearby", 0.50)],
        "sparse": [Found("answer", 6.0)],
        "temporal": [Found("nearby", 1.0)],
    }
    recipe = recipe_named("hybrid")
    question = "what did I tell my sister a few days ago?"
    guess = (NOW - 10 * DAY, NOW)
    vague = TimeRange(*guess, "a few days ago", vague=True)
    assert ids(final_order(found, dated, recipe, question, NOW, vague))[0] == "answer"
    precise = TimeRange(*guess, "in the last 10 days")
    assert ids(final_order(found, dated, recipe, question, NOW, precise))[0] == "nearby"  # a precise time decides
    assert in_range_factor(vague, NOW - 12 * DAY) == VAGUE_OUT_OF_RANGE > OUT_OF_RANGE
    assert in_range_factor(vague, NOW - 4 * DAY) == in_range_factor(None, NOW) == 1.0
    halved = VAGUE_TEMPORAL_VOTE * fusion_weights(recipe, precise)["temporal"]
    assert fusion_weights(recipe, vague)["temporal"] == halved


def test_a_time_range_counts_only_for_recipes_that_read_time() -> None:
    span = TimeRange(NOW - 7 * DAY, NOW, "last week")
    assert asked_range(recipe_named("hybrid"), span) == span
    assert asked_range(recipe_named("dense"), span) is None


def test_siblings_of_one_turn_vouch_for_its_best_memory() -> None:
    said = {"conversation_id": "c1", "source_turn_ids": ("t7",)}
    rows = {
        "alone": row("alone", "I bought a red kayak in Oslo.", conversation_id="c1", source_turn_ids=("t2",)),
        "lead": row("lead", "I bought a blue canoe in Bergen.", **said),
        "sibling": row("sibling", "The canoe cost 900 kroner in Bergen.", **said),
    }
    found = {"sparse": [Found("alone", 5.0), Found("lead", 4.9), Found("sibling", 1.0)]}
    order = final_order(found, rows, recipe_named("sparse"), "boat purchase", NOW)
    assert ids(order) == ["lead", "alone", "sibling"]
    no_support = dataclasses.replace(recipe_named("sparse"), sibling_share=0.0, neighbour_share=0.0)
    assert ids(final_order(found, rows, no_support, "boat purchase", NOW))[0] == "alone"


def test_a_memory_knows_its_turn_position_only_when_it_comes_from_one_turn() -> None:
    positions = {("c1", "t1"): 4}
    one = row("one", "x", conversation_id="c1", source_turn_ids=("t1",))
    two = row("two", "x", conversation_id="c1", source_turn_ids=("t1", "t2"))
    assert one.turn_ref(positions).index == 4
    assert two.turn_ref(positions).index is None
