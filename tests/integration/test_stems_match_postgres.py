"""The topics' stemmer (memory.language.stems) is the one PostgreSQL's ``english`` configuration uses, so the
topic walk and the sparse retriever agree on what a word is. Checked against the real server's
``english_stem`` dictionary; a PyStemmer or PostgreSQL upgrade that changes the Snowball release (Snowball 3
stems "added" to "add", 2.2 to "ad") fails here."""

from __future__ import annotations

import psycopg

from memory.language.stems import stem
from memory.language.words import word_set
from memory.settings import Settings

# Inflections, the words Snowball 2.2 and 3 disagree on, names and -s words that are not plurals.
WORDS = sorted(
    word_set(
        "hike hiking hiked hikes make making made makes camp camped camping camps book books news paris "
        "tennis family families glass bus moved moving dying generously added adding evening evenings "
        "university universal organization organize international emergencies running ran swimming cities "
        "happiness relational conditional knitting pottery painted painting photographs photography kids "
        "children caroline melanie alice james toby jolene lies flies skies dogs oxen analyses agreed feed "
    )
)


def test_stems_equal_postgres_english_stem(stack_settings: Settings) -> None:
    with psycopg.connect(stack_settings.postgres_dsn) as conn:
        rows = conn.execute("SELECT w, ts_lexize('english_stem', w) FROM unnest(%s::text[]) AS w", (WORDS,)).fetchall()
    server = {word: lexemes for word, lexemes in rows}
    assert all(server[w] for w in WORDS)  # none is a stop word (the dictionary answers those with {})
    assert {w: stem(w) for w in WORDS} == {w: server[w][0] for w in WORDS}


def test_a_tsvector_indexes_the_same_stems(stack_settings: Settings) -> None:
    text = "Caroline went hiking with her kids and the families camped near Paris"
    with psycopg.connect(stack_settings.postgres_dsn) as conn:
        row = conn.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", (text,)).fetchone()
    assert row is not None
    expected = {stem(w) for w in ("caroline", "went", "hiking", "kids", "families", "camped", "near", "paris")}
    assert set(row[0]) == expected
