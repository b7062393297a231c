"""Milvus filter expressions (projections.milvus.expressions): the text they produce for hostile values.

Whether Milvus reads them back exactly is tested against the real Milvus Lite in
tests/integration/test_milvus_hostile_values.py.
"""

from __future__ import annotations

import pytest

from projections.milvus.expressions import UnsafeLiteral, ids_filter, in_states, literal, scope_filter


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("alice", '"alice"'),
        ('ev"il', '"ev\\"il"'),
        ("back\\slash", '"back\\\\slash"'),
        ('\\"', '"\\\\\\""'),  # a backslash then a quote: neither may end the literal
        ("it's", '"it\'s"'),  # a single quote needs nothing inside double quotes
        ('x") or ("1"=="1', '"x\\") or (\\"1\\"==\\"1"'),
        ("two\nlines", '"two\\\nlines"'),  # a backslash before the line feed (see the module's docstring)
    ],
)
def test_a_literal_escapes_backslashes_quotes_and_line_feeds(value: str, spelled: str) -> None:
    assert literal(value) == spelled


def test_a_carriage_return_is_refused_rather_than_dropped() -> None:
    with pytest.raises(UnsafeLiteral):
        literal("a\rb")


def test_every_filter_spells_its_values_through_literal() -> None:
    assert scope_filter("app", 'u"1') == 'app_id == "app" and user_id == "u\\"1"'
    assert scope_filter("app", "u", agent_id="bot", run_id="r") == (
        'app_id == "app" and user_id == "u" and agent_id == "bot" and run_id == "r"'
    )
    # Ids were stripped of their quotes before (a different id); now they are escaped.
    assert ids_filter(["m1", 'm"2']) == 'memory_id in ["m1","m\\"2"]'
    assert in_states("a", "u", ["active", "accessed"]) == (
        'app_id == "a" and user_id == "u" and state in ["active","accessed"]'
    )
