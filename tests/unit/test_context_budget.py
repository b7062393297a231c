"""The <user_memories> block never exceeds its budget, as counted by the real (offline) tokenizer."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from memory.retrieval.context_budget import (
    CLOSE,
    CORE_CLOSE,
    CORE_OPEN,
    ELLIPSIS,
    OPEN,
    ContextItem,
    CoreBlockItem,
    build_context,
)
from models.tokens import TokenCounter

WHEN = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def item(memory_id: str, text: str) -> ContextItem:
    return ContextItem(memory_id, text, WHEN)


def test_most_relevant_first_and_dated(counter: TokenCounter) -> None:
    block = build_context(
        [item("a", "Alice lives in Paris."), item("b", "Alice loves coffee.")], 100, counter.count, counter.truncate
    )
    assert block.text.splitlines() == [
        OPEN,
        "- [2023-05-08] Alice lives in Paris.",
        "- [2023-05-08] Alice loves coffee.",
        CLOSE,
    ]
    assert block.memory_ids == ("a", "b") and block.omitted == 0
    assert block.tokens == counter.count(block.text) <= 100


def test_a_memory_that_does_not_fit_is_skipped_for_smaller_ones(counter: TokenCounter) -> None:
    long = " ".join(["the quarterly planning offsite agenda"] * 20)
    block = build_context(
        [item("a", "short one"), item("big", long), item("c", "short two")], 40, counter.count, counter.truncate
    )
    assert block.memory_ids == ("a", "c")
    assert block.omitted == 1
    assert counter.count(block.text) <= 40


def test_a_memory_longer_than_the_whole_budget_is_cut_not_dropped(counter: TokenCounter) -> None:
    long = " ".join(f"word{i}" for i in range(500))
    block = build_context([item("big", long)], 32, counter.count, counter.truncate)
    assert block.memory_ids == ("big",) and block.truncated
    assert block.text.endswith(ELLIPSIS + "\n" + CLOSE)
    assert counter.count(block.text) <= 32


def test_never_over_budget_on_random_inputs(counter: TokenCounter) -> None:
    rng = random.Random(7)
    vocabulary = [
        "alice",
        "bob",
        "paris",
        "berlin",
        "coffee",
        "hiking",
        "meeting",
        "sarah",
        "project",
        "deadline",
        "2023",
        "café",
        "naïve",
    ]
    for _ in range(60):
        items = [
            item(str(i), " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 80))))
            for i in range(rng.randint(0, 12))
        ]
        budget = rng.randint(16, 300)
        block = build_context(items, budget, counter.count, counter.truncate)
        assert counter.count(block.text) <= budget
        assert block.tokens == counter.count(block.text)
        assert len(block.memory_ids) + block.omitted == len(items)


@pytest.mark.parametrize("budget", [0, 15, -5, 32_001])
def test_budget_out_of_range_is_refused(counter: TokenCounter, budget: int) -> None:
    with pytest.raises(ValueError, match="max_tokens must be between"):
        build_context([], budget, counter.count, counter.truncate)


# --- core memory blocks before the memories, in the same budget ------------------------------------------------


def test_blocks_come_first_empty_ones_are_left_out(counter: TokenCounter) -> None:
    blocks = [CoreBlockItem("persona", ""), CoreBlockItem("human", "Name: Alice\nLikes: tea")]
    block = build_context([item("a", "Alice lives in Paris.")], 200, counter.count, counter.truncate, blocks)
    assert block.text.splitlines() == [
        CORE_OPEN,
        "<human>",
        "Name: Alice",
        "Likes: tea",
        "</human>",
        CORE_CLOSE,
        OPEN,
        "- [2023-05-08] Alice lives in Paris.",
        CLOSE,
    ]
    assert block.block_labels == ("human",) and block.memory_ids == ("a",)
    assert block.tokens == counter.count(block.text) <= 200


def test_blocks_take_the_budget_before_memories_and_one_too_big_is_skipped_whole(counter: TokenCounter) -> None:
    big = CoreBlockItem("notes", " ".join(["a long standing note about the project"] * 30))
    small = CoreBlockItem("human", "Name: Alice")
    items = [item(str(i), f"Alice visited museum number {i} in Paris.") for i in range(40)]
    for budget in (24, 40, 80, 160, 400):
        block = build_context(items, budget, counter.count, counter.truncate, [big, small])
        assert block.tokens == counter.count(block.text) <= budget
        # Never cut: whole, or left out (it needs about 200 tokens).
        assert ("notes" in block.block_labels) == (big.value in block.text) == (budget == 400)
        if "human" in block.block_labels:
            assert block.text.index("Name: Alice") < block.text.index(OPEN)
    tight = build_context(items, 40, counter.count, counter.truncate, [small])  # the block alone needs 32
    assert tight.block_labels == ("human",) and tight.tokens <= 40  # the block first, then what fits
    nothing_fits = build_context(items, 31, counter.count, counter.truncate, [small])
    assert nothing_fits.block_labels == () and CORE_OPEN not in nothing_fits.text
