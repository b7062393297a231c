"""A user's memories stay searchable while they are being consolidated, and the searches never undo it.

Consolidation marks the originals ``consolidating``, writes the summary, and archives them once the summary is
Active. Hidden from the first mark on, a large backlog left the user's searches empty for minutes (issue 18, point 8).
Here the stream worker (which embeds the summaries and archives the originals) is paused with SIGSTOP as soon as the
first mark is projected, which holds the consolidation in the middle; the API's search must still return the marked
originals, said to be ``consolidating``. Those hits record accesses; once the worker resumes and the consolidation
ends, no original may have been recalled by them (an access recalls only a hit that saw the memory archived).

The second test is the race that made consolidating memories leave search once (c2f86f2): the projections are
paused instead, so the stores still show an original consolidating after the lifecycle archived it; a hit then
records an access that the lifecycle reads after the archive. It must not recall the memory.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg

from memory.contract.events import Event, MemoryAccessed, MemoryArchived, MemoryRecalled
from tests.e2e.conftest import RunningSystem
from tests.e2e.memory_log import read_memory_log
from tests.e2e.test_consolidation_backlog import BOUGHT, SAW, town
from tests.e2e.test_crash_safety import Offsets, wait_settled
from tests.e2e.test_lifecycle import T0, Life, passed_through
from tests.support import wait_until, wait_while_progressing

CONVERSATIONS = 12
# Below the broker session timeout (streams/app.py): a longer pause would also make the worker rejoin its group.
PAUSE_SECONDS = 8.0


def recalls(system: RunningSystem, user: str) -> int:
    with psycopg.connect(system.settings.postgres_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM memory_versions v JOIN memories m USING (memory_id)"
            " WHERE m.app_id = %s AND m.user_id = %s AND v.event_type = 'MemoryRecalled'",
            (system.app_id, user),
        ).fetchone()
    assert row is not None
    return int(row[0])


def user_log(system: RunningSystem, user: str) -> list[Event]:
    """The user's events on the memory log, in log order (one user's events share a partition)."""
    return [e for e in read_memory_log(system.settings) if isinstance(e, Event) and e.scope.user_id == user]


@contextlib.contextmanager
def paused_at_first_mark(system: RunningSystem, life: Life, component: str) -> Iterator[None]:
    """Tick the user's consolidation and, as soon as its first mark is projected, pause ``component`` (SIGSTOP)
    until the block ends. Polled fast, so the pause lands before most summaries are embedded."""
    process: subprocess.Popen[bytes] = system.system.procs[system.system.procs.resolve(component)]
    life.tick(T0)
    wait_until(lambda: life.memories("consolidating"), timeout=300, interval=0.05, what="the first marks")
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def wait_all_archived(system: RunningSystem, life: Life, originals: list[dict[str, Any]]) -> None:
    def archived() -> int:
        system.system.check_alive()
        return len(life.memories("archived"))

    wait_while_progressing(archived, len(originals), stall=180, what="every original archived")


def backlog(life: Life) -> list[dict[str, Any]]:
    """A year-old conversation a day, each its own consolidation group: the user's active originals."""
    token = ""
    for n in range(CONVERSATIONS):
        facts = f"In {town(n)} I bought {BOUGHT[n]}.", f"We saw {SAW[n]} near {town(n)}."
        token = life.say(T0 - timedelta(days=400 - n), f"trip-{n}", *facts)
    life.settle(token)
    originals = life.memories("active")
    assert len(originals) == 2 * CONVERSATIONS
    return originals


def test_originals_under_consolidation_are_found_and_not_recalled_by_being_found(system: RunningSystem) -> None:
    with system.client() as client:
        life = Life(system, client)
        originals = backlog(life)

        with paused_at_first_mark(system, life, "streams"):  # the worker embeds summaries and archives originals

            def consolidating_hit() -> dict[str, Any] | None:
                """A memory the rows say is consolidating, searched for by its words: its hit, if the search has it."""
                for marked in life.memories("consolidating"):
                    hits = life.search(marked["memory"], use_cache=False)
                    for hit in hits:
                        if hit["id"] == marked["id"] and hit["state"] == "consolidating":
                            return hit
                return None

            found = wait_until(consolidating_hit, timeout=PAUSE_SECONDS, what="a consolidating hit")
            assert found is not None
            hit = found
            # Listing without a state filter shows them too: the default is the searchable states.
            listed = client.get("/v1/memories", params=life.params(limit=500))
            assert listed.status_code == 200, listed.text
            assert hit["id"] in {m["id"] for m in listed.json()["results"] if m["state"] == "consolidating"}
            # A broad question is answered, not emptied, while the consolidation is under way.
            assert life.search("What did I buy on my trips?", use_cache=False)

        wait_all_archived(system, life, originals)
        summaries = [m for m in life.memories("active") if m["kind"] == "summary"]
        assert len(summaries) == CONVERSATIONS
        # The hits above recorded accesses of consolidating memories: none of them recalled anything.
        assert recalls(system, life.user) == 0
        assert passed_through(life.history(hit["id"]))[-2:] == ["consolidating", "archived"]
        assert len(life.memories("archived")) == len(originals)


def test_a_hit_read_from_stores_behind_the_archive_does_not_recall_the_memory(system: RunningSystem) -> None:
    with system.client() as client:
        life = Life(system, client)
        originals = backlog(life)
        with paused_at_first_mark(system, life, "projections"):  # the stores stop; the lifecycle goes on

            def archived_but_shown_consolidating() -> list[dict[str, Any]]:
                archived = {e.memory_id for e in user_log(system, life.user) if isinstance(e, MemoryArchived)}
                return [m for m in life.memories("consolidating") if m["id"] in archived]

            stale = wait_until(archived_but_shown_consolidating, timeout=120, what="an archive the stores lag behind")
            target = stale[0]
            hits = life.search(target["memory"], use_cache=False)
            assert any(h["id"] == target["id"] and h["state"] == "consolidating" for h in hits), hits

        wait_all_archived(system, life, originals)
        # The lifecycle has read everything, the hit's access included.
        wait_settled(system.system, Offsets(system.settings), stall=180, what="every consumer at the end of its log")
        log = user_log(system, life.user)
        archive_at = next(i for i, e in enumerate(log) if isinstance(e, MemoryArchived) and e.memory_id == target["id"])
        late = [
            e
            for e in log[archive_at:]
            if isinstance(e, MemoryAccessed) and e.memory_id == target["id"] and e.seen_state == "consolidating"
        ]
        assert late, "the hit's access did not land after the archive: the race was not exercised"
        assert not [e for e in log if isinstance(e, MemoryRecalled)]
        assert life.find(target["memory"], "archived")["id"] == target["id"]
        assert recalls(system, life.user) == 0
