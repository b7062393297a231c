"""bench/lifecycle.py's recall by turns: turns counted at the places the search ranked them."""

from __future__ import annotations

from typing import Any

from bench.lifecycle import hit_turns, turns_by_place


def plain(turn: str) -> dict[str, Any]:
    return {"id": f"m-{turn}", "metadata": {"dia_id": turn}, "originals": []}


def summary(sid: str, *originals: tuple[str, int | None]) -> dict[str, Any]:
    listed = [{"id": f"o-{t}", "metadata": {"dia_id": t}, "rank": rank} for t, rank in originals]
    return {"id": sid, "metadata": {}, "originals": listed}


def test_a_summarys_later_originals_count_at_their_own_places() -> None:
    # Ranked: D1 (archived, brings S), D2, D3 (archived, under S), D4.
    hits = [summary("S", ("D1", 1), ("D3", 3)), plain("D2"), plain("D4")]
    assert turns_by_place(hits, {}) == ["D1", "D2", "D3", "D4"]
    assert [hit_turns(h, {}) for h in hits] == [["D1", "D3"], ["D2"], ["D4"]]  # by items: grouped


def test_a_hit_after_a_summary_stands_after_the_summarys_first_original() -> None:
    # Ranked: D1 (archived, brings S), D2, D5 (archived, under S), D6.
    hits = [summary("S", ("D1", 1), ("D5", 3)), plain("D2"), plain("D6")]
    assert turns_by_place(hits, {}) == ["D1", "D2", "D5", "D6"]
    # A summary alone in the hits lists its best original by words (no rank): that is its turn, at its place.
    assert turns_by_place([summary("T", ("D6", None)), plain("D2")], {"T": ["D6", "D9"]}) == ["D6", "D2"]


def test_a_summary_listing_nothing_counts_the_turns_it_still_says() -> None:
    hits = [plain("D1"), summary("S")]
    assert turns_by_place(hits, {"S": ["D8", "D9"]}) == ["D1", "D8", "D9"]
