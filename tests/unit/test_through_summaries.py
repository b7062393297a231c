"""Archived originals answered through their summaries (memory.retrieval.through_summaries)."""

from __future__ import annotations

from memory.retrieval.scoring import Scored
from memory.retrieval.through_summaries import best_by_words, fold_into_summaries


def order(*ids: str) -> list[Scored]:
    """Scores falling with the place, each found by the dense retriever at that place."""
    return [Scored(m, 1.0 / place, 0.5 / place, {"dense": place}) for place, m in enumerate(ids, start=1)]


def shown(hits: list) -> list[tuple[str, list[tuple[str, int]]]]:  # type: ignore[type-arg]
    return [(h.scored.memory_id, h.originals) for h in hits]


def test_an_archived_original_brings_its_summary_to_its_place_with_its_score() -> None:
    hits = fold_into_summaries(order("a", "o1", "b"), {"o1": "s"}, top_k=3)
    assert shown(hits) == [("a", []), ("s", [("o1", 2)]), ("b", [])]
    assert hits[1].scored.score == 0.5 and hits[1].scored.ranks == {"dense": 2}


def test_later_originals_of_a_shown_summary_are_listed_under_it_not_shown_again() -> None:
    hits = fold_into_summaries(order("o2", "a", "o1", "s", "b"), {"o1": "s", "o2": "s"}, top_k=3)
    assert shown(hits) == [("s", [("o2", 1), ("o1", 3)]), ("a", []), ("b", [])]


def test_a_summary_stands_where_its_first_original_ranked_not_where_its_own_words_did() -> None:
    # Its words digest the same originals: the order is the one an unconsolidated search gives (a, then o1).
    hits = fold_into_summaries(order("s", "a", "o1"), {"o1": "s"}, top_k=2)
    assert shown(hits) == [("a", []), ("s", [("o1", 3)])]
    hits = fold_into_summaries(order("s", "o1", "a"), {"o1": "s"}, top_k=2)
    assert shown(hits) == [("s", [("o1", 2)]), ("a", [])]


def test_a_summary_none_of_whose_originals_make_the_cut_stands_at_its_own_place() -> None:
    hits = fold_into_summaries(order("s", "a", "b", "o1"), {"o1": "s"}, top_k=2)
    assert shown(hits) == [("s", []), ("a", [])]


def test_top_k_counts_hits_shown_so_folding_fills_it_from_further_down() -> None:
    hits = fold_into_summaries(order("o1", "o2", "o3", "a", "b"), {"o1": "s", "o2": "s", "o3": "t"}, top_k=3)
    assert shown(hits) == [("s", [("o1", 1), ("o2", 2)]), ("t", [("o3", 3)]), ("a", [])]


def test_without_archived_originals_the_order_is_unchanged() -> None:
    assert [h.scored for h in fold_into_summaries(order("a", "b", "c"), {}, top_k=2)] == order("a", "b", "c")[:2]


def test_the_best_original_by_words_is_the_one_sharing_most_of_the_question() -> None:
    originals = [("o1", "Maya: I adopted a cat in Lyon."), ("o2", "Maya: I bought a red bike in Lyon.")]
    assert best_by_words("What colour was the bike Maya bought?", originals) == "o2"
    assert best_by_words("Lyon?", originals) == "o1"  # a tie goes to the earlier
    assert best_by_words("What is the weather?", originals) is None
