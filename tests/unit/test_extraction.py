from memory.ingest.extraction import extract_facts, find_entities, verbatim_fact
from memory.ingest.extraction_types import TurnInput
from memory.language.sentences import split_sentences


def test_sentences_split_on_terminal_punctuation() -> None:
    assert split_sentences("I live in Paris. I love coffee! Do you?") == [
        "I live in Paris.",
        "I love coffee!",
        "Do you?",
    ]


def test_small_talk_is_not_a_fact() -> None:
    # The rules, one by one: tests/unit/test_worth.py.
    assert extract_facts(TurnInput("user", "Alice", "Hi!")) == []
    assert extract_facts(TurnInput("user", "Alice", "Thanks a lot!")) == []
    assert extract_facts(TurnInput("user", "Alice", "How are you?")) == []
    assert len(extract_facts(TurnInput("user", "Alice", "I adopted a dog named Rex last week."))) == 1


def test_facts_stand_alone_with_the_speaker_name() -> None:
    facts = extract_facts(TurnInput("user", "Alice", "Hi! I moved to Berlin in May 2023. I love black coffee."))
    assert [f.text for f in facts] == ["Alice: I moved to Berlin in May 2023.", "Alice: I love black coffee."]
    assert facts[1].kind == "preference"


def test_entities_and_relations_are_recognised() -> None:
    (fact,) = extract_facts(TurnInput("user", "Alice", "I live in Paris with my sister Nora."))
    names = {e.name: e.kind for e in fact.entities}
    assert names["Alice"] == "person"
    assert names["Paris"] == "place"
    assert "Nora" in names
    predicates = {(r.subject, r.predicate, r.object) for r in fact.relations}
    assert ("Alice", "LIVES_IN", "Paris") in predicates
    assert ("Alice", "HAS_SISTER", "Nora") in predicates


def test_dates_are_entities_of_kind_date() -> None:
    kinds = {e.name: e.kind for e in find_entities("We met in June 2021 on a Friday")}
    assert kinds["June 2021"] == "date"
    assert kinds["Friday"] == "date"


def test_extraction_is_deterministic() -> None:
    turn = TurnInput("user", "Bob", "My dog Rex needs a walk twice a day, and I prefer tea over coffee.")
    assert extract_facts(turn) == extract_facts(turn)


def test_sentence_initial_function_words_are_not_entities() -> None:
    names = {e.name for e in find_entities("The weather was nice and Yesterday I read a book")}
    assert "The" not in names
    assert "Yesterday" not in names


def test_verbatim_keeps_the_text_unchanged() -> None:
    fact = verbatim_fact(TurnInput("user", "", "  Prefers window seats on flights to Tokyo.  "))
    assert fact.text == "Prefers window seats on flights to Tokyo."
    assert "Tokyo" in {e.name for e in fact.entities}
