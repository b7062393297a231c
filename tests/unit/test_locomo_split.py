"""The fixed halves of LoCoMo (bench/locomo_split.py) and the per-half report of bench/locomo.py."""

from __future__ import annotations

import pytest

from bench.locomo import split_recall
from bench.locomo_data import DropReport, EvidenceSet
from bench.locomo_search import RecipeRun
from bench.locomo_split import HALVES, HELD_OUT, TUNING, WHOLE, half_of, in_half, restrict


def test_the_halves_are_conversations_0_to_4_and_5_to_9() -> None:
    assert list(HALVES[TUNING]) == [0, 1, 2, 3, 4]
    assert list(HALVES[HELD_OUT]) == [5, 6, 7, 8, 9]
    assert [half_of(i) for i in range(10)] == [TUNING] * 5 + [HELD_OUT] * 5
    with pytest.raises(ValueError):
        half_of(10)


def test_whole_holds_every_question_and_each_half_its_own() -> None:
    assert in_half((7, 3), WHOLE) and in_half((0, 0), WHOLE)
    assert in_half((4, 9), TUNING) and not in_half((5, 0), TUNING)
    assert in_half((5, 0), HELD_OUT) and not in_half((4, 9), HELD_OUT)


EVIDENCE = EvidenceSet({(0, 0): ("D1:1",), (1, 0): ("D1:1",), (6, 0): ("D2:2",), (9, 1): ("D1:3",)}, DropReport())


def test_restrict_keeps_the_half_s_questions() -> None:
    assert set(restrict(EVIDENCE, TUNING).evidence) == {(0, 0), (1, 0)}
    assert set(restrict(EVIDENCE, HELD_OUT).evidence) == {(6, 0), (9, 1)}
    assert restrict(EVIDENCE, WHOLE).evidence == EVIDENCE.evidence


def test_split_recall_scores_each_half_apart() -> None:
    # Both tuning questions found at rank 1; of the held-out ones, one found and one missed.
    rankings = {(0, 0): ["D1:1"], (1, 0): ["D1:1"], (6, 0): ["D2:2"], (9, 1): ["D9:9"]}
    categories = {key: 4 for key in rankings}
    split = split_recall({"original": EVIDENCE}, categories, {"hybrid": RecipeRun(rankings, [], [])})
    tables = split["recall"]["hybrid"]["original"]
    assert tables[TUNING]["overall"]["R@10"] == 1.0
    assert tables[HELD_OUT]["overall"]["R@10"] == 0.5
    assert tables[WHOLE]["overall"]["R@10"] == 0.75
    assert tables[WHOLE]["overall"]["questions"] == 4
    assert split["halves"][TUNING] == [f"conversation {i}" for i in range(5)]
