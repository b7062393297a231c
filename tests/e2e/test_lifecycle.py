"""Months of one user's life through the running system, on a simulated clock.

The clock is driven by ``tick`` commands on the commands topic, each carrying its own ``now`` (the worker's
timer sends the same command with the wall clock). Turns are dated on the same simulated calendar. After each
step the test asserts the state of every memory and what search returns.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from neo4j import GraphDatabase

from adapters.kafka import SyncProducer, make_producer
from adapters.token_key import token_key
from memory.contract.codec import Codec
from memory.contract.events import Scope
from memory.contract.positions import encode_token
from memory.lifecycle.machine import MemoryState, can_transition
from projections.neo4j.labels import namespaced
from streams.agents.lifecycle import tick_command
from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

# The simulated calendar starts now: decay counts from when the system learned a memory (wall clock).
T0 = datetime.now(UTC).replace(microsecond=0)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class Life:
    def __init__(self, system: RunningSystem, client: httpx.Client):
        self.system = system
        self.client = client
        self.user = unique("maya-")
        self.scope = Scope(system.app_id, self.user)
        self.producer = SyncProducer(make_producer(system.settings))

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"user_id": self.user, "app_id": self.system.app_id, **extra}

    def say(self, when: datetime, conversation: str, *texts: str) -> str:
        response = self.client.post(
            "/v1/memories",
            json={
                **self.params(),
                "conversation_id": conversation,
                "occurred_at": when.isoformat(),
                "messages": [{"role": "user", "content": t, "name": "Maya"} for t in texts],
            },
        )
        assert response.status_code == 202, response.text
        token: str = response.json()["consistency_token"]
        return token

    def tick(self, when: datetime) -> str:
        command = tick_command(self.scope, when, component="tests")
        topic = self.system.settings.topics.commands
        positions = self.producer.produce_all([(topic, self.scope.key.encode(), Codec().encode(command))])
        return encode_token(positions, token_key(self.system.settings))  # the API's key: it honours only its own

    def settle(self, token: str) -> None:
        """Wait until the write behind ``token`` and everything it caused is in every projection."""

        def caught_up() -> bool:
            response = self.client.get("/v1/memories", params=self.params(consistency_token=token, limit=1))
            return response.status_code == 200

        wait_until(caught_up, timeout=90, what="the projections to catch up")

    def memories(self, *states: str) -> list[dict[str, Any]]:
        wanted = list(states) or ["active", "decaying"]
        response = self.client.get("/v1/memories", params=self.params(state=wanted, limit=500))
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["results"]
        return found

    def find(self, fragment: str, *states: str) -> dict[str, Any]:
        matches = [m for m in self.memories(*states) if fragment in m["memory"]]
        assert len(matches) == 1, f"{fragment!r}: {[(m['memory'], m['state']) for m in self.memories(*states)]}"
        return matches[0]

    def get(self, memory_id: str) -> httpx.Response:
        return self.client.get(f"/v1/memories/{memory_id}", params=self.params())

    def search(self, query: str, **extra: Any) -> list[dict[str, Any]]:
        response = self.client.post("/v1/memories/search", json={**self.params(), "query": query, **extra})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def history(self, memory_id: str) -> list[tuple[str, str]]:
        """(event type, state) of each entry of ``GET /v1/memories/{id}/history``."""
        response = self.client.get(f"/v1/memories/{memory_id}/history", params=self.params())
        assert response.status_code == 200, response.text
        return [(e["event_type"], e["state"]) for e in response.json()["entries"]]

    def versions(self, memory_id: str) -> list[str]:
        with psycopg.connect(self.system.settings.postgres_dsn) as conn:
            rows = conn.execute(
                "SELECT event_type FROM memory_versions WHERE memory_id = %s ORDER BY log_partition, log_offset",
                (memory_id,),
            ).fetchall()
        return [r[0] for r in rows]


def passed_through(history: list[tuple[str, str]]) -> list[str]:
    """The states a history walks through, each once per stay (events that change no state repeat it)."""
    return [state for i, (_, state) in enumerate(history) if i == 0 or history[i - 1][1] != state]


@pytest.fixture(scope="module")
def life(system: RunningSystem) -> Any:
    with system.client() as client:
        yield Life(system, client)


def test_months_of_a_life(life: Life) -> None:
    # Day 0: where Maya lives, what she likes, a project with Sarah.
    life.settle(
        life.say(
            day(0),
            "c1",
            "I live in Paris.",
            "I love coffee.",
            "My favourite colour is green.",
            "Sarah and I are building the Apollo app.",
            "The Apollo app launches in March with Sarah.",
        )
    )
    paris, coffee = life.find("live in Paris"), life.find("love coffee")
    colour = life.find("favourite colour")
    apollo = [m["id"] for m in life.memories() if "Apollo" in m["memory"]]
    assert len(life.memories()) == 5 and len(apollo) == 2
    assert "Paris" in life.search("Where does Maya live?")[0]["memory"]

    # Day 10: she moves, and says she loves coffee again (another conversation).
    life.settle(life.say(day(10), "c2", "I moved to Berlin.", "I love coffee."))
    top = life.search("Where does Maya live?", use_cache=False)
    assert "Berlin" in top[0]["memory"] and all("Paris" not in r["memory"] for r in top), [
        (r["memory"], r["retrievers"], r["score"]) for r in top
    ]
    paris_history = life.client.get(f"/v1/memories/{paris['id']}/history", params=life.params()).json()["entries"]
    assert paris_history[-1]["event_type"] == "MemorySuperseded"
    assert datetime.fromisoformat(paris_history[-1]["valid_to"]) == day(10)
    then = life.search("Where does Maya live?", as_of=day(5).isoformat(), use_cache=False)
    assert "Paris" in then[0]["memory"] and all("Berlin" not in r["memory"] for r in then), [
        (r["memory"], r["retrievers"], r["score"]) for r in then
    ]
    # The repeat reinforced the first "I love coffee" instead of adding a copy.
    assert [m["id"] for m in life.memories() if "love coffee" in m["memory"]] == [coffee["id"]]
    assert life.get(coffee["id"]).json()["importance"] == pytest.approx(coffee["importance"] + 0.05, abs=1e-4)
    assert "MemoryReinforced" in life.versions(coffee["id"])

    # Day 20: she stopped drinking coffee; she pins her favourite colour.
    life.settle(life.say(day(20), "c3", "I stopped drinking coffee."))
    pinned = life.client.put(f"/v1/memories/{colour['id']}", json={**life.params(), "pinned": True})
    assert pinned.status_code == 202, pinned.text
    life.settle(pinned.json()["consistency_token"])
    coffee_now = [r["memory"] for r in life.search("Does Maya drink coffee?", use_cache=False)]
    assert any("stopped drinking coffee" in m for m in coffee_now) and not any("love coffee" in m for m in coffee_now)
    lineage = life.client.get(f"/v1/memories/{coffee['id']}/lineage", params=life.params()).json()
    assert {link["relation"] for link in lineage["links"]} == {"reinforces", "supersedes"}

    # Day 45: the worker's timer fires twice at the same moment. The Apollo memories are over 30 days old:
    # they are consolidated into one summary; the second tick changes nothing.
    life.tick(day(45))
    life.settle(life.tick(day(45)))
    summaries = [m for m in life.memories() if m["kind"] == "summary"]
    assert len(summaries) == 1 and "Apollo" in summaries[0]["memory"]
    assert sorted(summaries[0]["source_turn_ids"]) == sorted(
        t for m in apollo for t in life.get(m).json()["source_turn_ids"]
    )
    for original in apollo:
        assert life.get(original).json()["state"] == "archived"
        assert life.versions(original).count("MemoryArchived") == 1  # archived once, whatever fired twice
    assert life.get(colour["id"]).json()["state"] == "active"  # pinned: never consolidated
    with GraphDatabase.driver(
        life.system.settings.neo4j_uri, auth=(life.system.settings.neo4j_user, life.system.settings.neo4j_password)
    ) as driver:
        records, _, _ = driver.execute_query(
            namespaced(
                "MATCH (s:Memory {memory_id: $id})-[r:SUMMARIZES]->(o:Memory) RETURN count(r) AS n",
                life.system.settings.neo4j_label_prefix,
            ),
            id=summaries[0]["id"],
        )
    assert records[0]["n"] == 2
    found = life.search("When does the Apollo app launch?", use_cache=False)
    assert found[0]["id"] == summaries[0]["id"] and not set(apollo) & {r["id"] for r in found}

    # Searching the archive finds an original, and that recalls it to active.
    archived = life.search("When does the Apollo app launch?", include_archived=True, use_cache=False)
    recalled = next(r["id"] for r in archived if r["id"] in apollo)
    wait_until(lambda: life.get(recalled).json()["state"] == "active", timeout=30, what="the recall")
    assert life.versions(recalled)[-2:] == ["MemoryRecalled", "MemoryActivated"]
    assert passed_through(life.history(recalled)) == [
        "extracted", "stored", "active", "consolidating", "archived", "recalled", "active",
    ]  # fmt: skip

    # Day 100: nothing was said for months. What is not pinned fades (Decaying) or is forgotten already.
    before = {m["id"]: m for m in life.memories()}
    life.settle(life.tick(day(100)))
    after = {m["id"]: m for m in life.memories("active", "decaying")}
    assert after[colour["id"]]["state"] == "active"
    fading = [i for i, m in after.items() if m["state"] == "decaying"]
    assert fading, after
    assert all(after[i]["importance"] < 0.10 for i in fading)
    assert all(life.get(i).status_code == 404 for i in before if i not in after)
    # One of them is needed again: the access brings it back to active.
    rescued = after[fading[0]]
    hits = life.search(rescued["memory"], use_cache=False)
    assert rescued["id"] in [h["id"] for h in hits]
    wait_until(lambda: life.get(rescued["id"]).json()["state"] == "active", timeout=30, what="the rescue")
    # The history names the rescue for what happened, and shows each state it passed through.
    history = life.history(rescued["id"])
    assert history[-2:] == [("MemoryDecayed", "decaying"), ("MemoryRescued", "active")], history
    walk = passed_through(history)
    assert walk[:3] == ["extracted", "stored", "active"] and walk[-2:] == ["decaying", "active"], walk
    assert all(can_transition(MemoryState(a), MemoryState(b)) for a, b in itertools.pairwise(walk)), walk
    # A filter written against the older drawing still answers: "accessed" is read as active.
    assert rescued["id"] in [m["id"] for m in life.memories("accessed")]

    # Day 400: everything not pinned is forgotten, in every store; the pinned colour stays.
    life.settle(life.tick(day(400)))
    left = life.memories("active", "decaying", "archived")
    assert [m["id"] for m in left] == [colour["id"]]
    assert life.get(paris["id"]).status_code == 200  # superseded history is kept, not decayed
    gone = life.get(rescued["id"])
    assert gone.status_code == 404
    assert life.versions(rescued["id"]) == []

    # Deleting one memory and then the whole user goes through the same events.
    deleted = life.client.delete(f"/v1/memories/{colour['id']}", params=life.params())
    assert deleted.status_code == 202, deleted.text
    life.settle(deleted.json()["consistency_token"])
    assert life.get(colour["id"]).status_code == 404
    erased = life.client.delete("/v1/memories", params=life.params())
    assert erased.status_code == 202, erased.text
    life.settle(erased.json()["consistency_token"])
    assert life.memories("active", "decaying", "archived", "stored") == []
    assert life.get(paris["id"]).status_code == 404


def test_update_reembeds_and_a_bad_command_is_dead_lettered(life: Life) -> None:
    user = Life(life.system, life.client)
    user.settle(user.say(day(0), "c1", "I work at Lumen Labs as a data engineer."))
    job = user.find("Lumen Labs")
    corrected = user.client.put(
        f"/v1/memories/{job['id']}", json={**user.params(), "text": "Maya works at Lumen Labs as a data scientist."}
    )
    assert corrected.status_code == 202, corrected.text
    user.settle(corrected.json()["consistency_token"])
    assert user.get(job["id"]).json()["memory"] == "Maya works at Lumen Labs as a data scientist."
    assert user.search("data scientist", recipe="dense", use_cache=False)[0]["id"] == job["id"]
    assert user.versions(job["id"])[-2:] == ["MemoryUpdated", "MemoryEmbedded"]
    # Bad requests never reach the log.
    assert user.client.put(f"/v1/memories/{job['id']}", json=user.params()).status_code == 400
    assert user.client.put("/v1/memories/no-such-id", json={**user.params(), "pinned": True}).status_code == 404
    assert user.client.delete("/v1/memories/no-such-id", params=user.params()).status_code == 404
    other = user.client.get(f"/v1/memories/{job['id']}/history", params={**user.params(), "user_id": "someone-else"})
    assert other.status_code == 404
