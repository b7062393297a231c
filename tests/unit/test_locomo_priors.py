"""The pure parts of the prior ablations (bench/locomo_priors.py): which variants apply, the verdicts, re-ranking."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.locomo_priors import VARIANTS, Captured, Variant, applies, ordered, question_factor, rankings_for, verdicts
from bench.locomo_split import HELD_OUT, TUNING, WHOLE
from memory.retrieval import specificity as specificity_module
from memory.retrieval.recipes import recipe_named
from memory.retrieval.scoring import CandidateRow, Found

AT = datetime(2023, 5, 8, tzinfo=UTC)


def variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def test_a_vote_is_dropped_only_where_it_is_one_of_several() -> None:
    hybrid, dense = recipe_named("hybrid"), recipe_named("dense")
    assert all(applies(v, hybrid) for v in VARIANTS)
    assert not applies(variant("no dense vote"), dense)
    assert not applies(variant("no time-range prior"), dense)
    assert applies(variant("no speaker boost"), dense)


def table(r10: float) -> dict[str, dict[str, float]]:
    return {"overall": {"R@10": r10}}


def test_a_prior_helps_where_switching_it_off_loses_recall() -> None:
    results = {
        "as is": {"original": {WHOLE: table(0.77), TUNING: table(0.78), HELD_OUT: table(0.76)}},
        "no speaker boost": {"original": {WHOLE: table(0.76), TUNING: table(0.76), HELD_OUT: table(0.76)}},
        "no recency": {"original": {WHOLE: table(0.765), TUNING: table(0.78), HELD_OUT: table(0.75)}},
    }
    found = verdicts(results)
    assert found["no speaker boost"]["helps_tuning"] and not found["no speaker boost"]["helps_held_out"]
    assert found["no recency"]["helps_held_out"] and found["no recency"]["gain_points"][HELD_OUT] == 1.0


def test_the_question_discount_is_restored_after_its_variant() -> None:
    saved = specificity_module.QUESTION_FACTOR
    with question_factor(1.0):
        assert specificity_module.QUESTION_FACTOR == 1.0
    assert saved == specificity_module.QUESTION_FACTOR


def row(memory_id: str, text: str, speaker: str, turn: str) -> CandidateRow:
    return CandidateRow(memory_id, text, 0.5, AT, speaker, "c", (turn,), int(turn[-1]))


def test_re_ranking_follows_the_recipe_and_the_variant() -> None:
    # Dense prefers m1 slightly; the query names Bob, who said m2: the speaker boost puts m2 first.
    captured = Captured(
        found={"dense": [Found("m1", 0.80), Found("m2", 0.79)], "sparse": [Found("m2", 3.0), Found("m1", 3.0)]},
        rows={
            "m1": row("m1", "Ann: I bought a red bicycle in Paris", "Ann", "D1:1"),
            "m2": row("m2", "Bob: I bought a green bicycle in Rome", "Bob", "D1:2"),
        },
        dia_ids={"m1": "D1:1", "m2": "D1:2"},
        positions={},
        text="What bicycle did Bob buy?",
        reference=AT,
        span=None,
    )
    dense = recipe_named("dense")
    assert ordered(captured, dense, drop_span=False) == ["D1:2", "D1:1"]
    keys = {(0, 0): captured}
    assert rankings_for(keys, dense, variant("no speaker boost"))[(0, 0)] == ["D1:1", "D1:2"]
