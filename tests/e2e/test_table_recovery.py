"""A worker on the RocksDB table store (streams/table_store.py), killed with SIGKILL and restarted, decides from the
table it recovered: a repeat reinforces the memory it repeats, a move supersedes the old address, a pin finds its
memory; for two users, whose entries live in their own partitions' databases."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from memory.settings import Settings
from streams.table_store import worker_data_dir
from tests.e2e.conftest import RunningSystem, running_system
from tests.e2e.test_lifecycle import Life, day

FRAGMENTS = ("live in Paris", "love coffee", "favourite colour")


@pytest.fixture(scope="module")
def rocksdb_system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(stack_settings, tmp_path_factory.mktemp("logs"), table_store="rocksdb") as running:
        yield running


def test_a_killed_rocksdb_worker_decides_from_its_recovered_table(rocksdb_system: RunningSystem) -> None:
    system = rocksdb_system
    with system.client() as client:
        lives = [Life(system, client) for _ in range(2)]
        for life in lives:
            life.settle(life.say(day(0), "c1", "I live in Paris.", "I love coffee.", "My favourite colour is green."))
        before = {life.user: {fragment: life.find(fragment)["id"] for fragment in FRAGMENTS} for life in lives}

        tables = worker_data_dir(system.system.settings_of("streams")) / "v1" / "tables"  # the launcher names it
        assert sorted(p.name for p in tables.glob("lifecycle-*.db")), "the worker keeps its table on disk"
        assert system.system.kill("streams", signal.SIGKILL) == -signal.SIGKILL
        system.system.restart("streams")

        for life in lives:
            memories = before[life.user]
            life.settle(life.say(day(10), "c2", "I love coffee.", "I moved to Berlin."))
            pinned = client.put(
                f"/v1/memories/{memories['favourite colour']}", json={**life.params(), "pinned": True}
            )
            assert pinned.status_code == 202, pinned.text
            life.settle(pinned.json()["consistency_token"])

            # Each decision needs the entries written before the kill: without them the repeat would be a new
            # memory, Paris would stay current, and the pin would be dead-lettered as a command on no memory.
            coffee = memories["love coffee"]
            assert [m["id"] for m in life.memories() if "love coffee" in m["memory"]] == [coffee]
            assert "MemoryReinforced" in life.versions(coffee)
            assert life.versions(memories["live in Paris"])[-1] == "MemorySuperseded"
            assert life.get(memories["favourite colour"]).json()["pinned"] is True

