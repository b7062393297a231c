"""One reading of English (memory.language): sentences, words, stop words, names and stems."""

from __future__ import annotations

from memory.language.names import candidate_names, inner_names, is_sentence_starter, name_runs, uses_capitals
from memory.language.sentences import opens_sentence, split_sentences, split_speaker
from memory.language.stems import stem
from memory.language.words import content_words, fold, is_stop_word, normalise, words

# ------------------------------------------------------------------------------------------ stems


def test_word_families_meet_at_one_stem() -> None:
    assert {stem(w) for w in ("hike", "hiking", "hiked", "hikes", "Hiking")} == {"hike"}
    assert {stem(w) for w in ("make", "making", "makes")} == {"make"}
    assert stem("made") == "made"  # Snowball has no irregular forms: "made" is its own stem
    assert {stem(w) for w in ("camped", "camping", "camps")} == {"camp"}
    assert stem("news") == "news"  # not the plural of "new"


def test_snowball_stems_are_keys_not_words() -> None:
    # What PostgreSQL's english_stem also does (tests/integration/test_stems_match_postgres.py); names are
    # kept whole by the topics (memory.retrieval.topics), so these only stand for common words.
    assert stem("tennis") == "tenni"
    assert stem("paris") == "pari"
    assert stem("family") == stem("families") == "famili"


# ------------------------------------------------------------------------------------------ sentences


def test_strict_sentences_need_something_that_opens_a_sentence() -> None:
    assert split_sentences("I live in Paris. I love coffee! Do you?") == [
        "I live in Paris.",
        "I love coffee!",
        "Do you?",
    ]
    assert split_sentences("It costs 3.5 euros, e.g. cheap. Fine") == ["It costs 3.5 euros, e.g. cheap.", "Fine"]


def test_clauses_split_lower_case_chat_and_semicolons() -> None:
    assert split_sentences("i might move. i live in paris; really", clauses=True) == [
        "i might move.",
        "i live in paris;",
        "really",
    ]


def test_a_word_opens_a_sentence_after_an_end_and_any_quotes() -> None:
    text = 'Fine. "Paris was lovely", said Ann'
    assert opens_sentence(text, 0)
    assert opens_sentence(text, text.index("Paris"))
    assert not opens_sentence(text, text.index("Ann"))


def test_the_speaker_label_of_a_line() -> None:
    assert split_speaker("Mary Ann: I love coffee") == ("Mary Ann", "I love coffee")
    assert split_speaker("My plan: rest") == (None, "My plan: rest")


# ------------------------------------------------------------------------------------------ words


def test_words_keep_contractions_compounds_and_any_script() -> None:
    assert words("Alice's well-known café, 3.5 — don\u2019t!") == [
        "Alice's",
        "well-known",
        "café",
        "3",
        "5",
        "don\u2019t",
    ]


def test_folded_and_normalised_spellings() -> None:
    assert fold("Don\u2019t") == "don't"
    assert normalise("Don\u2019t stop-now!") == "dont stop now"
    assert is_stop_word("DON\u2019T") and not is_stop_word("coffee")


def test_content_words_drop_the_speaker_filler_and_possessives() -> None:
    assert content_words("Caroline: Wow, I love Alice's top-rated café in 2023!") == {
        "alice",
        "top",
        "rated",
        "café",
        "2023",
    }


# ------------------------------------------------------------------------------------------ names


def test_inner_names_skip_sentence_starts_i_stop_words_and_speakers() -> None:
    text = "Paris was lovely. I'm told Ann's sister met The Beatles' manager and Jolene at NASA."
    assert inner_names(text) == {"ann", "beatles", "jolene", "nasa"}
    assert inner_names(text, ignore={"Jolene"}) == {"ann", "beatles", "nasa"}


def test_uses_capitals_ignores_sentence_starts_and_i() -> None:
    assert not uses_capitals("I live in paris. I'm happy")
    assert uses_capitals("i live in Paris")


def test_name_runs_drop_a_sentence_starter_but_keep_a_name_opening_the_sentence() -> None:
    runs = name_runs("Seeing Toby run with Sarah Connor's dog in New York")
    assert [(r.text, r.previous) for r in runs] == [("Toby", "Seeing"), ("Sarah Connor", "with"), ("New York", "in")]
    assert [r.text for r in name_runs("Melanie and Paris")] == ["Melanie", "Paris"]
    assert is_sentence_starter("Hiking") and is_sentence_starter("That's") and not is_sentence_starter("Toby")


def test_candidate_names_of_a_query() -> None:
    names = candidate_names(["What", "did", "Sarah's", "team", "say", "last", "week"])
    assert "sarah" in names and "sarah team" in names
    assert not {"what", "did", "last", "week", "say"} & set(names)
