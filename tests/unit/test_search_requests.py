"""Search and context requests: what is refused with a clear message, and what makes two searches equal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.access import Hit, access_events
from api.errors import InvalidRequest
from api.filters import Visibility
from api.retrievers.base import or_tsquery
from api.retrievers.graph import entity_weight
from api.schemas import SearchFilters, SearchRequest
from api.search import fingerprint, validate
from memory.contract.events import Scope
from memory.language.names import candidate_names

REF = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
SCOPE = Scope("app", "alice")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"query": "   "}, "query is empty"),
        ({"recipe": "bm42"}, "unknown recipe 'bm42'"),
        ({"top_k": 0}, "top_k must be between 1 and 100, got 0"),
        ({"top_k": -3}, "got -3"),
        ({"top_k": 10_000}, "got 10000"),
        ({"query": "x" * 2_001}, "the limit is 2000"),
        (
            {"filters": SearchFilters(states=["active", "zombie"])},
            "filters.states: unknown state 'zombie'; the states are extracted, stored, active,",
        ),
    ],
)
def test_bad_search_requests_say_what_is_wrong(changes: dict[str, object], message: str) -> None:
    body = SearchRequest(**{"query": "where do I live", "user_id": "alice", **changes})  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as caught:
        validate(body, SCOPE)
    assert message in caught.value.detail


def test_visibility_puts_scope_states_metadata_and_time_in_both_stores() -> None:
    seen = Visibility(
        "app", "alice", agent_id="bot", filters=SearchFilters(metadata={"topic": "travel"}, occurred_after=REF)
    )
    sql, params = seen.sql()
    assert "memories.app_id = %s" in sql and "memories.user_id = %s" in sql and "memories.agent_id = %s" in sql
    assert "metadata @> %s::jsonb" in sql and '{"topic": "travel"}' in params and REF in params
    expr = seen.milvus(end=datetime(2026, 3, 2, tzinfo=UTC))
    assert 'user_id == "alice"' in expr and 'agent_id == "bot"' in expr
    assert f"occurred_at >= {int(REF.timestamp() * 1000)}" in expr
    assert "occurred_at < 1772409600000" in expr
    # Memories being consolidated stay searchable until their summary is (issue 18, point 8).
    assert 'state in ["active","consolidating","decaying"]' in expr


def test_the_seeds_retired_state_names_are_read_as_the_states_such_memories_are_in() -> None:
    # A request written against the old drawing ("active, accessed, decaying" was the documented default)
    # gets the same answer as before; "embedding" asks for memories not embedded yet, which are Extracted.
    old_default = Visibility("app", "alice", filters=SearchFilters(states=["active", "accessed", "decaying"]))
    assert old_default.states() == ["active", "decaying"]
    assert Visibility("app", "alice").states() == ["active", "consolidating", "decaying"]
    assert Visibility("app", "alice", filters=SearchFilters(states=["embedding"])).states() == ["extracted"]


def test_an_empty_time_window_is_no_error_and_matches_nothing() -> None:
    window = SearchFilters(occurred_after=REF, occurred_before=REF)
    validate(SearchRequest(query="where do I live", user_id="alice", filters=window), SCOPE)
    sql, params = Visibility("app", "alice", filters=window).sql()
    assert "valid_from >= %s" in sql and "valid_from < %s" in sql and params.count(REF) == 2  # no row is both


def test_milvus_strings_are_escaped() -> None:
    expr = Visibility("app", 'ev"il\\').milvus()
    assert 'user_id == "ev\\"il\\\\"' in expr


def test_fingerprint_ignores_the_token_and_cache_switch_but_not_the_question() -> None:
    a = SearchRequest(query="coffee", user_id="alice")
    b = SearchRequest(query="coffee", user_id="alice", consistency_token="tok", use_cache=False)
    c = SearchRequest(query="coffee", user_id="alice", recipe="dense")
    assert fingerprint(a, REF) == fingerprint(b, REF)
    assert fingerprint(a, REF) != fingerprint(c, REF)
    # Without an explicit reference time, the clock's hour is part of the question ("yesterday" moves).
    assert fingerprint(a, REF) != fingerprint(a, REF.replace(hour=11))


def test_query_names_and_entity_weights() -> None:
    names = candidate_names(
        ["What", "did", "I", "discuss", "with", "Sarah", "Connor", "at", "Lumen", "Labs", "last", "week?"]
    )
    assert "sarah" in names and "sarah connor" in names and "lumen labs" in names
    assert "what" not in names and "week" not in names and "last" not in names
    assert entity_weight(1, 1000) > entity_weight(900, 1000) > 0


def test_a_plural_in_the_query_finds_the_singular_entity() -> None:
    names = candidate_names(["How", "many", "Ferraris", "and", "Lumen", "Boxes", "does", "Calvin", "own?"])
    assert {"ferraris", "ferrari", "lumen boxes", "lumen box", "calvin"} <= set(names)
    assert "cla" not in candidate_names(["class"]) and candidate_names(["glass"]) == ["glass"]  # -ss is not a plural


def test_or_tsquery_never_passes_syntax_through() -> None:
    assert or_tsquery(["Sarah's", "c++", "&", "!"]) == "sarahs | c"
    assert or_tsquery([]) == ""


def test_each_access_records_the_state_its_hit_was_read_in() -> None:
    """The lifecycle recalls an archived memory only for a hit that saw it archived (memory.lifecycle.on_access)."""
    now = datetime(2026, 5, 1, tzinfo=UTC)
    hits = [Hit("m-1", ["dense"], "consolidating"), Hit("m-2", ["dense", "sparse"], "archived")]
    events = access_events(Scope("app", "alice"), hits, "req-1", now)
    assert [(e.memory_id, e.rank, e.retrievers, e.seen_state) for e in events] == [
        ("m-1", 1, ("dense",), "consolidating"),
        ("m-2", 2, ("dense", "sparse"), "archived"),
    ]
    assert access_events(Scope("app", "alice"), hits, "req-1", now) == events  # a retry is the same events
