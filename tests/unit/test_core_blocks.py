"""Core memory blocks in the pure core: the edit rules, the lifecycle agent's decision, and its folded state.

The agent decides from its state and folds its own block events at once, so a second edit in a row sees the
first; a redelivered command changes nothing; a command the block no longer allows is refused with a reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from memory.blocks import rules
from memory.blocks.rules import EditRefused, RefusalKind
from memory.blocks.state import stored_block_from_json, stored_block_to_json
from memory.contract.codec import SCHEMA_DIR, Codec, load_schema_file
from memory.contract.events import (
    CoreBlockChanged,
    CoreBlockEditRefused,
    Event,
    MemoryCommandIssued,
    Scope,
    UserErased,
    new_command,
)
from memory.contract.ids import derived_event_id
from memory.contract.records import to_record
from memory.errors import InvalidEventError
from memory.lifecycle.decisions import LifecyclePolicy
from memory.lifecycle.on_command import on_command
from memory.lifecycle.state import UserState, fold

SCOPE = Scope("app", "alice")
AGENT_SCOPE = Scope("app", "alice", agent_id="helper")
AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = LifecyclePolicy()


def block_command(kind: str, label: str, scope: Scope = SCOPE, **fields: object) -> MemoryCommandIssued:
    return new_command(scope, kind, AT, "tests", label=label, **fields)  # type: ignore[arg-type]


def decide(state: UserState, command: MemoryCommandIssued) -> Event:
    events = on_command(state, command, POLICY)
    assert len(events) == 1
    return events[0]


def value_of(state: UserState, label: str, agent_id: str = "") -> str:
    return state.blocks[(agent_id, label)].value


def test_persona_and_human_exist_empty_until_written_and_other_labels_do_not() -> None:
    assert rules.unwritten("persona").exists and rules.unwritten("human").exists
    assert not rules.unwritten("notes").exists
    with pytest.raises(EditRefused) as refused:
        rules.append(rules.unwritten("notes"), "x")
    assert refused.value.kind is RefusalKind.UNKNOWN_LABEL
    assert "'notes' does not exist" in refused.value.message


def test_append_joins_with_a_newline_and_the_next_command_sees_the_first_before_it_is_read_back() -> None:
    state = UserState()
    first = decide(state, block_command("block_append", "human", text="Name: Alice"))
    second = decide(state, block_command("block_append", "human", text="Likes: hiking"))
    assert isinstance(first, CoreBlockChanged) and isinstance(second, CoreBlockChanged)
    assert (first.change, first.value, first.version, first.limit) == ("appended", "Name: Alice", 1, 2000)
    assert (second.value, second.version) == ("Name: Alice\nLikes: hiking", 2)
    # Read back from the log later, the events change nothing more.
    assert fold(state, first) is False and fold(state, second) is False
    assert value_of(state, "human") == "Name: Alice\nLikes: hiking"


def test_event_ids_derive_from_the_command_and_a_redelivered_command_changes_nothing() -> None:
    state = UserState()
    command = block_command("block_append", "persona", text="I am helpful.")
    event = decide(state, command)
    assert event.event_id == derived_event_id(command.event_id, "CoreBlockChanged")
    assert event.envelope.causation_id == command.event_id
    assert on_command(state, command, POLICY) == []
    assert value_of(state, "persona") == "I am helpful."
    # A fresh state that only saw the event on the log also recognises the command.
    replayed = UserState()
    fold(replayed, event)
    assert on_command(replayed, command, POLICY) == []


def test_a_command_decided_twice_from_the_same_state_gives_the_same_event() -> None:
    command = block_command("block_create", "notes", text="a", limit=10)
    assert on_command(UserState(), command, POLICY) == on_command(UserState(), command, POLICY)


def test_limits_refuse_with_the_lengths_in_the_reason() -> None:
    state = UserState()
    decide(state, block_command("block_create", "notes", text="12345", limit=10))
    refused = decide(state, block_command("block_append", "notes", text="abcdef"))
    assert isinstance(refused, CoreBlockEditRefused)
    assert refused.reason == (
        "appending 6 characters to block 'notes' (5 characters now) would exceed its limit of 10 characters"
    )
    assert (refused.command, refused.version) == ("block_append", 1)
    assert value_of(state, "notes") == "12345"
    with pytest.raises(EditRefused) as over:
        rules.create(rules.unwritten("big"), "x" * 11, 10)
    assert over.value.kind is RefusalKind.OVER_LIMIT
    with pytest.raises(EditRefused) as limit:
        rules.create(rules.unwritten("big"), "", rules.MAX_LIMIT + 1)
    assert limit.value.kind is RefusalKind.INVALID


def test_replace_of_missing_text_is_refused_quoting_it_and_a_refused_command_stays_refused() -> None:
    state = UserState()
    decide(state, block_command("block_append", "human", text="Lives in Paris"))
    command = block_command("block_replace", "human", old_text="Berlin", new_text="Rome")
    refused = decide(state, command)
    assert isinstance(refused, CoreBlockEditRefused)
    assert refused.reason == "'Berlin' is not in core memory block 'human'"
    assert refused.command_event_id == command.event_id
    assert on_command(state, command, POLICY) == []  # redelivered: refused once is enough
    with pytest.raises(EditRefused) as long_missing:
        rules.replace(rules.view("human", "abc", 2000, 1, True), "z" * 100, "")
    assert long_missing.value.kind is RefusalKind.OLD_TEXT_MISSING
    assert "z" * 60 + "..." in long_missing.value.message and "z" * 61 not in long_missing.value.message


def test_replace_substitutes_every_occurrence_and_an_empty_new_text_deletes_it() -> None:
    state = UserState()
    decide(state, block_command("block_create", "notes", text="cat, cat and dog"))
    replaced = decide(state, block_command("block_replace", "notes", old_text="cat", new_text="bird"))
    assert isinstance(replaced, CoreBlockChanged)
    assert (replaced.change, replaced.value, replaced.version) == ("replaced", "bird, bird and dog", 2)
    removed = decide(state, block_command("block_replace", "notes", old_text="bird, ", new_text=""))
    assert isinstance(removed, CoreBlockChanged) and removed.value == "bird and dog"
    with pytest.raises(EditRefused) as empty:
        rules.replace(rules.view("notes", "x", 10, 1, True), "", "y")
    assert empty.value.kind is RefusalKind.INVALID
    with pytest.raises(EditRefused) as over:
        rules.replace(rules.view("notes", "ab", 5, 1, True), "b", "123456")
    assert over.value.kind is RefusalKind.OVER_LIMIT


def test_create_of_an_existing_label_is_refused_and_persona_only_once_written() -> None:
    state = UserState()
    created = decide(state, block_command("block_create", "persona", text="", limit=500))
    assert isinstance(created, CoreBlockChanged) and created.limit == 500
    again = decide(state, block_command("block_create", "persona", text="x"))
    assert isinstance(again, CoreBlockEditRefused) and again.reason == "core memory block 'persona' already exists"


def test_deleting_a_default_empties_it_back_and_another_label_stops_existing_keeping_its_count() -> None:
    state = UserState()
    decide(state, block_command("block_create", "persona", text="Formal.", limit=100))
    deleted = decide(state, block_command("block_delete", "persona"))
    assert isinstance(deleted, CoreBlockChanged)
    assert (deleted.change, deleted.value, deleted.limit, deleted.version) == ("deleted", "", 2000, 2)
    persona = state.blocks[("", "persona")].view()
    assert persona.exists and not persona.written and persona.value == ""
    decide(state, block_command("block_create", "notes", text="n"))
    decide(state, block_command("block_delete", "notes"))
    gone = decide(state, block_command("block_append", "notes", text="more"))
    assert isinstance(gone, CoreBlockEditRefused) and "does not exist" in gone.reason
    recreated = decide(state, block_command("block_create", "notes", text="new"))
    assert isinstance(recreated, CoreBlockChanged) and recreated.version == 3


def test_an_agents_blocks_are_apart_from_the_users_shared_ones() -> None:
    state = UserState()
    decide(state, block_command("block_append", "human", text="shared"))
    mine = decide(state, block_command("block_append", "human", scope=AGENT_SCOPE, text="only mine"))
    assert isinstance(mine, CoreBlockChanged) and mine.version == 1 and mine.scope.agent_id == "helper"
    assert value_of(state, "human") == "shared" and value_of(state, "human", "helper") == "only mine"


def test_an_erasure_drops_the_blocks() -> None:
    state = UserState()
    decide(state, block_command("block_append", "human", text="secret"))
    erase = on_command(state, new_command(SCOPE, "erase_user", AT, "tests"), POLICY)
    assert isinstance(erase[0], UserErased)
    fold(state, erase[0])
    assert state.blocks == {} and state.removed_blocks == {("", "human")}


def test_a_block_command_without_a_label_is_invalid() -> None:
    with pytest.raises(InvalidEventError, match="names no block label"):
        on_command(UserState(), new_command(SCOPE, "block_append", AT, "tests", text="x"), POLICY)


def test_a_stored_block_round_trips_through_the_tables_json() -> None:
    state = UserState()
    decide(state, block_command("block_append", "human", text="Name: Alice"))
    stored = state.blocks[("", "human")]
    assert stored_block_from_json(stored_block_to_json(stored)) == stored


def test_block_events_and_the_new_command_fields_round_trip_the_codec() -> None:
    codec = Codec()
    state = UserState()
    command = block_command("block_replace", "human", old_text="a", new_text="b")
    assert codec.decode(codec.encode(command)) == command
    changed = decide(state, block_command("block_create", "notes", text="v", limit=7))
    refused = decide(state, block_command("block_create", "notes", text="v"))
    assert codec.decode(codec.encode(changed)) == changed
    assert codec.decode(codec.encode(refused)) == refused


# A command as the code before block commands (commit b280449) encoded it, byte for byte.
V1_COMMAND_BYTES = bytes.fromhex(
    "c3014bbb7048cea6ab804830623764366331652d316332612d346438652d396630302d303030303030303030303031264d656d6f"
    "7279436f6d6d616e6449737375656402066170700a616c696365000080c08ad9b3f3b00680c08ad9b3f3b00600024830623764"
    "366331652d316332612d346438652d396630302d303030303030303030303031066170690a302e312e300c7570646174650206"
    "6d2d3102106e65772074657874"
)
V1_COMMAND = SCHEMA_DIR / "history" / "memory_command_issued.v1.avsc"


def test_a_command_written_before_block_commands_still_decodes_with_the_block_fields_empty() -> None:
    codec = Codec()
    decoded = codec.decode(V1_COMMAND_BYTES)
    assert isinstance(decoded, MemoryCommandIssued)
    assert (decoded.command, decoded.memory_id, decoded.text) == ("update", "m-1", "new text")
    assert (decoded.label, decoded.old_text, decoded.new_text, decoded.limit) == (None, None, None, None)
    assert decoded.envelope.occurred_at == AT and decoded.scope == SCOPE
    # The kept history schema is what wrote them: its fingerprint is the header's, not today's.
    envelope = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    v1 = load_schema_file(V1_COMMAND, envelope)
    assert (
        codec.encode_dict("memstream.MemoryCommandIssued", to_record(decoded), schema=v1)[:10] == V1_COMMAND_BYTES[:10]
    )
    assert V1_COMMAND_BYTES[2:10] != codec.fingerprint_of("memstream.MemoryCommandIssued")
