from pathlib import Path

import pytest

from memory.settings import PROJECT_ROOT
from memstream_cli.produce import Defaults, ProduceError, read_turns


def test_sample_conversation_parses() -> None:
    turns = list(read_turns(PROJECT_ROOT / "examples" / "conversation.jsonl", Defaults()))
    assert len(turns) == 7
    assert {t.scope.user_id for t in turns} == {"alice", "bob"}
    assert turns[0].envelope.occurred_at.isoformat() == "2026-03-02T09:15:00+00:00"


def test_event_ids_are_stable_across_reads(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"user_id": "u", "text": "I like tea"}\n{"user_id": "u", "text": "I live in Rome"}\n')
    first = [t.event_id for t in read_turns(path, Defaults())]
    second = [t.event_id for t in read_turns(path, Defaults())]
    assert first == second and len(set(first)) == 2


def test_a_line_names_its_session_or_leaves_it_to_be_inferred(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"user_id": "u", "text": "I like tea", "session_id": "s-1"}\n{"user_id": "u", "text": "Rome"}\n')
    assert [t.session_id for t in read_turns(path, Defaults())] == ["s-1", None]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"text": "hi there friend"}', "no user_id"),
        ('{"user_id": "u", "text": ""}', "non-empty"),
        ('{"user_id": "u", "text": "x", "occurred_at": "yesterday"}', "ISO 8601"),
        ('{"user_id": "u", "text": "x", "occurred_at": "2026-03-02T09:15:00"}', "has no time zone"),
        ('{"user_id": "u", "text": "x", "occurred_at": "1066-10-14T09:00:00Z"}', "occurred_at .* is outside"),
        ('{"user_id": "u\\n", "text": "x"}', "scope.user_id .* may only contain"),
        ('{"user_id": "u", "text": "tea\\u0000"}', "turn text contains a NUL"),
        ('{"user_id": "u", "text": "tea", "metadata": {"k\\u0000": "v"}}', "metadata key"),
        ('{"user_id": "u", "text": "tea", "speaker": "Kim\\n"}', "speaker contains"),
        ('{"user_id": "u", "text": "tea", "agent_id": 7, "run_id": "r 1"}', "scope.run_id .* may only contain"),
        ('{"user_id": "u", "text": "tea", "session_id": "morning chat"}', "session_id .* may only contain"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_lines_name_the_line_and_the_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"user_id": "u", "text": "fine"}\n' + line + "\n")
    with pytest.raises(ProduceError, match=f"line 2: .*{message}"):
        list(read_turns(path, Defaults()))


def test_settings_survive_the_environment_round_trip() -> None:
    from dataclasses import replace

    from memory.settings import Settings, Topics

    original = replace(Settings(), api_port=9999, embed_batch_seconds=0.5, topics=Topics(turns="x.turns"))
    assert Settings.from_env(original.to_env()) == original
