from __future__ import annotations

import pytest

from models.tokens import TokenCounter


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_counts_without_special_tokens(counter: TokenCounter) -> None:
    assert counter.count("") == 0
    assert counter.count("hello world") == 2
    assert counter.count("Hello, world!") == 4  # punctuation is split off
    # A rare word becomes several WordPiece tokens.
    assert counter.count("unbelievability") > 1


def test_counts_are_not_capped_by_the_shipped_128_token_truncation(counter: TokenCounter) -> None:
    assert counter.count("word " * 1000) == 1000


def test_truncate_keeps_short_text_unchanged(counter: TokenCounter) -> None:
    text = "Alice likes green tea."
    assert counter.truncate(text, 100) is text


def test_truncate_respects_the_budget_and_is_a_prefix(counter: TokenCounter) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    for budget in (1, 5, 17, 50):
        cut = counter.truncate(text, budget)
        assert text.startswith(cut)
        assert 0 < counter.count(cut) <= budget
    assert counter.truncate(text, 5) == "The quick brown fox jumps"


def test_truncate_keeps_original_case_and_accents(counter: TokenCounter) -> None:
    # The tokenizer lower-cases and strips accents; the truncated text must not.
    assert counter.truncate("Café Zürich OPENS early today", 3) == "Café Zürich OPENS"


def test_truncate_does_not_end_mid_word(counter: TokenCounter) -> None:
    text = "go unbelievability now"
    pieces = counter.count("unbelievability")
    assert counter.truncate(text, 1 + pieces - 1) == "go"  # would split the long word
    assert counter.truncate(text, 1 + pieces) == "go unbelievability"


def test_truncate_of_a_single_overlong_word_keeps_a_fragment(counter: TokenCounter) -> None:
    cut = counter.truncate("unbelievability", 1)
    assert cut and "unbelievability".startswith(cut) and counter.count(cut) == 1


def test_truncate_to_zero_is_empty(counter: TokenCounter) -> None:
    assert counter.truncate("anything", 0) == ""
