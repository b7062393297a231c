"""bench/locomo_worth.py: LoCoMo's evidence turns that the offline extractor makes no memory of, on a
hand-made conversation (the real file is not needed)."""

from __future__ import annotations

from bench.locomo_data import conversation_from
from bench.locomo_worth import count, report

SAMPLE = {
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ann",
        "speaker_b": "Bob",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Bob! How are you?"},
            {"speaker": "Bob", "dia_id": "D1:2", "text": "Great! I adopted a cat named Tom last week."},
            {"speaker": "Ann", "dia_id": "D1:3", "text": "Aww! Did you get him from the shelter on Elm Street?"},
            {"speaker": "Bob", "dia_id": "D1:4", "text": "Yep!"},
        ],
    },
    "qa": [
        # The question (D1:3) carries the shelter; the answer (D1:4) says nothing alone.
        {"question": "Where did Bob get Tom?", "answer": "a shelter", "evidence": ["D1:3", "D1:4"], "category": 4},
        {"question": "What pet?", "answer": "a cat", "evidence": ["D1:2"], "category": 1},
        {"question": "Greeting?", "answer": "x", "evidence": ["D1:1"], "category": 5},  # adversarial: not counted
    ],
}


def test_the_evidence_turns_without_a_memory_are_listed() -> None:
    counts = count([conversation_from(0, SAMPLE)])
    assert (counts.turns, counts.turns_without_memory, counts.evidence_turns) == (4, 2, 3)
    assert [t.dia_id for t in counts.missing] == ["D1:4"]
    assert counts.memories == 2
    assert "D1:4 Bob: 'Yep!'" in report(counts)
