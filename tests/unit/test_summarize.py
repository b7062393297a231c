from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from memory.lifecycle.summarize import (
    DEFAULT_MAX_CHARS,
    MIN_SUMMARY_CHARS,
    SUMMARY_SHARE,
    ExtractiveSummarizer,
    Summarizer,
    SummaryItem,
    summarize,
    summary_budget,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def item(text: str, importance: float, hour: int) -> SummaryItem:
    return SummaryItem(text, importance, T0 + timedelta(hours=hour))


def test_nothing_to_summarise() -> None:
    assert summarize([]) == ""
    assert summarize([item("Caroline: ok.", 0.5, 0)]) == "Caroline: ok."


def test_one_speaker_keeps_one_prefix_in_time_order() -> None:
    items = [
        item("Caroline: I started a new painting", 0.5, 2),
        item("Caroline: I went to the support group.", 0.5, 0),
        item("Caroline: The group was very welcoming!", 0.5, 1),
    ]
    assert summarize(items) == (
        "Caroline: I went to the support group. The group was very welcoming! I started a new painting."
    )


def test_every_order_of_the_input_gives_the_same_summary() -> None:
    items = [
        item("Caroline: I love tea.", 0.4, 0),
        item("Melanie: I run a pottery class.", 0.7, 1),
        item("Caroline: I moved to Berlin.", 0.9, 2),
        item("Caroline: I love tea!", 0.6, 3),
    ]
    results = {summarize(list(order), max_chars=80) for order in itertools.permutations(items)}
    assert len(results) == 1


def test_repeats_collapse_and_keep_their_highest_importance() -> None:
    items = [
        item("Caroline: I love tea.", 0.2, 0),
        item("Caroline: I moved to Berlin.", 0.5, 1),
        item("Caroline: i love TEA!", 0.9, 2),
    ]
    assert summarize(items) == "Caroline: I love tea. I moved to Berlin."
    # Budget for one sentence: the repeat's 0.9 beats Berlin's 0.5, and the first wording is kept.
    assert summarize(items, max_chars=25) == "Caroline: I love tea."


def test_the_same_words_from_two_speakers_are_two_facts() -> None:
    items = [item("Caroline: I love tea.", 0.5, 0), item("Melanie: I love tea.", 0.5, 1)]
    assert summarize(items) == "Caroline: I love tea. Melanie: I love tea."


def test_the_most_important_sentences_win_the_budget_and_keep_time_order() -> None:
    items = [
        item("Caroline: I had toast for breakfast.", 0.3, 0),
        item("Caroline: I adopted a dog named Max.", 0.6, 1),
        item("Caroline: My sister Anna moved to Rome.", 0.9, 2),
    ]
    full = summarize(items)
    assert len(full) == 93
    # 10 ("Caroline: ") + 26 + 1 + 29 = 66 characters: the two most important, breakfast dropped.
    assert summarize(items, max_chars=66) == "Caroline: I adopted a dog named Max. My sister Anna moved to Rome."
    # One less and only the most important fits (breakfast with Anna would be 66 too).
    assert summarize(items, max_chars=65) == "Caroline: My sister Anna moved to Rome."


def test_a_smaller_sentence_still_fills_what_a_bigger_one_left() -> None:
    items = [
        item("Caroline: I bought an enormous old farmhouse in Normandy.", 0.9, 0),
        item("Caroline: I painted the whole kitchen a bright yellow colour.", 0.8, 1),
        item("Caroline: I got a cat.", 0.1, 2),
    ]
    assert summarize(items, max_chars=80) == "Caroline: I bought an enormous old farmhouse in Normandy. I got a cat."


def test_speakers_are_grouped_in_order_of_first_appearance() -> None:
    items = [
        item("Caroline: I went hiking.", 0.5, 0),
        item("Melanie: I stayed home.", 0.5, 1),
        item("Caroline: It rained all day.", 0.5, 2),
        item("Nothing else happened that week.", 0.5, 3),
    ]
    assert summarize(items) == (
        "Caroline: I went hiking. It rained all day. Melanie: I stayed home. Nothing else happened that week."
    )


def test_a_multi_sentence_memory_contributes_sentence_by_sentence() -> None:
    items = [item("Caroline: I moved to Berlin. The flat is small. I love it.", 0.5, 0)]
    # Equal importance: earlier sentences first; with the second the text would be 47 characters, but
    # "I love it." still fits after the first (39).
    assert summarize(items, max_chars=45) == "Caroline: I moved to Berlin. I love it."


def test_a_sentence_longer_than_the_budget_is_cut_at_a_word() -> None:
    items = [item("Caroline: I went to the LGBTQ support group yesterday.", 0.5, 0)]
    assert summarize(items, max_chars=30) == "Caroline: I went to the LGBTQ…"
    assert summarize(items, max_chars=28) == "Caroline: I went to the…"


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        summarize([item("Caroline: hi there you.", 0.5, 0)], max_chars=0)


def test_the_offline_summarizer_is_a_summarizer() -> None:
    summarizer: Summarizer = ExtractiveSummarizer()
    items = [item("Caroline: I love tea.", 0.5, 0)]
    assert summarizer.summarize(items, 100) == summarize(items, 100)


def test_the_summary_budget_is_a_share_of_what_it_replaces_within_bounds() -> None:
    def of(*lengths: int) -> list[SummaryItem]:
        return [SummaryItem("x" * n, 0.5, T0) for n in lengths]

    assert summary_budget(of(100, 100, 100, 100, 100, 100, 100, 100)) == int(800 * SUMMARY_SHARE)
    assert summary_budget(of(40, 40)) == MIN_SUMMARY_CHARS  # short originals still get a whole sentence
    assert summary_budget(of(*[1000] * 8)) == DEFAULT_MAX_CHARS


def test_a_summary_within_its_budget_keeps_the_most_important_facts_and_is_a_third_or_less() -> None:
    items = [
        SummaryItem(f"Maya: fact number {n} about the trip to town {n} was noted down.", 0.9 if n == 5 else 0.4, T0)
        for n in range(8)
    ]
    text = summarize(items, summary_budget(items))
    assert "fact number 5" in text
    assert len(text) <= sum(len(i.text) for i in items) * SUMMARY_SHARE
