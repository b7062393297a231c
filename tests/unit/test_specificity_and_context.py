"""Ranking priors (specificity, turn support) and the conversation context a memory is embedded with."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from memory.contract.events import Envelope, MemoryExtracted, MemoryUpdated, Producer, Scope
from memory.ingest.conversation_context import (
    CONTEXT_CHARS,
    RECENT_TURNS,
    RecentConversations,
    RecentTurns,
    SeenTurn,
    place_turn,
    render_turn,
)
from memory.ingest.derivation import embedding_text
from memory.ingest.extraction import find_entities
from memory.language.words import content_words
from memory.retrieval.fusion import reciprocal_rank_fusion
from memory.retrieval.ranking import Candidate, TurnRef, match_strengths, named_speaker, with_conversation_support
from memory.retrieval.specificity import QUESTION_FACTOR, SATURATION, specificity
from tests.support import make_turn

AT = datetime(2024, 5, 1, tzinfo=UTC)

# ------------------------------------------------------------------------------------------ specificity


def test_content_words_drop_the_speaker_label_and_filler() -> None:
    assert content_words("Caroline: Wow, that's so awesome, thanks!") == set()
    assert content_words("Melanie: I adopted Toby from a shelter in 2023") == {"adopted", "toby", "shelter", "2023"}


def test_a_specific_memory_outranks_a_generic_remark() -> None:
    generic = specificity("Nate: Pets make us so much happier.", 0.5)
    specific = specificity("Nate: I just got a new dog, this is Max, he sleeps on the old couch.", 0.5)
    assert specific > generic
    assert specific == pytest.approx(1.0)  # saturated: six content words or more


def test_a_name_counts_twice_unless_it_is_a_speaker() -> None:
    assert specificity("Maya: I live in Paris.", 0.7) == pytest.approx((3 / SATURATION) ** 0.7)
    assert specificity("Maya: I live in paris.", 0.7) == pytest.approx((2 / SATURATION) ** 0.7)
    # Small talk names the other speaker all the time: that says nothing.
    assert specificity("Deb: Thanks so much, Jolene, really.", 0.7, {"Jolene", "Deb"}) == 0.0


def test_a_text_counted_once_is_counted_again_for_other_speakers() -> None:
    """The counts are kept per text and speakers: the same text read with other speakers is read anew."""
    text = "Deb: Thanks so much, Jolene, really."
    assert specificity(text, 0.7, {"Jolene", "Deb"}) == 0.0
    assert specificity(text, 0.7, {"Deb"}) == pytest.approx((2 / SATURATION) ** 0.7)  # Jolene, a name, twice
    assert specificity(text, 0.7, frozenset({"Jolene", "Deb"})) == 0.0


def test_a_question_is_discounted_against_the_same_words_stated() -> None:
    stated = specificity("Evan: You found new hobbies like kayaking and hiking.", 0.5)
    asked = specificity("Evan: What new hobbies like kayaking and hiking have you found?", 0.5)
    assert asked == pytest.approx(stated * QUESTION_FACTOR)


def test_specificity_saturates_and_exponent_zero_switches_it_off() -> None:
    long = " ".join(f"word{i}x" for i in range(SATURATION * 3))
    exactly = " ".join(f"word{i}x" for i in range(SATURATION))
    assert specificity(long, 0.5) == specificity(exactly, 0.5) == pytest.approx(1.0)
    assert specificity("Okay!", 0.0) == 1.0
    assert specificity("Okay!", 0.5) == 0.0  # nothing said at all


# ------------------------------------------------------------------------------------------ conversation support


def cand(memory_id: str, score: float) -> Candidate:
    return Candidate(memory_id, score, 0.5, AT)


def ref(turn: str, index: int | None = None, conversation: str = "c") -> TurnRef:
    return TurnRef(conversation, (turn,), index)


def support(
    candidates: list[Candidate], refs: dict[str, TurnRef], siblings: float, neighbours: float
) -> dict[str, float]:
    return {c.memory_id: c.fused_score for c in with_conversation_support(candidates, refs, siblings, neighbours, 2)}


def test_the_best_memory_of_a_turn_gains_a_share_of_its_siblings() -> None:
    candidates = [cand("a1", 0.030), cand("a2", 0.020), cand("a3", 0.010), cand("b1", 0.035)]
    refs = {"a1": ref("turn-a"), "a2": ref("turn-a"), "a3": ref("turn-a"), "b1": ref("turn-b")}
    supported = support(candidates, refs, 0.5, 0.0)
    assert supported["a1"] == pytest.approx(0.030 + 0.5 * (0.020 + 0.010))
    assert supported["a2"] == 0.020 and supported["a3"] == 0.010  # siblings do not rise along
    assert supported["b1"] == 0.035  # a turn with one match gains nothing
    assert supported["a1"] > supported["b1"]  # the corroborated turn is now first


def test_a_turn_gains_what_the_turns_around_it_score_above_the_median() -> None:
    candidates = [cand("q", 0.04), cand("answer", 0.01), cand("far", 0.05), cand("other", 0.05), cand("x", 0.01)]
    refs = {
        "q": ref("t10", 10),  # the question that names the topic
        "answer": ref("t11", 11),  # the answer right after it
        "far": ref("t40", 40),
        "other": ref("x11", 12, conversation="elsewhere"),
        "x": ref("t90", 90),
    }
    supported = support(candidates, refs, 0.0, 0.5)  # median turn score: 0.04
    assert supported["answer"] == pytest.approx(0.01)  # q is the median: it stands out from nothing
    candidates[0] = cand("q", 0.045)
    supported = support(candidates, refs, 0.0, 0.5)  # median now 0.045 again (q): still nothing
    assert supported["answer"] == pytest.approx(0.01)
    candidates = [cand("q", 0.06), cand("answer", 0.01), cand("far", 0.05), cand("other", 0.05), cand("x", 0.01)]
    supported = support(candidates, refs, 0.0, 0.5)  # median 0.05; q stands 0.01 above it
    assert supported["answer"] == pytest.approx(0.01 + 0.5 * 0.01)
    assert supported["q"] == pytest.approx(0.06)  # its neighbour is below the median
    assert supported["far"] == 0.05  # outside the window
    assert supported["other"] == 0.05  # another conversation is not a neighbour


def test_in_a_small_store_where_everything_is_a_candidate_neighbours_do_not_reorder() -> None:
    # Five facts said in a row, one clearly matching (found by two retrievers): it must stay first.
    scores = {"paris": 0.023, "coffee": 0.005, "colour": 0.011, "apollo": 0.0156, "launch": 0.0154}
    candidates = [cand(m, s) for m, s in scores.items()]
    refs = {m: ref(f"t{i}", i) for i, m in enumerate(scores)}
    supported = support(candidates, refs, 0.25, 0.3)
    assert max(supported, key=lambda m: supported[m]) == "paris"


def test_support_off_or_without_turns_changes_nothing() -> None:
    candidates = [cand("a1", 0.3), cand("a2", 0.2)]
    refs = {"a1": ref("t", 1), "a2": ref("t", 1)}
    assert with_conversation_support(candidates, refs, 0.0, 0.0, 2) == candidates
    assert with_conversation_support(candidates, {}, 0.5, 0.5, 2) == candidates


def test_a_summary_of_several_turns_gains_from_each_but_has_no_neighbours() -> None:
    candidates = [cand("summary", 0.04), cand("x", 0.01), cand("y", 0.02)]
    refs = {"summary": TurnRef("c", ("t1", "t2")), "x": ref("t1", 1), "y": ref("t2", 2)}
    supported = support(candidates, refs, 0.5, 0.0)
    assert supported["summary"] == pytest.approx(0.04 + 0.5 * 0.01 + 0.5 * 0.02)


@pytest.mark.parametrize(
    ("query", "speaker"),
    [
        ("What did Caroline paint last week?", "Caroline"),
        ("what did caroline paint?", "Caroline"),
        ("What do Caroline and Melanie both like?", None),  # two people: neither is favoured
        ("What did Carolines cat do?", None),  # a word, not a substring
        ("What is the plan?", None),
    ],
)
def test_the_query_names_one_speaker_or_none(query: str, speaker: str | None) -> None:
    assert named_speaker(query, {"Caroline", "Melanie", ""}) == speaker


# ------------------------------------------------------------------------------------------ context


def test_each_turn_gets_the_previous_one_as_context() -> None:
    recent = RecentTurns()
    first, recent = place_turn(recent, "e1", "John: We went to a military memorial with the kids.")
    second, recent = place_turn(recent, "e2", "Maria: How did they react?")
    third, recent = place_turn(recent, "e3", "John: They were awestruck and humbled.")
    assert first == ""
    assert second == "John: We went to a military memorial with the kids."
    assert third == "Maria: How did they react?"


def test_a_redelivered_turn_gets_the_context_it_had_and_changes_nothing() -> None:
    recent = RecentTurns()
    for i in range(5):
        _, recent = place_turn(recent, f"e{i}", f"turn {i}")
    again, after = place_turn(recent, "e2", "turn 2")
    assert again == "turn 1"
    assert after == recent


def test_recent_turns_and_conversations_are_bounded() -> None:
    recent = RecentTurns()
    for i in range(RECENT_TURNS + 10):
        _, recent = place_turn(recent, f"e{i}", f"turn {i}")
    assert len(recent.turns) == RECENT_TURNS
    assert recent.turns[-1] == SeenTurn(f"e{RECENT_TURNS + 9}", f"turn {RECENT_TURNS + 9}")
    conversations = RecentConversations(capacity=2)
    conversations.put("a", recent)
    conversations.put("b", RecentTurns())
    conversations.get("a")  # reading does not make a conversation recent: only a new turn does
    conversations.put("c", RecentTurns())
    assert len(conversations) == 2
    assert conversations.get("a") == RecentTurns()  # the least recently active one was forgotten
    conversations.put("b", recent)
    conversations.put("d", RecentTurns())
    assert conversations.get("b") == recent  # "b" had a new turn after "c": "c" went first


def test_a_rendered_turn_is_cut_at_a_word_boundary() -> None:
    rendered = render_turn("Jo", "word " * 100)
    assert rendered.startswith("Jo: word word")
    assert len(rendered) <= CONTEXT_CHARS
    assert rendered.endswith("word")
    assert render_turn("", "  spaced\n  out  ") == "spaced out"


def test_the_model_embeds_a_memory_with_its_context_but_an_update_alone() -> None:
    env = Envelope("e", "MemoryExtracted", 1, Scope("app", "u"), AT, AT, None, None, Producer("t"))
    extracted = MemoryExtracted(env, memory_id="m", text="John: They were awestruck.", context="Maria: How?")
    assert embedding_text(extracted) == "John: They were awestruck. (context: Maria: How?)"
    assert embedding_text(MemoryExtracted(env, memory_id="m", text="alone")) == "alone"
    updated = MemoryUpdated(replace(env, event_type="MemoryUpdated"), memory_id="m", text="corrected")
    assert embedding_text(updated) == "corrected"


# ------------------------------------------------------------------------------------------ entities


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ("That's so cool, Melanie!", ["Melanie"]),
        ("Glad you liked the show.", []),
        ("Seeing Toby run was the best.", ["Toby"]),
        ("Toby is my puppy.", ["Toby"]),
        ("I met Jon in New York.", ["Jon", "New York"]),
        ("Sounds great, see you at Lisbon airport.", ["Lisbon"]),
    ],
)
def test_a_capital_that_only_opens_a_sentence_names_nothing(sentence: str, names: list[str]) -> None:
    assert [e.name for e in find_entities(sentence)] == names


# ------------------------------------------------------------------------------------------ match strength


def test_a_clear_winner_keeps_its_lead_through_fusion_and_priors() -> None:
    # A small store: the answer's cosine 0.6, an unrelated memory's 0.3 at rank 2.
    strengths = match_strengths([("berlin", 0.6), ("apollo", 0.3)], 1.0)
    assert strengths == {"berlin": 1.0, "apollo": 0.5}
    fused = {
        h.memory_id: h.score
        for h in reciprocal_rank_fusion({"dense": ["berlin", "apollo"]}, strengths={"dense": strengths})
    }
    # Even with the answer's specificity at 0.7 and the other's at 1.0, the answer stays first.
    assert fused["berlin"] * 0.7 > fused["apollo"] * 1.0


def test_a_close_race_is_plain_rrf() -> None:
    strengths = match_strengths([("a", 0.62), ("b", 0.61), ("c", 0.60)], 1.0)
    assert min(strengths.values()) > 0.96
    assert match_strengths([("a", 0.6)], 0.0) == {}  # exponent 0: plain RRF
    assert match_strengths([("a", -0.1)], 1.0) == {}  # nothing to scale by


def test_conversations_keep_their_own_context_and_a_verbatim_turn_is_embedded_alone() -> None:
    recent = RecentConversations(capacity=10)
    first = make_turn("u", "We went to the memorial.", "1", speaker="John")
    other = replace(make_turn("u", "Unrelated chat.", "9"), conversation_id="elsewhere")
    verbatim = replace(make_turn("u", "Note to self: kids loved it.", "2"), infer=False)
    answer = make_turn("u", "They were awestruck.", "3", speaker="John")
    assert recent.context_for(first) == ""
    assert recent.context_for(other) == ""  # another conversation knows nothing of the first
    assert recent.context_for(verbatim) == ""  # standalone, though the memorial came before it
    assert recent.context_for(answer) == "Alice: Note to self: kids loved it."  # ...and it is remembered
    assert recent.context_for(answer) == "Alice: Note to self: kids loved it."  # redelivered: the same
