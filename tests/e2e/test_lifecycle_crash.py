"""A worker killed (SIGKILL) in the middle of a consolidation: after a restart nothing is lost or archived twice."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from memory.settings import Settings
from tests.e2e.conftest import RunningSystem, running_system
from tests.e2e.test_lifecycle import Life, day
from tests.support import wait_until, wait_while_progressing

MEMORIES = 40  # all said on one day: related, so they form groups of up to eight (memory.lifecycle.consolidation)


@pytest.fixture(scope="module", params=["memory", "rocksdb"])
def system(
    request: pytest.FixtureRequest, stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """The whole system, its worker keeping the lifecycle table in each store (streams/table_store.py)."""
    with running_system(stack_settings, tmp_path_factory.mktemp("logs"), table_store=request.param) as running:
        yield running


def consolidation_rows(system: RunningSystem, user: str) -> dict[str, Any]:
    with psycopg.connect(system.settings.postgres_dsn) as conn:
        states = conn.execute(
            "SELECT kind, state, count(*) FROM memories WHERE app_id = %s AND user_id = %s GROUP BY kind, state",
            (system.app_id, user),
        ).fetchall()
        versions = conn.execute(
            "SELECT v.memory_id, v.event_type FROM memory_versions v JOIN memories m USING (memory_id)"
            " WHERE m.app_id = %s AND m.user_id = %s AND v.event_type IN ('MemoryArchived', 'MemoryConsolidating')",
            (system.app_id, user),
        ).fetchall()
        links = conn.execute(
            "SELECT count(*), count(DISTINCT l.to_memory_id) FROM memory_lineage l JOIN memories m"
            " ON m.memory_id = l.to_memory_id WHERE l.relation = 'summarizes' AND m.app_id = %s AND m.user_id = %s",
            (system.app_id, user),
        ).fetchone()
        first_summaries = conn.execute(
            "SELECT count(DISTINCT l.from_memory_id) FROM memory_lineage l JOIN memories m"
            " ON m.memory_id = l.to_memory_id WHERE l.relation = 'summarizes' AND m.kind = 'fact'"
            " AND m.app_id = %s AND m.user_id = %s",
            (system.app_id, user),
        ).fetchone()[0]
    return {
        "states": {(k, s): n for k, s, n in states},
        "versions": Counter(versions),
        "links": links,
        "first_summaries": first_summaries,
    }


def test_worker_killed_mid_consolidation_loses_nothing_and_archives_once(system: RunningSystem) -> None:
    with system.client() as client:
        life = Life(system, client)
        texts = [f"Note {i}: the greenhouse project step {i} is done." for i in range(MEMORIES)]
        for start in range(0, MEMORIES, 10):
            token = life.say(day(0), f"c{start}", *texts[start : start + 10])
        life.settle(token)
        assert len(life.memories()) == MEMORIES

        life.tick(day(45))

        def under_way() -> bool:
            rows = consolidation_rows(system, life.user)["versions"]
            return any(kind == "MemoryConsolidating" for _, kind in rows)

        # Polled fast, so the kill lands mid-consolidation; the limit is only for a pipeline that never starts.
        wait_until(under_way, timeout=300, interval=0.05, what="the consolidation to start")
        assert system.system.kill("streams", signal.SIGKILL) == -signal.SIGKILL
        at_kill = consolidation_rows(system, life.user)
        system.system.restart("streams")
        # The timer of the restarted worker would tick again; so does the test, at the same simulated time.
        life.tick(day(45))

        def archived() -> int:
            system.system.check_alive()
            return consolidation_rows(system, life.user)["states"].get(("fact", "archived"), 0)

        # As long as originals keep being archived: a slow restart (a cold stack, a busy machine) is not a failure.
        wait_while_progressing(archived, MEMORIES, stall=180, what="every original to be archived after the restart")
        # Then until nothing is half way: the second tick may find the first summaries active and old (their valid
        # time is their originals' day) and roll them up into a summary of summaries, which takes a few steps too.
        wait_until(lambda: settled(consolidation_rows(system, life.user)), timeout=300, what="the lifecycle to settle")
        done = consolidation_rows(system, life.user)

    states = done["states"]
    assert states[("fact", "archived")] == MEMORIES and states.get(("summary", "active"), 0) >= 1, (states, at_kill)
    rolled_up = states.get(("summary", "archived"), 0)  # first summaries a summary of summaries took, if any
    archives = Counter(memory_id for memory_id, kind in done["versions"].elements() if kind == "MemoryArchived")
    assert len(archives) == MEMORIES + rolled_up and set(archives.values()) == {1}  # archived once each
    marks = Counter(memory_id for memory_id, kind in done["versions"].elements() if kind == "MemoryConsolidating")
    assert len(marks) == MEMORIES + rolled_up and set(marks.values()) == {1}
    # One summary per original, none summarised twice; the facts fill MEMORIES // 8 first summaries of eight.
    assert done["links"] == (MEMORIES + rolled_up, MEMORIES + rolled_up)
    assert done["first_summaries"] == MEMORIES // 8


def settled(rows: dict[str, Any]) -> bool:
    """No memory half way through the lifecycle: each is active or archived under a summary."""
    return all(state in ("active", "archived") for _, state in rows["states"])
