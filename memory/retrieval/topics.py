"""Topics: the content words a memory is about, as the graph's second kind of node (beside entities).

Entities are names ("Caroline", "Harry Potter"); most questions ask about things that are not names: "What
pets does Nate have?", "Where has Melanie camped?". A topic is a content word of the memory (filler and
function words removed, ``memory.language.words.content_words``) reduced to its Snowball English stem
(``memory.language.stems``), so "camped", "camping" and "camps" meet at "camp", "hiking" and "hike" at
"hike", and a topic means what the sparse retriever's PostgreSQL ``english`` configuration means by a word.
A name inside a sentence (``memory.language.names.inner_names``: "I love Paris") is kept whole, lower-cased,
never stemmed ("paris", not "pari"). A capitalised word opening a sentence may be a name ("Alice plays
chess") or not ("Pets make us happy"), so it gives both its stem and, where they differ, its whole form: a
question that names Alice mid-sentence then meets "alice", one about pets meets "pet".
The Neo4j projection links each memory to its topics (``ABOUT``); the
graph retriever walks from the query's topics to memories and on to the topics those memories share
(``api.retrievers.topic_walk``).

Topics are derived from the memory's text by the projection, like PostgreSQL's tsvector: a pure function
of the event, so a replay rebuilds the same graph (and a replay is how a changed stemmer reaches Neo4j).
"""

from __future__ import annotations

from memory.language.names import inner_names, opening_capitals
from memory.language.sentences import split_speaker
from memory.language.stems import stem
from memory.language.words import content_words

# A long summary would otherwise link to every word it contains; its longest words (the rarer, more specific
# ones) are enough to place it.
MAX_TOPICS = 32


def topic_words(text: str) -> list[str]:
    """The memory's topics, sorted (the projection writes them in a stable order); numbers are not topics
    (a year or a count is the temporal retriever's business, and would link unrelated memories)."""
    said = split_speaker(text)[1]
    names, openers = inner_names(said), opening_capitals(said)
    words = [w for w in content_words(text) if not w.replace("'", "").isdigit()]
    topics = {w if w in names else stem(w) for w in words}
    topics |= {w for w in words if w in openers}
    return sorted(sorted(topics, key=lambda s: (-len(s), s))[:MAX_TOPICS])


def topic_id(scope_key: str, name: str) -> str:
    """A Topic node's key: the projection writes it, the graph retriever looks it up (one format for both)."""
    return f"{scope_key}|{name}"


def topic_rows(scope_key: str, text: str) -> list[dict[str, str]]:
    """The text's topics as the Neo4j projection writes them: id and name."""
    return [{"id": topic_id(scope_key, name), "name": name} for name in topic_words(text)]
