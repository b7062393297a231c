from __future__ import annotations

import math

import numpy as np
import pytest

from memory.language.sentences import split_speaker
from memory.lifecycle.dedupe import (
    DEFAULT_SIMILARITY_THRESHOLD,
    cosine_similarity,
    is_duplicate,
    normalise,
)


def unit_pair(cosine: float, dim: int = 384) -> tuple[list[float], list[float]]:
    """Two L2-normalised vectors whose cosine is exactly ``cosine``."""
    a = np.zeros(dim)
    b = np.zeros(dim)
    a[0] = 1.0
    b[0], b[1] = cosine, math.sqrt(1 - cosine**2)
    return a.tolist(), b.tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Caroline: I love coffee!", "i love coffee"),
        ("I LOVE   coffee.", "i love coffee"),
        ("Mary Ann: I don't  like\ttea...", "i dont like tea"),
        ("Caroline: I don\u2019t like tea", "i dont like tea"),
        ("User: coffee,tea & cake", "coffee tea cake"),
        ("\uff29 love caf\u00e9", "i love café"),  # full-width I folds to I; accents stay
        ("I love coffee: it's great", "i love coffee its great"),  # not a speaker
        ("10:30 meeting with Bob", "10 30 meeting with bob"),
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "speaker", "body"),
    [
        ("Caroline: I went to Rome.", "Caroline", "I went to Rome."),
        ("Mary Ann: hi there", "Mary Ann", "hi there"),
        ("I love coffee: it's great", None, "I love coffee: it's great"),
        ("My plan: go to Rome", None, "My plan: go to Rome"),
        ("note: buy milk", None, "note: buy milk"),
        ("see http://example.org", None, "see http://example.org"),
        ("  Melanie:   spaced  ", "Melanie", "spaced"),
    ],
)
def test_split_speaker(text: str, speaker: str | None, body: str) -> None:
    assert split_speaker(text) == (speaker, body)


def test_same_normalised_text_is_a_duplicate_without_vectors() -> None:
    assert is_duplicate("Caroline: I love coffee!", None, "CAROLINE: i love   COFFEE", None)


def test_different_text_without_vectors_is_not() -> None:
    assert not is_duplicate("I love coffee", None, "I really love coffee", None)


def test_a_verbatim_memory_matches_any_speaker() -> None:
    assert is_duplicate("I love coffee", None, "Caroline: I love coffee.", None)


def test_different_speakers_are_never_duplicates() -> None:
    same = [0.6] * 4
    assert not is_duplicate("Caroline: I love coffee", same, "Melanie: I love coffee", same)


def test_empty_texts_repeat_nothing() -> None:
    assert not is_duplicate("...", None, "!!", None)


@pytest.mark.parametrize(
    ("cosine", "expected"), [(0.95, True), (DEFAULT_SIMILARITY_THRESHOLD, True), (0.9199, False), (0.5, False)]
)
def test_similarity_at_or_above_the_threshold_is_a_duplicate(cosine: float, expected: bool) -> None:
    a, b = unit_pair(cosine)
    assert is_duplicate("Caroline: I play tennis every week", a, "Caroline: I play tennis weekly", b) is expected


def test_the_threshold_can_be_set() -> None:
    a, b = unit_pair(0.85)
    assert not is_duplicate("I play tennis every week", a, "I play tennis weekly", b)
    assert is_duplicate("I play tennis every week", a, "I play tennis weekly", b, threshold=0.8)


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("I am 31 years old", "I am 30 years old"),  # MiniLM: 0.980
        ("I went to Rome in June", "I went to Rome in May"),  # 0.977
        ("I went to Rome on Monday", "I went to Rome on Friday"),
        ("I don't love coffee", "I love coffee"),  # 0.923
        ("I no longer drink coffee", "I drink coffee"),
        ("My locker code is zq49b1e2", "My locker code is zqc7724a"),  # codes: different facts
        ("My flight is LH123", "My flight is LH456"),
    ],
)
def test_numbers_dates_and_negation_veto_the_similarity_path(new: str, old: str) -> None:
    a, b = unit_pair(0.99)
    assert not is_duplicate(new, a, old, b)


def test_two_negated_paraphrases_can_still_be_duplicates() -> None:
    a, b = unit_pair(0.95)
    assert is_duplicate("I no longer live in Paris", a, "I don't live in Paris anymore", b)


def test_cosine_does_not_assume_normalised_vectors() -> None:
    assert cosine_similarity([3.0, 0.0], [2.0, 2.0]) == pytest.approx(math.sqrt(0.5))
    assert cosine_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0


def test_vectors_of_different_models_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="shapes"):
        is_duplicate("I love tea", [1.0, 0.0], "I adore tea", [1.0, 0.0, 0.0])


def test_a_different_name_is_a_different_fact_however_similar_the_vectors() -> None:
    from memory.lifecycle.dedupe import is_duplicate_at

    lisbon = "Ann: I keep a small vegetable garden in Lisbon with Nadia."
    oslo = "Ann: I keep a small vegetable garden in Oslo with Nadia."
    assert not is_duplicate_at(lisbon, oslo, 0.97, 0.92)
    assert not is_duplicate(lisbon, [1.0, 0.0], oslo, [1.0, 0.0])
    # Sentence-initial capitals are not names: a reworded repeat still counts.
    assert is_duplicate_at("Ann: Honestly I keep a garden in Lisbon.", "Ann: I keep a garden in Lisbon.", 0.95, 0.92)
