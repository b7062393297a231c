"""A user's memories stay searchable while they are being consolidated, and the searches never undo it.

Consolidation marks the originals ``consolidating``, writes the summary, and archives them once the summary is
Active. Hidden from the first mark on, a large backlog left the user's searches empty for minutes (issue 18, point 8).
Here the stream worker (which embeds the summaries and archives the originals) is paused with SIGSTOP as soon as the
first mark is projected, which holds the consolidation in the middle; the API's search must still return the marked
originals, said to be ``consolidating``. Those hits record accesses; once the worker resumes and the consolidation
ends, no original may have been recalled by them (an access recalls only a hit that saw the memory archived).
"""

from __future__ import annotations

import signal
import subprocess
from datetime import timedelta
from typing import Any

import psycopg

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_consolidation_backlog import BOUGHT, SAW, town
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


def test_originals_under_consolidation_are_found_and_not_recalled_by_being_found(system: RunningSystem) -> None:
    with system.client() as client:
        life = Life(system, client)
        token = ""
        for n in range(CONVERSATIONS):
            when = T0 - timedelta(days=400 - n)  # a year back, one conversation a day: one summary each
            facts = f"In {town(n)} I bought {BOUGHT[n]}.", f"We saw {SAW[n]} near {town(n)}."
            token = life.say(when, f"trip-{n}", *facts)
        life.settle(token)
        originals = life.memories("active")
        assert len(originals) == 2 * CONVERSATIONS

        worker: subprocess.Popen[bytes] = system.system.procs[system.system.procs.resolve("streams")]
        life.tick(T0)
        # Polled fast, so the pause lands before most summaries are embedded (the limit is for a tick never read).
        wait_until(lambda: life.memories("consolidating"), timeout=300, interval=0.05, what="the first marks")
        worker.send_signal(signal.SIGSTOP)
        try:

            def consolidating_hit() -> dict[str, Any] | None:
                """A memory the rows say is consolidating, searched for by its words: its hit, if the search has it."""
                for marked in life.memories("consolidating"):
                    hits = life.search(marked["memory"], use_cache=False)
                    for hit in hits:
                        if hit["id"] == marked["id"] and hit["state"] == "consolidating":
                            return hit
                return None

            hit = wait_until(consolidating_hit, timeout=PAUSE_SECONDS, what="a consolidating memory in search results")
            # Listing without a state filter shows them too: the default is the searchable states.
            listed = client.get("/v1/memories", params=life.params(limit=500))
            assert listed.status_code == 200, listed.text
            assert hit["id"] in {m["id"] for m in listed.json()["results"] if m["state"] == "consolidating"}
            # A broad question is answered, not emptied, while the consolidation is under way.
            assert life.search("What did I buy on my trips?", use_cache=False)
        finally:
            worker.send_signal(signal.SIGCONT)

        def archived() -> int:
            system.system.check_alive()
            return len(life.memories("archived"))

        wait_while_progressing(archived, len(originals), stall=180, what="every original archived")
        summaries = [m for m in life.memories("active") if m["kind"] == "summary"]
        assert len(summaries) == CONVERSATIONS
        # The hits above recorded accesses of consolidating memories: none of them recalled anything.
        assert recalls(system, life.user) == 0
        assert passed_through(life.history(hit["id"]))[-2:] == ["consolidating", "archived"]
        assert len(life.memories("archived")) == len(originals)
