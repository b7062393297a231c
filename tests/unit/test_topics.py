"""Topics (memory.retrieval.topics) and the rows the Neo4j projection writes them from (projections.neo4j.plan)."""

from __future__ import annotations

from datetime import UTC, datetime

from memory.contract.events import Envelope, MemoryExtracted, MemoryUpdated, Producer, Scope
from memory.language.stems import stem
from memory.retrieval.topics import MAX_TOPICS, topic_id, topic_words
from projections.neo4j import plan

AT = datetime(2026, 3, 1, tzinfo=UTC)


def envelope_for(event_type: str) -> Envelope:
    return Envelope("e", event_type, 1, Scope("app", "u"), AT, AT, None, None, Producer("t"))


def test_inflections_meet_at_one_stem() -> None:
    assert {stem(w) for w in ("camped", "camping", "camps", "camp")} == {"camp"}
    assert {stem(w) for w in ("hike", "hiking", "hiked", "hikes")} == {"hike"}
    assert stem("books") == stem("book") == "book"
    assert stem("glass") == "glass"  # a double s is not a plural
    assert stem("bus") == "bus"  # too short to lose its "s"


def test_a_memory_is_about_its_content_words_not_its_filler_or_its_speaker() -> None:
    topics = topic_words("Caroline: Wow, here's a pic of my family camping at the beach in 2023!")
    # No "wow", "here's", "my", no speaker, no year; "famili" is the Snowball stem PostgreSQL indexes too.
    assert topics == ["beach", "camp", "famili", "pic"]


def test_a_possessive_is_about_its_owner_and_a_name_inside_a_sentence_is_kept_whole() -> None:
    assert topic_words("I love Alice's garden") == ["alice", "garden"]
    # A capitalised sentence opener may be a name or a common word: it gives its stem and its whole form.
    assert topic_words("Alice's garden") == ["alic", "alice", "garden"]


def test_names_are_not_stemmed_but_the_same_word_in_lower_case_is() -> None:
    assert topic_words("We spent a week in Paris playing tennis") == ["paris", "play", "spent", "tenni", "week"]
    assert topic_words("we spent a week in paris") == ["pari", "spent", "week"]


def test_query_and_memory_meet_on_the_same_topics() -> None:
    assert set(topic_words("Where has Melanie camped?")) & set(topic_words("We went camping last summer")) == {"camp"}


def test_a_long_text_keeps_its_longest_words_in_a_stable_order() -> None:
    words = [f"w{'x' * n}" for n in range(1, 60)]
    topics = topic_words(" ".join(words))
    assert len(topics) == MAX_TOPICS
    assert topics == sorted(topics)
    assert "w" + "x" * 59 in topics and "wx" not in topics


def _extracted(text: str, speaker: str | None) -> MemoryExtracted:
    return MemoryExtracted(
        envelope=envelope_for("MemoryExtracted"),
        memory_id="m1",
        text=text,
        metadata={"speaker": speaker} if speaker else {},
    )


def test_the_projection_row_carries_the_topics_and_the_speaker() -> None:
    row = plan.row_of(_extracted("Nate: I adopted a dog named Max.", "Nate"))
    assert row is not None and row.kind == plan.MEMORY
    assert row.values["topics"] == [
        {"id": topic_id("app/u", name), "name": name} for name in topic_words("Nate: I adopted a dog named Max.")
    ]
    assert row.values["speaker"] == "Nate"
    assert plan.row_of(_extracted("A note.", None)).values["speaker"] is None  # type: ignore[union-attr]


def test_an_update_carries_the_topics_of_the_new_text() -> None:
    event = MemoryUpdated(envelope=envelope_for("MemoryUpdated"), memory_id="m1", text="I moved to Berlin")
    row = plan.row_of(event)
    assert row is not None and row.kind == plan.UPDATED
    assert row.values["topics"] == [
        {"id": topic_id("app/u", "berlin"), "name": "berlin"},
        {"id": topic_id("app/u", "move"), "name": "move"},
    ]
    assert row.values["props"] == {"text": "I moved to Berlin"}


def test_a_capitalised_word_opening_a_sentence_meets_a_question_naming_it_and_one_using_it_as_a_word() -> None:
    memory = set(topic_words("Alice plays chess in the park"))
    assert {"alice", "alic"} <= memory  # whole (a name?) and stemmed (a word?): the sentence cannot tell
    assert "alice" in topic_words("What does Alice play?")  # named mid-sentence: whole
    assert "pet" in set(topic_words("Pets make us so happy")) & set(topic_words("Which pets does she have?"))
