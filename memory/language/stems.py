"""Stems: the Snowball English ("Porter2") stemmer, the one PostgreSQL's ``english`` configuration uses.

The sparse retriever matches words through PostgreSQL's ``to_tsvector('english', ...)``, whose
``english_stem`` dictionary is Snowball English; the topics of the graph (``memory.retrieval.topics``) stem with the
same algorithm so that both retrievers agree on what a word is: "hike", "hiking", "hiked" and "hikes" meet
at "hike"; "news" stays "news". Snowball is not a dictionary: it also stems "paris" to "pari", "tennis" to
"tenni" and "family" to "famili", exactly as PostgreSQL does. A stem is a key, not a word to show.

PyStemmer is pinned to 2.2.0.3 in pyproject.toml: it wraps libstemmer 2.2.0, the Snowball release whose C
code PostgreSQL 15 compiles in. Snowball 3 changed English ("added" → "add" instead of "ad", "university" →
"universiti"), so a different pin, or a PostgreSQL that updates its copy, must pass
``tests/integration/test_stems_match_postgres.py`` again.
"""

from __future__ import annotations

import threading

import Stemmer

from memory.language.words import fold

# A PyStemmer Stemmer is not safe to share between threads (its C state and its cache), and the API reads
# queries in worker threads: one stemmer per thread.
_LOCAL = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer


def stem(word: str) -> str:
    """The Snowball English stem of the folded word: ``"Hiking"`` → ``"hike"``, ``"news"`` → ``"news"``."""
    return str(_stemmer().stemWord(fold(word)))
