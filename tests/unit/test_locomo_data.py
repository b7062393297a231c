"""The pure parts of the LoCoMo benchmark, on small hand-made samples (never the real data file)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench.locomo_data import (
    DRAGON_ANCHOR,
    OVERALL,
    audit_overrides,
    average_by_category,
    build_evidence,
    clean_evidence,
    conversations_from,
    distinct,
    format_table,
    normalise_evidence_id,
    parse_session_date,
    recall_at_k,
    recall_scores,
    turn_event,
)
from bench.locomo_search import Asked, score, search_body
from memory.contract.ids import turn_event_id_for


def sample(sample_id: str, qa: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sample_id": sample_id,
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            # Session 2 listed first and a date for a session 3 that does not exist, as in the real file.
            "session_2_date_time": "9:05 am on 10 May, 2023",
            "session_2": [{"speaker": "Bob", "dia_id": "D2:1", "text": "I adopted a cat named Tom."}],
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Bob!"},
                {"speaker": "Bob", "dia_id": "D1:2", "text": "Look at this.", "blip_caption": "a photo of a lake"},
                {"speaker": "Ann", "dia_id": "D1:3", "text": "I moved to Berlin last year."},
            ],
            "session_3_date_time": "2:00 pm on 1 June, 2023",
        },
        "qa": qa,
    }


QA = [
    {"question": "Where did Ann move?", "answer": "Berlin", "evidence": ["D1:3"], "category": 4},
    {"question": "What pet?", "answer": "cat", "evidence": ["D2:1; D1:2", "D:1:3"], "category": 1},
    {"question": "Bad ids only?", "answer": "x", "evidence": ["D", "D7:1"], "category": 2},
    {"question": "Adversarial?", "answer": "x", "evidence": ["D1:1"], "category": 5},
    {"question": "Same text", "answer": "x", "evidence": ["D1:1"], "category": 3},
    {"question": "Same text", "answer": "y", "evidence": ["D1:2"], "category": 3},
]


def test_turns_are_dated_at_their_session_in_order_with_captions() -> None:
    (conversation,) = conversations_from([sample("conv-1", QA)])
    assert [t.dia_id for t in conversation.turns] == ["D1:1", "D1:2", "D1:3", "D2:1"]
    assert [t.occurred_at for t in conversation.turns] == [
        datetime(2023, 5, 8, 13, 56, 0, tzinfo=UTC),
        datetime(2023, 5, 8, 13, 56, 1, tzinfo=UTC),
        datetime(2023, 5, 8, 13, 56, 2, tzinfo=UTC),
        datetime(2023, 5, 10, 9, 5, 0, tzinfo=UTC),
    ]
    assert conversation.turns[1].text == "Look at this. [shared a photo: a photo of a lake]"
    # The date of the session that has no turns does not count.
    assert conversation.last_session_at == datetime(2023, 5, 10, 9, 5, tzinfo=UTC)
    assert conversation.questions[1].key == (0, 1)


def test_session_date_parses_am_pm() -> None:
    assert parse_session_date("12:09 am on 2 February, 2023") == datetime(2023, 2, 2, 0, 9, tzinfo=UTC)
    assert parse_session_date("12:09 pm on 2 February, 2023") == datetime(2023, 2, 2, 12, 9, tzinfo=UTC)


def test_turn_event_is_deterministic_and_carries_the_dia_id() -> None:
    (conversation,) = conversations_from([sample("conv-1", QA)])
    event = turn_event(conversation.turns[2], "app", "tests", infer=False)
    assert event.envelope.event_id == turn_event_id_for("app/conv-1", "conv-1", "D1:3")
    assert event.envelope.occurred_at == datetime(2023, 5, 8, 13, 56, 2, tzinfo=UTC)
    assert (event.scope.user_id, event.speaker, event.infer) == ("conv-1", "Ann", False)
    assert event.metadata == {"dia_id": "D1:3"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("D1:3", "D1:3"), (" D1:3 ", "D1:3"), ("D:11:26", "D11:26"), ("D30:05", "D30:5"), ("D", None), ("X1:2", None)],
)
def test_evidence_ids_are_normalised(raw: str, expected: str | None) -> None:
    assert normalise_evidence_id(raw) == expected


def test_joined_malformed_and_missing_evidence() -> None:
    existing = {"D1:1", "D1:2", "D1:3"}
    cleaned = clean_evidence(["D1:1; D1:2", "D:1:3", "D1:2", "D", "D9:9", "D1:1 D1:02,D1:3"], existing)
    assert cleaned.ids == ("D1:1", "D1:2", "D1:3")
    assert cleaned.malformed == ("D",)
    assert cleaned.missing == ("D9:9",)


def test_build_evidence_drops_and_counts() -> None:
    evidence = build_evidence(conversations_from([sample("conv-1", QA)]))
    assert evidence.evidence == {
        (0, 0): ("D1:3",),
        (0, 1): ("D2:1", "D1:2", "D1:3"),
        (0, 4): ("D1:1",),
        (0, 5): ("D1:2",),
    }
    report = evidence.report
    assert (report.questions, report.questions_kept, report.questions_dropped) == (5, 4, 1)  # category 5 not counted
    assert (report.ids_kept, report.ids_malformed, report.ids_missing_turn) == (6, 1, 1)
    assert "conv-1 qa2: question dropped, no evidence left" in report.dropped


def test_audit_replaces_evidence_matching_by_id_then_text() -> None:
    conversations = conversations_from([sample("conv-1", QA), sample("conv-2", QA)])
    entries = [
        {"question_id": "locomo_0_qa0", "question": "Where did Ann move?", "correct_evidence": ["D2:1"]},
        # Wrong index, unique text in that sample: found by text.
        {"question_id": "locomo_1_qa3", "question": "What pet?", "correct_evidence": ["D1:1", "D30:05"]},
        # Wrong index and a text asked twice: ambiguous, left alone.
        {"question_id": "locomo_0_qa0", "question": "Same text", "correct_evidence": ["D1:3"]},
        # A conversation this run did not load.
        {"question_id": "locomo_7_qa0", "question": "Where did Ann move?", "correct_evidence": ["D1:1"]},
        # The auditors found no evidence at all: the question leaves the audited set.
        {"question_id": "locomo_1_qa4", "question": "Same text", "correct_evidence": []},
    ]
    match = audit_overrides(entries, conversations)
    assert (match.by_id, match.by_text, match.unmatched, match.outside_subset) == (2, 1, ("locomo_0_qa0",), 1)
    audited = build_evidence(conversations, match.overrides)
    assert audited.evidence[(0, 0)] == ("D2:1",)
    assert audited.evidence[(1, 1)] == ("D1:1",)  # D30:5 does not exist in conv-2
    assert (1, 4) not in audited.evidence
    assert audited.evidence[(0, 4)] == ("D1:1",)  # untouched
    assert audited.report.ids_missing_turn == 1 + 2  # D30:05 plus the D7:1 of each sample's qa2
    assert audited.report.questions_dropped == 3


def test_recall_counts_turns_not_memories() -> None:
    ranked = ["D9:9", "D1:1", "D1:1", "D5:5", "D1:2"]  # two memories of D1:1
    assert recall_at_k({"D1:1", "D1:2"}, ranked, 1) == 0.0
    assert recall_at_k({"D1:1", "D1:2"}, ranked, 3) == 0.5
    assert recall_at_k({"D1:1", "D1:2"}, ranked, 5) == 1.0
    assert recall_at_k({"D1:1", "D1:2", "D3:3"}, ranked, 50) == pytest.approx(2 / 3)
    assert distinct(ranked) == ["D9:9", "D1:1", "D5:5", "D1:2"]
    assert recall_scores({"D1:1", "D1:2"}, distinct(ranked), ks=(2, 4)) == {"R@2": 0.5, "R@4": 1.0}


def test_average_by_category_weighs_overall_by_questions() -> None:
    table = average_by_category([(4, {"R@5": 1.0}), (4, {"R@5": 0.5}), (1, {"R@5": 0.0})])
    assert table["single-hop"] == {"questions": 2, "R@5": 0.75}
    assert table["multi-hop"] == {"questions": 1, "R@5": 0.0}
    assert table[OVERALL] == {"questions": 3, "R@5": 0.5}
    assert "temporal" not in table


def test_score_over_hits_or_distinct_turns() -> None:
    evidence = build_evidence(conversations_from([sample("conv-1", QA)]))
    categories = {(0, 0): 4, (0, 1): 1}  # only these two were searched
    rankings = {(0, 0): ["D1:1"] * 5 + ["D1:3"], (0, 1): ["D2:1", "D1:2", "D1:3"]}
    by_hits = score(evidence, categories, rankings, turns=False)
    assert by_hits["single-hop"]["R@5"] == 0.0 and by_hits["single-hop"]["R@10"] == 1.0
    assert by_hits["multi-hop"]["R@5"] == 1.0
    assert by_hits[OVERALL]["questions"] == 2 and by_hits[OVERALL]["R@5"] == 0.5
    assert score(evidence, categories, rankings, turns=True)["single-hop"]["R@5"] == 1.0


def test_search_body_legacy_omits_only_the_new_fields() -> None:
    (conversation,) = conversations_from([sample("conv-1", QA)])
    asked = Asked(conversation.questions[0], "2023-05-11T09:05:00+00:00")
    body = search_body(asked, "app", "dense", legacy=False)
    assert body == {
        "query": "Where did Ann move?",
        "user_id": "conv-1",
        "app_id": "app",
        "top_k": 50,
        "recipe": "dense",
        "use_cache": False,
        "reference_time": "2023-05-11T09:05:00+00:00",
    }
    legacy = search_body(asked, "app", "dense", legacy=True)
    assert legacy == {k: v for k, v in body.items() if k not in {"recipe", "use_cache", "reference_time"}}


def test_table_shows_percent_and_dashes_for_missing_cells() -> None:
    ours = {OVERALL: {"R@5": 0.5, "R@10": 0.625, "R@25": 0.75, "R@50": 1.0}, "single-hop": {"R@10": 0.7}}
    text = format_table("t", {"hybrid": ours, "DRAGON (paper)": DRAGON_ANCHOR})
    title, header, hybrid, dragon = text.splitlines()
    assert title == "t"
    assert header.split() == ["R@5", "R@10", "R@25", "R@50"] + [
        word for category in ("single-hop", "multi-hop", "temporal", "open-domain") for word in (category, "R@10")
    ]
    assert hybrid.split() == ["hybrid", "50.0", "62.5", "75.0", "100.0", "70.0", "—", "—", "—"]
    assert dragon.split()[-8:] == ["60.4", "69.7", "79.8", "85.7", "77.7", "46.6", "77.3", "40.8"]
