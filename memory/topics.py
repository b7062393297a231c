"""Topics: the content words a memory is about, as the graph's second kind of node (beside entities).

Entities are names ("Caroline", "Harry Potter"); most questions ask about things that are not names: "What
pets does Nate have?", "Where has Melanie camped?". A topic is a content word of the memory (filler and
function words removed, ``memory.specificity.content_words``) reduced to a crude stem, so "camped",
"camping" and "camps" meet at "camp", and "books" at "book". The Neo4j projection links each memory to its
topics (``ABOUT``); the graph retriever walks from the query's topics to memories and on to the topics those
memories share (``api.retrievers.topic_walk``).

The stem is deliberately crude (suffix stripping, no dictionary): it only has to be the same function on
both sides, the memory's text and the query's, and it must never change the meaning of a name much.
Topics are derived from the memory's text by the projection, like PostgreSQL's tsvector: a pure function
of the event, so a replay rebuilds the same graph.
"""

from __future__ import annotations

from memory.specificity import content_words

# Longest first, so "-ing" wins over "-s"; a stem keeps at least MIN_STEM letters ("dies" stays "dies").
_SUFFIXES = ("ing", "ed", "es", "s")
MIN_STEM = 3
# A long summary would otherwise link to every word it contains; its longest words (the rarer, more specific
# ones) are enough to place it.
MAX_TOPICS = 32


def stem(word: str) -> str:
    """``"camping"`` → ``"camp"``, ``"books"`` → ``"book"``, ``"glass"`` → ``"glass"``."""
    if word.endswith("ss"):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def topic_words(text: str) -> list[str]:
    """The memory's topics, sorted (the projection writes them in a stable order); numbers are not topics
    (a year or a count is the temporal retriever's business, and would link unrelated memories)."""
    words = (w.removesuffix("'s") for w in content_words(text))  # "Alice's" is about Alice
    stems = {stem(w) for w in words if not w.replace("'", "").isdigit()}
    return sorted(sorted(stems, key=lambda s: (-len(s), s))[:MAX_TOPICS])


def topic_id(scope_key: str, name: str) -> str:
    """A Topic node's key: the projection writes it, the graph retriever looks it up (one format for both)."""
    return f"{scope_key}|{name}"


def topic_rows(scope_key: str, text: str) -> list[dict[str, str]]:
    """The text's topics as the Neo4j projection writes them: id and name."""
    return [{"id": topic_id(scope_key, name), "name": name} for name in topic_words(text)]
