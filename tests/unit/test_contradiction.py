from __future__ import annotations

import pytest

from memory.lifecycle.contradiction import (
    Claim,
    Contradiction,
    ContradictionDetector,
    RuleContradictionDetector,
    detect_contradiction,
    extract_claims,
)

# (new, existing, slot): the new statement contradicts the existing one on that slot.
CONTRADICTIONS = [
    ("Caroline: I moved to Berlin", "Caroline: I live in Paris", "residence"),
    ("Caroline: I live in Berlin now", "Caroline: I live in Paris", "residence"),
    ("I'm based in Lisbon these days", "I live in Paris", "residence"),
    ("We moved to Berlin last year", "I live in Paris", "residence"),
    ("I moved from Paris to Berlin", "I live in Paris", "residence"),
    ("i live in berlin", "i live in paris", "residence"),  # lowercase chat
    ("I don't live in Paris anymore", "I live in Paris", "residence"),
    ("I used to live in Paris, now I'm in Rome", "I live in Paris", "residence"),
    ("I live in Paris", "I used to live in Paris", "residence"),  # moved back
    ("I work at Microsoft", "I work at Google", "employer"),
    ("I joined Stripe in March", "I work for Google", "employer"),
    ("I started working at Acme Corp", "I'm working at Google as an engineer", "employer"),
    ("I quit my job at Google", "I work at Google", "employer"),
    ("I no longer work at Google", "I work at Google", "employer"),
    ("My favourite colour is green", "my favorite color is blue", "favourite color"),
    ("Sushi is my favourite food.", "My favourite food is pizza", "favourite food"),
    ("My name's Robert", "My name is Bob", "name"),
    ("I turned 31 yesterday", "I am 30 years old", "age"),
    ("I stopped drinking coffee", "I love coffee", "habit:coffee"),
    ("I don't play tennis anymore", "I play tennis every week", "habit:tennis"),
    ("I quit smoking", "I smoke", "habit:smoke"),
    ("I've given up coffee", "I really love coffee and tea", "habit:coffee"),
    ("I used to love jazz", "I'm a big fan of jazz", "habit:jazz"),
    ("I no longer eat meat", "I eat meat every day", "habit:meat"),
    ("I stopped going to the gym", "I go to the gym every morning", "habit:gym"),
    ("I stopped running", "I go running on Sundays", "habit:run"),
    ("I hate coffee", "I love coffee", "habit:coffee"),
    ("I don't like tennis anymore", "I love playing tennis with my friends", "habit:tennis"),
    ("I love coffee", "I stopped drinking coffee", "habit:coffee"),  # taken up again
    ("Caroline: I stopped drinking coffee", "I love coffee", "habit:coffee"),  # verbatim = the user's voice
]

# (new, existing): must NOT contradict.
COMPATIBLE = [
    ("I love coffee", "I love tea"),
    ("I visited Berlin", "I live in Paris"),
    ("Melanie: I live in Berlin", "Caroline: I live in Paris"),  # different speakers
    ("Melanie: I stopped drinking coffee", "Caroline: I love coffee"),
    ("Caroline: I live in Paris", "Caroline: I live in Paris"),  # a repeat, not a contradiction
    ("I live in Paris, France", "I live in Paris"),
    ("I live in New York City", "I live in New York"),
    ("I work at Google as an engineer", "I work for Google"),
    ("I moved to Berlin", "I live in Berlin"),
    ("My sister lives in Berlin", "I live in Paris"),
    ("Do you live in Berlin?", "I live in Paris"),
    ("If I moved to Berlin I'd be happier", "I live in Paris"),
    ("I'm moving to Berlin next month", "I live in Paris"),  # a plan, not a move
    ("I lived in Berlin for two years", "I live in Paris"),  # history
    ("I live in a small flat", "I live in Paris"),
    ("I work at home on Fridays", "I work at Google"),
    ("I joined a gym", "I work at Google"),
    ("I stopped drinking tea", "I love coffee"),
    ("I stopped drinking", "I drink coffee every morning"),  # too vague to hide a specific habit
    ("I love my job", "I work at Google"),
    ("I don't work at Google anymore", "I work at Microsoft"),
    ("My favourite food is pizza", "My favourite colour is blue"),
    ("I love coffee", "I do love coffee"),
    ("I'd like a coffee", "I stopped drinking coffee"),
    ("I hate it when it rains", "I love it"),
]


@pytest.mark.parametrize(("new", "existing", "slot"), CONTRADICTIONS)
def test_contradicts(new: str, existing: str, slot: str) -> None:
    found = detect_contradiction(new, existing)
    assert found is not None
    assert found.slot == slot


@pytest.mark.parametrize(("new", "existing"), COMPATIBLE)
def test_does_not_contradict(new: str, existing: str) -> None:
    assert detect_contradiction(new, existing) is None


def test_enough_cases() -> None:
    assert len(CONTRADICTIONS) >= 15
    assert len(COMPATIBLE) >= 15


def test_reasons_name_both_values() -> None:
    assert detect_contradiction("I moved to Berlin", "I live in Paris") == Contradiction(
        "residence", "residence was 'paris', now 'berlin'"
    )
    assert detect_contradiction("I don't live in Paris anymore", "I live in Paris") == Contradiction(
        "residence", "residence is no longer 'paris'"
    )
    assert detect_contradiction("I stopped drinking coffee", "I love coffee") == Contradiction(
        "habit:coffee", "no longer likes or does 'coffee'"
    )
    assert detect_contradiction("I drink coffee again", "I quit coffee") == Contradiction(
        "habit:coffee", "likes or does 'coffee' again, after stopping or disliking it"
    )


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Caroline: I live in Paris now.", [Claim("residence", "paris", True, True)]),
        ("I live in the Netherlands", [Claim("residence", "netherlands", True, True)]),
        ("i live in the city", []),
        (
            "I moved from Paris to Berlin",
            [Claim("residence", "berlin", True, True), Claim("residence", "paris", False, True)],
        ),
        ("My favourite colour's red", [Claim("favourite color", "red", True, True)]),
        (
            "I love coffee, but I stopped drinking tea",
            [Claim("habit:coffee", "coffee", True, False), Claim("habit:tea", "tea", False, False)],
        ),
        (
            "I quit my job at Google",
            [Claim("employer", "google", False, True), Claim("habit:job", "job", False, False)],
        ),
        ("I am 030 years old", [Claim("age", "30", True, True)]),
        ("I read a great book yesterday", []),  # "read" is as often past as present
        ("I moved here to study", []),
        ("I love you", []),
    ],
)
def test_claims(text: str, claims: list[Claim]) -> None:
    assert extract_claims(text) == claims


def test_first_conflict_in_statement_order_wins() -> None:
    found = detect_contradiction("I moved to Berlin and I stopped drinking coffee", "I love coffee. I live in Paris.")
    assert found is not None and found.slot == "residence"


def test_the_rules_are_a_detector() -> None:
    detector: ContradictionDetector = RuleContradictionDetector()
    assert detector.detect("I work at Microsoft", "I work at Google") == detect_contradiction(
        "I work at Microsoft", "I work at Google"
    )
