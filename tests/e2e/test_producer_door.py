"""The producer door end to end: an external producer's turn becomes a memory; without a credential, nothing.

The running system (worker, projectors, API) authenticates as the pipeline on the internal listener; the
producer here is an outsider with a SCRAM credential on the producer listener, as in README's "Through Kafka".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from adapters.kafka import SyncProducer
from adapters.producer_door import make_door_producer
from memory.contract.codec import Codec
from memory.settings import PROJECT_ROOT
from tests.e2e.conftest import RunningSystem
from tests.support import make_turn, unique, wait_until

SAMPLE = PROJECT_ROOT / "examples" / "conversation.jsonl"


def memories(system: RunningSystem, user_id: str) -> list[dict[str, Any]]:
    with system.client() as client:
        response = client.get("/v1/memories", params={"user_id": user_id, "app_id": system.app_id})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


def test_a_turn_through_the_producer_door_becomes_a_memory(system: RunningSystem) -> None:
    flags = system.producer_flags()
    username, password = flags[1], Path(flags[3]).read_text().strip()
    user = unique("door-")
    turn = make_turn(user, "I moved to Lisbon last spring.", "t1", app_id=system.app_id)
    door = make_door_producer(system.settings, username, password)
    door.check(system.settings.topics.turns)
    [position] = SyncProducer(door.producer).produce_all(
        [(system.settings.topics.turns, turn.scope.key.encode(), Codec().encode(turn))]
    )
    assert position.topic == system.settings.topics.turns
    found = wait_until(lambda: memories(system, user), timeout=60, what="the memory from the door's turn")
    assert any("Lisbon" in m["memory"] for m in found), found


def test_produce_without_a_credential_is_refused_and_says_how(system: RunningSystem) -> None:
    result = system.cli("produce", str(SAMPLE), "--app-id", system.app_id)
    assert result.returncode == 2
    assert "--username and --password-file" in result.stderr
    assert "MEMSTREAM_PRODUCER_USERNAME" in result.stderr
    assert "produced" not in result.stdout


def test_produce_with_a_wrong_password_is_refused(system: RunningSystem, tmp_path: Path) -> None:
    flags = system.producer_flags()
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password-at-all\n")
    result = system.cli(
        "produce", str(SAMPLE), "--app-id", system.app_id, "--username", flags[1], "--password-file", str(wrong)
    )
    assert result.returncode == 2
    assert f"refused '{flags[1]}'" in result.stderr and "invalid credentials" in result.stderr, result.stderr


def test_producers_are_created_listed_used_and_revoked_from_the_cli(system: RunningSystem) -> None:
    name = unique("cli-producer-")
    created = system.cli("producers", "create", name)
    assert created.returncode == 0, created.stderr
    assert f"may write {system.settings.topics.turns} and nothing else" in created.stdout
    match = re.search(r"password:\s+in (\S+)", created.stdout)
    assert match, created.stdout
    password_file = Path(match.group(1))
    assert password_file.stat().st_mode & 0o077 == 0  # private to its owner

    listed = system.cli("producers", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith(name))
    assert f"ALLOW WRITE topic {system.settings.topics.turns}" in line and "SCRAM-SHA-512" in line

    produced = system.cli(
        "produce", str(SAMPLE), "--app-id", system.app_id, "--username", name, "--password-file", str(password_file)
    )
    assert produced.returncode == 0, produced.stderr
    assert f"produced 7 turns to {system.settings.topics.turns} as {name}" in produced.stdout

    revoked = system.cli("producers", "revoke", name)
    assert revoked.returncode == 0 and f"producer {name} revoked" in revoked.stdout
    assert not password_file.exists()
    assert name not in system.cli("producers", "list").stdout
    again = system.cli("producers", "revoke", name)
    assert again.returncode == 1 and f"no producer {name}" in again.stdout
