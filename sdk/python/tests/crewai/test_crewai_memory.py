"""``MemstreamMemory`` (memstream_client.integrations.crewai) against the live API, with CrewAI 1.15.30: every
method of CrewAI's unified Memory and of its storage protocol, a Crew that remembers in one run and recalls in the
next, two users and two crews kept apart, and failures surfaced the way CrewAI surfaces its own.

Every write here returns once memstream has made it searchable (``remember`` waits for it; a read after a delete
waits for the delete), so the assertions follow the calls directly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from crewai import Agent, Crew, Task
from crewai.crews.crew_output import CrewOutput
from crewai.events.base_events import BaseEvent
from crewai.events.event_bus import crewai_event_bus
from crewai.events.types.memory_events import (
    MemoryQueryCompletedEvent,
    MemoryQueryFailedEvent,
    MemoryRetrievalFailedEvent,
    MemorySaveCompletedEvent,
    MemorySaveFailedEvent,
)
from crewai.memory.memory_scope import MemoryScope, MemorySlice
from crewai.memory.types import MemoryRecord, ScopeInfo
from pydantic import ValidationError
from scripted_llm import ScriptedLLM

from memstream_client import AuthenticationError, InvalidRequest, Memstream, PermissionDenied
from memstream_client.integrations.crewai import CrewScope, MemstreamMemory, MemstreamStorage


@pytest.fixture
def memory(client: Memstream, crew: str, user: str) -> Iterator[MemstreamMemory]:
    memory = MemstreamMemory(crew_id=crew, user_id=user, client=client)
    yield memory
    memory.drain_writes()


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    """The memory events CrewAI's bus delivers while the test runs (its handlers run on a pool: flushed first)."""
    seen: list[BaseEvent] = []
    with crewai_event_bus.scoped_handlers():
        for kind in (
            MemorySaveCompletedEvent,
            MemorySaveFailedEvent,
            MemoryQueryCompletedEvent,
            MemoryQueryFailedEvent,
            MemoryRetrievalFailedEvent,
        ):
            crewai_event_bus.register_handler(kind, lambda source, event: seen.append(event))
        yield seen


def of_kind(events: list[BaseEvent], kind: type[BaseEvent]) -> list[Any]:
    crewai_event_bus.flush()
    return [e for e in events if isinstance(e, kind)]


def contents(records: list[MemoryRecord]) -> set[str]:
    return {r.content for r in records}


# --- remembering and recalling --------------------------------------------------------------------------------


def test_remember_stores_one_memstream_memory_with_crewai_fields_in_its_metadata(
    memory: MemstreamMemory, client: Memstream, crew: str, user: str, events: list[BaseEvent]
) -> None:
    record = memory.remember(
        "The deploy window is Tuesday at 09:00 UTC.",
        scope="/ops",
        categories=["schedule"],
        metadata={"ticket": "OPS-42", "attempts": 3},
        importance=0.9,
        source="alice-session",
    )
    assert record is not None
    assert (record.content, record.scope, record.categories) == (
        "The deploy window is Tuesday at 09:00 UTC.",
        "/ops",
        ["schedule"],
    )
    assert record.metadata == {"ticket": "OPS-42", "attempts": "3"}  # memstream's metadata holds strings
    assert (record.importance, record.source, record.private) == (0.9, "alice-session", False)

    # In memstream: one memory of this user, under the crew (agent_id), with its id.
    stored = client.get(record.id, user_id=user)
    assert (stored.memory, stored.agent_id, stored.user_id) == (record.content, crew, user)
    assert stored.metadata["crewai_scope"] == "/ops"
    assert [e.value for e in of_kind(events, MemorySaveCompletedEvent)] == [record.content]


def test_recall_finds_the_memory_by_meaning_with_memstream_scores(memory: MemstreamMemory) -> None:
    kept = memory.remember("Our staging database runs PostgreSQL 15 on port 5433.")
    memory.remember("The office plants are watered on Fridays.")
    assert kept is not None

    for depth in ("shallow", "deep"):  # the same search: there is no LLM to plan a deep one
        matches = memory.recall("which postgres version does staging use?", limit=1, depth=depth)
        assert [m.record.id for m in matches] == [kept.id]
        assert matches[0].score > 0 and matches[0].match_reasons  # the retrievers that found it
    assert "PostgreSQL 15" in matches[0].format()


def test_recall_within_a_scope_and_categories(memory: MemstreamMemory) -> None:
    ops = memory.remember("Backups run nightly at 02:00.", scope="/ops/backups", categories=["schedule"])
    sales = memory.remember("Backups of the sales deck are on the shared drive.", scope="/sales", categories=["docs"])
    assert ops is not None and sales is not None

    assert [m.record.id for m in memory.recall("backups", scope="/ops")] == [ops.id]
    assert [m.record.id for m in memory.recall("backups", scope="/sales")] == [sales.id]
    assert [m.record.id for m in memory.recall("backups", categories=["docs"])] == [sales.id]
    assert {m.record.id for m in memory.recall("backups")} == {ops.id, sales.id}
    assert memory.recall("backups", scope="/op") == []  # a prefix is a path, not a string prefix


def test_a_private_record_is_recalled_only_by_its_source(memory: MemstreamMemory) -> None:
    secret = memory.remember("The alarm code is 4711.", source="bob", private=True)
    assert secret is not None and secret.private

    assert memory.recall("alarm code") == []
    assert memory.recall("alarm code", source="carol") == []
    assert [m.record.id for m in memory.recall("alarm code", source="bob")] == [secret.id]
    assert [m.record.id for m in memory.recall("alarm code", include_private=True)] == [secret.id]


def test_remember_many_saves_in_the_background_and_recall_waits_for_it(memory: MemstreamMemory) -> None:
    facts = [f"Service {name} is owned by team {team}." for name, team in [("billing", "Ledger"), ("search", "Finder")]]
    assert memory.remember_many(facts, categories=["ownership"]) == []  # CrewAI's contract: non-blocking

    matches = memory.recall("who owns the billing service?", limit=1)
    assert [m.record.content for m in matches] == [facts[0]]
    assert contents(memory.list_records()) == set(facts)
    assert memory.list_categories() == {"ownership": 2}


def test_a_batch_larger_than_one_request_is_stored_whole(memory: MemstreamMemory) -> None:
    facts = [f"Room {n} has {n % 7 + 2} chairs." for n in range(101)]  # the API takes 100 messages an add
    memory.remember_many(facts, scope="/rooms")
    memory.drain_writes()
    assert contents(memory.list_records(limit=500)) == set(facts)  # two pages of the API's listing, too
    assert memory.info("/rooms").record_count == 101


def test_close_closes_only_a_client_the_memory_made(client: Memstream, crew: str, user: str) -> None:
    own = MemstreamMemory(crew_id=crew, user_id=user)  # its client from MEMSTREAM_API_KEY and MEMSTREAM_URL
    assert own.remember("Made with the environment's client.") is not None
    own.close()
    with pytest.raises(RuntimeError, match="closed"):
        own.memstream.client.get_all(user_id=user)

    borrowed = MemstreamMemory(crew_id=crew, user_id=user, client=client)
    borrowed.close()
    assert [m.memory for m in client.get_all(user_id=user, agent_id=crew)] == ["Made with the environment's client."]


def test_root_scope_nests_what_is_remembered_and_bounds_what_is_recalled(
    client: Memstream, crew: str, user: str
) -> None:
    rooted = MemstreamMemory(crew_id=crew, user_id=user, client=client, root_scope="/crew/ops")
    unrooted = MemstreamMemory(crew_id=crew, user_id=user, client=client)
    inside = rooted.remember("Incidents are reviewed on Mondays.", scope="reviews")
    outside = unrooted.remember("Incidents in the shop are logged on paper.", scope="/shop")
    assert inside is not None and outside is not None
    assert inside.scope == "/crew/ops/reviews"

    assert [m.record.id for m in rooted.recall("incidents")] == [inside.id]
    assert {m.record.id for m in unrooted.recall("incidents")} == {inside.id, outside.id}
    assert contents(rooted.list_records()) == {inside.content}


def test_the_async_variants(memory: MemstreamMemory) -> None:
    async def scenario() -> None:
        one = await memory.aremember("The on-call phone is the red one.")
        assert one is not None
        await memory.aremember_many(["The spare keys are in drawer 3."])
        found = await memory.arecall("where are the spare keys?", limit=1)
        assert [m.record.content for m in found] == ["The spare keys are in drawer 3."]
        assert await memory.aextract_memories("  Some text.  ") == ["Some text."]
        storage = memory.memstream
        await storage.asave([MemoryRecord(content="The printer is on floor 2.", scope="/office")])
        assert await storage.adelete(scope_prefix="/office") == 1
        with pytest.raises(NotImplementedError, match="searches by text"):
            await storage.asearch([0.1, 0.2])

    asyncio.run(scenario())
    assert contents(memory.list_records()) == {"The on-call phone is the red one.", "The spare keys are in drawer 3."}


def test_extract_memories_needs_no_llm(memory: MemstreamMemory) -> None:
    raw = "Task: find the window\nResult: Tuesday 09:00"
    assert memory.extract_memories(raw) == [raw]
    assert memory.extract_memories("   ") == []
    assert memory._llm_instance is None  # nothing built a model


# --- updating, listing, forgetting ----------------------------------------------------------------------------


def test_update_corrects_the_text_and_refuses_what_memstream_cannot_change(
    memory: MemstreamMemory, client: Memstream, user: str
) -> None:
    record = memory.remember("The release is on the 3rd.", scope="/releases")
    assert record is not None

    updated = memory.update(record.id, content="The release is on the 5th.")
    assert (updated.id, updated.content, updated.scope) == (record.id, "The release is on the 5th.", "/releases")
    assert [m.record.content for m in memory.recall("when is the release?", limit=1)] == ["The release is on the 5th."]
    texts = [entry.text for entry in client.history(record.id, user_id=user)]
    assert texts[0] == "The release is on the 3rd." and texts[-1] == "The release is on the 5th."  # kept history

    with pytest.raises(ValueError, match="cannot change a stored memory's scope, importance"):
        memory.update(record.id, scope="/other", importance=0.1)
    with pytest.raises(ValueError, match="Record not found: no-such-record"):
        memory.update("no-such-record", content="x")


def test_listing_scopes_info_tree_and_counts(memory: MemstreamMemory) -> None:
    memory.remember("Laptops are replaced every 3 years.", scope="/it/hardware", categories=["policy"])
    memory.remember("Passwords rotate every 90 days.", scope="/it/security", categories=["policy", "security"])
    memory.remember("Lunch is at noon.", scope="/office")

    assert memory.list_scopes() == ["/it", "/office"]
    assert memory.list_scopes("/it") == ["/it/hardware", "/it/security"]
    info = memory.info("/it")
    assert isinstance(info, ScopeInfo)
    assert (info.path, info.record_count, info.categories) == ("/it", 2, ["policy", "security"])
    assert info.oldest_record is not None and info.newest_record is not None
    assert info.oldest_record <= info.newest_record
    assert memory.info("/nowhere").record_count == 0
    assert memory.list_categories() == {"policy": 2, "security": 1}
    assert memory.list_categories("/it/hardware") == {"policy": 1}
    assert memory.memstream.count() == 3 and memory.memstream.count("/it") == 2
    tree = memory.tree()
    assert "/ (3 records)" in tree and "/it (2 records)" in tree and "/it/security (1 records)" in tree

    newest_first = memory.list_records()
    assert next(r.content for r in newest_first) == "Lunch is at noon."
    assert [r.content for r in memory.list_records(limit=1, offset=1)] == [newest_first[1].content]


def test_forget_by_ids_scope_categories_metadata_and_age(memory: MemstreamMemory) -> None:
    a = memory.remember("Fact A about ops.", scope="/ops", categories=["x"])
    b = memory.remember("Fact B about ops.", scope="/ops", categories=["y"], metadata={"kind": "temp"})
    c = memory.remember("Fact C about sales.", scope="/sales")
    d = memory.remember("Fact D about sales.", scope="/sales")
    assert a and b and c and d

    assert memory.forget(record_ids=[a.id]) == 1
    assert memory.memstream.get_record(a.id) is None
    assert memory.forget(metadata_filter={"kind": "temp"}) == 1
    assert memory.forget(scope="/ops") == 0
    assert memory.forget(scope="/sales", older_than=datetime.now(timezone.utc) - timedelta(days=1)) == 0
    assert memory.forget(categories=["nothing-has-this"]) == 0
    assert contents(memory.list_records()) == {c.content, d.content}
    assert memory.forget(scope="/sales", older_than=datetime.utcnow() + timedelta(minutes=5)) == 2  # naive = UTC
    assert memory.list_records() == [] and memory.recall("fact about sales") == []


def test_reset_forgets_the_crews_records_only(client: Memstream, crew: str, user: str) -> None:
    memory = MemstreamMemory(crew_id=crew, user_id=user, client=client)
    other = MemstreamMemory(crew_id=f"{crew}-other", user_id=user, client=client)
    memory.remember("Kept in scope a.", scope="/a")
    memory.remember("Kept in scope b.", scope="/b")
    theirs = other.remember("The other crew's note.")
    assert theirs is not None

    memory.reset(scope="/a")
    assert contents(memory.list_records()) == {"Kept in scope b."}
    memory.reset()
    assert memory.list_records() == []
    assert [r.id for r in other.list_records()] == [theirs.id]  # the user's other crew keeps its memories
    assert client.get(theirs.id, user_id=user).state == "active"


def test_scope_and_slice_views(memory: MemstreamMemory) -> None:
    team = memory.scope("/team")
    assert isinstance(team, MemoryScope)
    note = team.remember("Standup is at 10:00.", scope="rituals")
    assert note is not None and note.scope == "/team/rituals"
    memory.remember("The parking lot closes at 20:00.", scope="/facilities")

    assert [m.record.id for m in team.recall("when is standup?")] == [note.id]
    both = memory.slice(["/team", "/facilities"])
    assert isinstance(both, MemorySlice)
    assert [m.record.content for m in both.recall("when does the parking lot close?", limit=1)] == [
        "The parking lot closes at 20:00."
    ]
    assert [m.record.content for m in both.recall("when is standup?", limit=1)] == ["Standup is at 10:00."]
    only_team = memory.slice(["/team"]).recall("when does the parking lot close?")
    assert "The parking lot closes at 20:00." not in {m.record.content for m in only_team}  # outside the slice


def test_read_only_memory_stores_nothing(client: Memstream, crew: str, user: str) -> None:
    writer = MemstreamMemory(crew_id=crew, user_id=user, client=client)
    reader = MemstreamMemory(crew_id=crew, user_id=user, client=client, read_only=True)
    assert reader.remember("Never stored.") is None
    assert reader.remember_many(["Never stored either."]) == []
    kept = writer.remember("Stored by the writer.")
    assert kept is not None
    assert [r.content for r in reader.list_records()] == ["Stored by the writer."]
    assert reader.update(kept.id, content="Changed?").content == "Stored by the writer."


def test_the_storage_protocol(client: Memstream, crew: str, user: str) -> None:
    storage = MemstreamStorage(client, CrewScope(crew, user))
    storage.save([MemoryRecord(content="Saved through the protocol.", scope="/proto", categories=["p"])])
    [record] = storage.list_records()
    assert (record.content, record.scope, record.categories) == ("Saved through the protocol.", "/proto", ["p"])
    assert storage.get_record(record.id) == record
    storage.update(record.model_copy(update={"content": "Updated through the protocol."}))
    assert storage.get_record(record.id).content == "Updated through the protocol."  # type: ignore[union-attr]
    with pytest.raises(NotImplementedError, match="embeds on the server"):
        storage.search([0.0] * 384)
    with pytest.raises(ValueError, match="Record not found"):
        storage.update(MemoryRecord(id="no-such-record", content="x"))
    assert storage.delete(record_ids=[record.id]) == 1
    assert storage.get_record(record.id) is None and storage.count() == 0


# --- a crew --------------------------------------------------------------------------------------------------


def ops_crew(memory: MemstreamMemory, task: str, answer: str) -> tuple[Crew, ScriptedLLM]:
    llm = ScriptedLLM(f"Thought: I can answer this.\nFinal Answer: {answer}")  # a stand-in for an LLM
    agent = Agent(role="Ops planner", goal="Plan deployments", backstory="Keeps the team's schedule.", llm=llm)
    return Crew(
        agents=[agent], tasks=[Task(description=task, expected_output="one sentence", agent=agent)], memory=memory
    ), llm


def answer_of(crew: Crew) -> str:
    output = crew.kickoff()
    assert isinstance(output, CrewOutput)  # not streamed
    return output.raw


def test_a_crew_remembers_in_one_run_and_recalls_in_the_next(
    client: Memstream, crew: str, user: str, events: list[BaseEvent]
) -> None:
    first_memory = MemstreamMemory(crew_id=crew, user_id=user, client=client, root_scope="/crew/ops")
    first, _ = ops_crew(
        first_memory, "Find out the team's deploy window.", "The deploy window is Tuesday at 09:00 UTC."
    )
    assert answer_of(first) == "The deploy window is Tuesday at 09:00 UTC."

    # What the crew saved after its task, under the agent's scope, is in memstream under the crew and user.
    [saved] = client.get_all(user_id=user, agent_id=crew).results
    assert "Tuesday at 09:00 UTC" in saved.memory and saved.metadata["crewai_scope"] == "/crew/ops/agent/ops-planner"

    # A new crew object (a new process, as far as CrewAI knows): its agent's prompt carries the memory.
    second, llm = ops_crew(
        MemstreamMemory(crew_id=crew, user_id=user, client=client, root_scope="/crew/ops"),
        "When is the deploy window?",
        "Tuesday at 09:00 UTC.",
    )
    assert answer_of(second) == "Tuesday at 09:00 UTC."
    assert "Relevant memories:" in llm.prompts[0] and "The deploy window is Tuesday at 09:00 UTC." in llm.prompts[0]
    assert of_kind(events, MemoryRetrievalFailedEvent) == []


# --- isolation -----------------------------------------------------------------------------------------------


def test_two_users_are_kept_apart(client: Memstream, crew: str, user_keys: dict[str, str], base_url: str) -> None:
    (user_a, key_a), (user_b, key_b) = user_keys.items()
    with Memstream(key_a, base_url=base_url) as as_a, Memstream(key_b, base_url=base_url) as as_b:
        memory_a = MemstreamMemory(crew_id=crew, client=as_a)  # a key bound to a user names no user
        memory_b = MemstreamMemory(crew_id=crew, client=as_b)
        secret = memory_a.remember(f"User A's locker combination is {uuid.uuid4().hex[:6]}.")
        assert secret is not None
        assert [m.record.id for m in memory_a.recall("locker combination")] == [secret.id]

        # B, through the same crew: nothing of A's, by search, listing, id or deletion.
        assert memory_b.recall("locker combination") == []
        assert memory_b.list_records() == []
        assert memory_b.memstream.get_record(secret.id) is None
        assert memory_b.forget(record_ids=[secret.id]) == 0
        # B's key naming A is refused by the API, and CrewAI's caller sees the refusal.
        with pytest.raises(PermissionDenied):
            MemstreamMemory(crew_id=crew, user_id=user_a, client=as_b).recall("locker combination")
        # An app-wide key naming B does not see A's either.
        assert MemstreamMemory(crew_id=crew, user_id=user_b, client=client).recall("locker combination") == []
        assert [m.record.id for m in memory_a.recall("locker combination")] == [secret.id]
        memory_a.reset()


def test_two_crews_of_one_user_are_kept_apart(client: Memstream, user: str) -> None:
    research = MemstreamMemory(crew_id="research", user_id=user, client=client)
    support = MemstreamMemory(crew_id="support", user_id=user, client=client)
    finding = research.remember("The competitor launches in March.")
    ticket = support.remember("The customer's launch checklist is missing step 4.")
    assert finding is not None and ticket is not None

    assert [m.record.id for m in research.recall("launch", limit=5)] == [finding.id]
    assert [m.record.id for m in support.recall("launch", limit=5)] == [ticket.id]
    assert support.memstream.get_record(finding.id) is None
    assert support.forget(record_ids=[finding.id]) == 0
    assert research.info().record_count == 1 and support.info().record_count == 1


# --- failures, as CrewAI surfaces them -------------------------------------------------------------------------


def test_a_bad_key_fails_remember_and_recall_with_crewai_failure_events(
    base_url: str, crew: str, user: str, events: list[BaseEvent]
) -> None:
    with Memstream("ms_not_a_real_key", base_url=base_url) as wrong:
        memory = MemstreamMemory(crew_id=crew, user_id=user, client=wrong)
        with pytest.raises(AuthenticationError) as saving:
            memory.remember("Never stored.")
        with pytest.raises(AuthenticationError) as recalling:
            memory.recall("anything")
    assert saving.value.status_code == 401 and saving.value.message
    # CrewAI reports a failed save twice (remember's own event, and its save pool's for the failed future).
    assert {e.error for e in of_kind(events, MemorySaveFailedEvent)} == {str(saving.value)}
    assert [e.error for e in of_kind(events, MemoryQueryFailedEvent)] == [str(recalling.value)]
    assert "API key" in str(saving.value)  # the API's own words: what is wrong with the credential


def test_a_crew_whose_memory_fails_still_completes_its_task(
    base_url: str, crew: str, user: str, events: list[BaseEvent]
) -> None:
    with Memstream("ms_not_a_real_key", base_url=base_url) as wrong:
        team, _ = ops_crew(MemstreamMemory(crew_id=crew, user_id=user, client=wrong), "Plan the deploy.", "Tuesday.")
        assert answer_of(team) == "Tuesday."  # CrewAI degrades to no memory, as with its own store
    [failed] = of_kind(events, MemoryRetrievalFailedEvent)
    assert "401" in failed.error or "key" in failed.error.lower()


def test_an_invalid_crew_or_user_id_is_refused_when_the_memory_is_made(client: Memstream, user: str) -> None:
    with pytest.raises(ValidationError, match="crew_id"):
        MemstreamMemory(crew_id="Research Crew!", user_id=user, client=client)
    with pytest.raises(ValidationError, match="user_id"):
        MemstreamMemory(crew_id="research", user_id="", client=client)


def test_what_the_api_refuses_is_raised_with_its_message(memory: MemstreamMemory) -> None:
    with pytest.raises(InvalidRequest, match="has 1000000 characters; the limit is") as refused:
        memory.remember("x" * 1_000_000)  # over the API's limit for one text
    assert refused.value.status_code in (400, 413, 422)
