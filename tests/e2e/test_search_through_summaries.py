"""After consolidation, a question about a detail the summary left out still finds it, through the summary.

A summary keeps about a third of its originals' words (memory.lifecycle.summarize.SUMMARY_SHARE), so some facts of
a consolidated conversation are no longer in any active memory. The search still reads the archived originals: one
that ranks brings its summary to its place, listed under it with the place it ranked at, and the context gives its
own words (issue 18, point 8). Archived memories never show as hits of their own unless the archive is asked for,
and being found through a summary recalls nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_consolidation_searchable import recalls
from tests.e2e.test_crash_safety import Offsets, wait_settled
from tests.e2e.test_lifecycle import T0, Life
from tests.support import wait_until

FACTS = (
    "I adopted a grey cat named Pixel from the shelter.",
    "My sister Lena moved to Porto for her new job.",
    "I play the cello in a community orchestra on Tuesdays.",
    "I am allergic to peanuts and carry an epipen.",
    "I started learning Japanese with an evening class.",
    "My favourite dish is mushroom risotto with parmesan.",
)


@pytest.fixture(scope="module")
def consolidated(system: RunningSystem) -> dict[str, Any]:
    """One user's year-old conversation, consolidated into one summary: the user, the summary and its originals."""
    with system.client() as client:
        life = Life(system, client)
        life.settle(life.say(T0 - timedelta(days=400), "old-chat", *FACTS))
        originals = life.memories("active")
        assert len(originals) == len(FACTS), [m["memory"] for m in originals]
        life.settle(life.tick(T0))

        def consolidation_done() -> list[dict[str, Any]]:
            done = len(life.memories("archived")) == len(originals)
            return [m for m in life.memories("active") if m["kind"] == "summary"] if done else []

        summaries = wait_until(consolidation_done, timeout=300, what="the originals archived under a summary")
        assert len(summaries) == 1
        return {"user": life.user, "summary": summaries[0], "originals": originals}


def left_out(consolidated: dict[str, Any]) -> list[dict[str, Any]]:
    summary = consolidated["summary"]["memory"]
    return [m for m in consolidated["originals"] if m["memory"].split(": ", 1)[-1] not in summary]


def search(life: Life, query: str, **extra: Any) -> list[dict[str, Any]]:
    return life.search(query, use_cache=False, **extra)


def as_user(system: RunningSystem, client: Any, user: str) -> Life:
    life = Life(system, client)
    life.user = user
    return life


def test_the_summary_is_a_fraction_of_its_originals(consolidated: dict[str, Any]) -> None:
    summary = consolidated["summary"]["memory"]
    assert len(summary) <= 0.5 * sum(len(m["memory"]) for m in consolidated["originals"])
    assert left_out(consolidated), "every fact is still in the summary: nothing here needs the archive"


def test_a_detail_the_summary_left_out_is_found_through_it(system: RunningSystem, consolidated: dict[str, Any]) -> None:
    summary_id = consolidated["summary"]["id"]
    with system.client() as client:
        life = as_user(system, client, consolidated["user"])
        for original in left_out(consolidated):
            hits = search(life, original["memory"].split(": ", 1)[-1], top_k=3)
            assert hits[0]["id"] == summary_id, hits
            listed = hits[0]["originals"]
            assert listed[0]["id"] == original["id"] and listed[0]["rank"] == 1, listed
            assert listed[0]["memory"] == original["memory"]
            assert all(h["state"] != "archived" for h in hits)
            assert len({h["id"] for h in hits}) == len(hits)
            # The context gives the original's own words, not the summary that left them out.
            response = client.post(
                "/v1/context", json={**life.params(), "query": original["memory"], "max_tokens": 200}
            )
            assert response.status_code == 200, response.text
            assert original["id"] in response.json()["memory_ids"]
            assert original["memory"].split(": ", 1)[-1] in response.json()["context"]
            # So does the agents' memory tool: the summary's line, and the original's own words under it.
            called = client.post(
                "/v1/tools/archival_memory_search",
                json={"arguments": {"query": original["memory"]}, "user_id": life.user},
            )
            assert called.status_code == 200, called.text
            assert original["memory"] in called.json()["text"]
            assert called.json()["data"]["results"][0]["originals"][0]["id"] == original["id"]


def test_a_summary_found_by_its_own_words_names_its_best_original(
    system: RunningSystem, consolidated: dict[str, Any]
) -> None:
    kept = [m for m in consolidated["originals"] if m not in left_out(consolidated)]
    assert kept
    with system.client() as client:
        life = as_user(system, client, consolidated["user"])
        hits = search(life, kept[0]["memory"].split(": ", 1)[-1], top_k=1)
        assert hits[0]["id"] == consolidated["summary"]["id"]
        assert hits[0]["originals"][0]["id"] == kept[0]["id"], hits[0]["originals"]


def test_being_found_through_a_summary_recalls_nothing(system: RunningSystem, consolidated: dict[str, Any]) -> None:
    with system.client() as client:
        life = as_user(system, client, consolidated["user"])
        for original in left_out(consolidated):
            assert search(life, original["memory"])[0]["originals"]
        wait_settled(system.system, Offsets(system.settings), stall=180, what="the searches' accesses folded")
        assert recalls(system, life.user) == 0
        assert len(life.memories("archived")) == len(consolidated["originals"])


def test_the_archive_and_named_states_show_exactly_what_they_name(
    system: RunningSystem, consolidated: dict[str, Any]
) -> None:
    original = left_out(consolidated)[0]
    words = original["memory"].split(": ", 1)[-1]
    with system.client() as client:
        life = as_user(system, client, consolidated["user"])
        # Last in this module: a search of the archive is what recalls an archived memory it finds.
        archive = search(life, words, include_archived=True, top_k=3)
        assert any(h["id"] == original["id"] and h["state"] == "archived" for h in archive), archive
        active_only = search(life, words, filters={"states": ["active"]}, top_k=10)
        assert all(h["state"] == "active" and not h["originals"] for h in active_only), active_only


MORE_FACTS = (
    "My brother Tomas repairs vintage motorbikes in Ghent.",
    "I ran my first half marathon in two hours flat.",
    "Our neighbour keeps bees on the roof of the bakery.",
    "I switched my phone plan to save on roaming fees.",
    "My grandmother taught me to knit striped scarves.",
    "The dentist found a small cavity in my back molar.",
)


def test_a_detail_under_a_summary_consolidated_again_is_found_through_the_newest(system: RunningSystem) -> None:
    """Twelve facts of one old day make two summaries at the first tick; the two, old and of the same day, make a
    summary of summaries at the next. A left-out fact then sits two summaries deep, and is still found."""
    with system.client() as client:
        life = Life(system, client)
        said = T0 - timedelta(days=400)
        life.settle(life.say(said, "old-chat-a", *FACTS))
        life.settle(life.say(said + timedelta(hours=1), "old-chat-b", *MORE_FACTS))
        originals = life.memories("active")
        assert len(originals) == len(FACTS) + len(MORE_FACTS)

        def live_summaries() -> list[dict[str, Any]]:
            return [m for m in life.memories("active") if m["kind"] == "summary"]

        life.settle(life.tick(T0))
        wait_until(lambda: len(live_summaries()) >= 2, timeout=300, what="the first summaries")
        life.settle(life.tick(T0 + timedelta(days=1)))
        wait_until(lambda: len(live_summaries()) == 1, timeout=300, what="the summary of the summaries")
        (top,) = live_summaries()
        archived = {m["id"] for m in life.memories("archived")}
        assert {m["id"] for m in originals} <= archived
        deep = [m for m in originals if m["memory"].split(": ", 1)[-1] not in top["memory"]]
        assert deep
        for original in deep[:3]:
            hits = search(life, original["memory"].split(": ", 1)[-1], top_k=3)
            assert hits[0]["id"] == top["id"], hits
            assert hits[0]["originals"][0]["id"] == original["id"], hits[0]["originals"]
        # Found on its own words, the newest summary names a fact it stands for (not a summary in between).
        best = search(life, top["memory"].split(": ", 1)[-1][:80], top_k=1)[0]
        assert best["id"] == top["id"]
        assert best["originals"] and best["originals"][0]["id"] in {m["id"] for m in originals}
