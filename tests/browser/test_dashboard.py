"""The dashboard at /ui in a real headless Chromium against the whole running system on the local stack.

One user's life is written through the API (the pipeline extracts, reinforces and supersedes as it always does);
the tests then only read it through the pages, the way a person would: sign in with an API key, browse the
memories, open one and see its lineage drawn, run a search and read each retriever's rank off the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from adapters.kafka import SyncProducer, make_producer
from api.gateway.principal import Scope as KeyScope
from memory.lifecycle.machine import MemoryState
from memory.retrieval.recipes import RECIPES
from memory.settings import PROJECT_ROOT
from tests.browser.conftest import Pages
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique, wait_until

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
DASH = "\N{EN DASH}"  # the pages write ranges with it: "1<dash>20 of 25", "from <dash> to"


class Life:
    """A user of the module's app whose turns went through the pipeline: Paris superseded by Berlin, coffee
    said twice (one memory, reinforced)."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.user = unique("maya-")
        with system.client() as client:
            self.settle(client, self.say(client, START, "c1", "I live in Paris.", "I love coffee."))
            self.settle(
                client, self.say(client, START + timedelta(days=10), "c2", "I moved to Berlin.", "I love coffee.")
            )
            listed = client.get("/v1/memories", params={"user_id": self.user})
            assert listed.status_code == 200, listed.text
            self.memories: list[dict[str, Any]] = listed.json()["results"]
            # The list holds what is valid now; Paris, superseded, is reached through Berlin's lineage.
            berlin = self.find("Berlin")["id"]
            lineage = client.get(f"/v1/memories/{berlin}/lineage", params={"user_id": self.user}).json()
            (self.paris_id,) = [link["to_memory_id"] for link in lineage["links"] if link["relation"] == "supersedes"]

    def say(self, client: httpx.Client, when: datetime, conversation: str, *texts: str) -> str:
        body = {
            "user_id": self.user,
            "conversation_id": conversation,
            "occurred_at": when.isoformat(),
            "messages": [{"role": "user", "content": t, "name": "Maya"} for t in texts],
        }
        response = client.post("/v1/memories", json=body)
        assert response.status_code == 202, response.text
        token: str = response.json()["consistency_token"]
        return token

    def settle(self, client: httpx.Client, token: str) -> None:
        def caught_up() -> bool:
            params: dict[str, str | int] = {"user_id": self.user, "consistency_token": token, "limit": 1}
            return client.get("/v1/memories", params=params).status_code == 200

        wait_until(caught_up, timeout=120, what="the projections to catch up")

    def find(self, fragment: str) -> dict[str, Any]:
        (found,) = [m for m in self.memories if fragment in m["memory"]]
        return found


@pytest.fixture(scope="module")
def life(system: RunningSystem) -> Life:
    return Life(system)


def rows(pages: Pages) -> dict[str, str]:
    """The memories table as memory id -> the row's text."""
    table = pages.wait_for("#memories")
    return {
        row.get_attribute("data-memory-id") or "": row.text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }


def test_a_wrong_key_is_refused_on_the_sign_in_page(system: RunningSystem, pages: Pages) -> None:
    pages.sign_in("msk_not-a-key", user="anyone")
    error = pages.wait_for(".error", "the refusal")
    assert "credential" in error.text, error.text
    assert pages.driver.find_element(By.ID, "nav").get_attribute("hidden") is not None  # nothing behind it shown
    pages.shot("refused")


def test_sign_in_and_browse_the_memories(system: RunningSystem, life: Life, pages: Pages) -> None:
    pages.sign_in(system.admin_key, user=life.user)
    listed = wait_until(lambda: rows(pages) or None, timeout=60, what="the memories table")
    assert listed is not None
    berlin, coffee = life.find("Berlin"), life.find("coffee")
    # Coffee was said twice and is one memory; Paris, superseded, is no longer valid and not listed.
    assert set(listed) == {berlin["id"], coffee["id"]}, listed
    assert "now" in listed[berlin["id"]] and "active" in listed[berlin["id"]]
    assert life.user in pages.text_of("#who")
    assert pages.text_of("#page-info") == f"1{DASH}2 of 2"
    pages.shot("memories")

    # The text filter narrows the rows shown.
    pages.driver.find_element(By.ID, "filter-text").send_keys("berlin")
    pages.driver.find_element(By.ID, "apply").click()
    wait_until(lambda: set(rows(pages)) == {berlin["id"]} or None, timeout=30, what="only Berlin")

    # The state filter goes to the server: no memory of this user is forgotten, and the page says so.
    choose_states(pages, "forgotten")
    pages.driver.find_element(By.ID, "filter-text").clear()
    pages.driver.find_element(By.ID, "apply").click()
    assert "No memories" in pages.text_of("#empty")
    pages.shot("no-forgotten")


def choose_states(pages: Pages, *wanted: str) -> None:
    for option in pages.driver.find_element(By.ID, "filter-state").find_elements(By.TAG_NAME, "option"):
        if option.is_selected() != (option.get_attribute("value") in wanted):
            option.click()  # a multiple select: a click toggles one option (chromedriver holds no modifier)


def test_paging(system: RunningSystem, life: Life, pages: Pages) -> None:
    # 25 memories of another user: the page holds 20, Next shows the last 5.
    user = unique("pager-")
    with system.client() as client:
        token = ""
        for n in range(25):
            response = client.post("/v1/memories", json={"user_id": user, "text": f"note number {n}", "infer": False})
            assert response.status_code == 202, response.text
            token = response.json()["consistency_token"]
        wait_until(
            lambda: (
                client.get("/v1/memories", params={"user_id": user, "consistency_token": token}).json()["total"] == 25
            ),
            timeout=120,
            what="25 memories",
        )
    pages.sign_in(system.admin_key, user=user)
    wait_until(lambda: len(rows(pages)) == 20 or None, timeout=60, what="the first page")
    assert pages.text_of("#page-info") == f"1{DASH}20 of 25"
    first = set(rows(pages))
    pages.driver.find_element(By.ID, "next").click()
    wait_until(lambda: len(rows(pages)) == 5 or None, timeout=30, what="the second page")
    assert pages.text_of("#page-info") == f"21{DASH}25 of 25"
    assert not first & set(rows(pages))
    assert pages.driver.find_element(By.ID, "next").get_attribute("disabled") is not None
    pages.shot("second-page")


def test_a_user_bound_key_sees_its_user_without_naming_one(system: RunningSystem, life: Life, pages: Pages) -> None:
    key = issue_key(system.settings, system.app_id, name="dashboard reader", user_id=life.user, scopes=[KeyScope.READ])
    pages.sign_in(key)
    wait_until(lambda: len(rows(pages)) == 2 or None, timeout=60, what="the user's memories")
    assert "memories:read" in pages.text_of("#who")


def test_an_empty_user_gets_an_empty_state(system: RunningSystem, pages: Pages) -> None:
    pages.sign_in(system.admin_key, user=unique("nobody-"))
    assert "No memories" in pages.text_of("#empty")
    pages.shot("empty")


def test_a_memory_with_its_lineage_drawn(system: RunningSystem, life: Life, pages: Pages) -> None:
    berlin = life.find("Berlin")
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for(f"#memories tr[data-memory-id='{berlin['id']}'] a", "Berlin's row").click()
    assert pages.text_of("#memory-text") == berlin["memory"]
    assert pages.text_of("#memory-state") == "active"
    assert "Berlin" in pages.text_of("#turns")  # the turn it came from
    picture = pages.wait_for("svg#lineage", "the lineage picture")
    nodes = {n.get_attribute("data-memory-id") for n in picture.find_elements(By.CSS_SELECTOR, "a.node")}
    assert nodes == {berlin["id"], life.paris_id}
    relations = [line.get_attribute("data-relation") for line in picture.find_elements(By.CSS_SELECTOR, "line.link")]
    assert relations == ["supersedes"]
    assert "Paris" in picture.text  # the older memory's text is drawn in its box
    pages.shot("memory-lineage")

    # A drawn memory is a link: clicking Paris opens its page, where the timeline shows its supersession.
    picture.find_element(By.CSS_SELECTOR, f"a.node[data-memory-id='{life.paris_id}']").click()
    pages.wait_for("#memory-text", "Paris's page", until=lambda e: "Paris" in e.text)
    history = pages.text_of("#history")
    # Its valid time ended when Berlin's began (day 10), learned when the pipeline saw the second conversation.
    assert "MemorySuperseded" in history and f"{DASH} 2026-03-11 09:00:00Z" in history, history
    pages.shot("superseded-memory")


def test_search_shows_each_retrievers_rank(system: RunningSystem, life: Life, pages: Pages) -> None:
    query = "Where did Maya move? Berlin"  # words the sparse retriever matches, a meaning the dense one does
    with system.client() as client:
        expected = client.post(
            "/v1/memories/search", json={"user_id": life.user, "query": query, "use_cache": False}
        ).json()["results"]
    assert expected, "the API itself finds nothing: nothing to compare the page with"
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for("#memories")
    pages.open("#/search")
    pages.wait_for("#query").send_keys(query)
    pages.driver.find_element(By.ID, "run-search").click()
    table = pages.wait_for("#hits", "the hits")
    shown = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [row.get_attribute("data-memory-id") for row in shown] == [hit["id"] for hit in expected]
    for row, hit in zip(shown, expected, strict=True):
        ranks = {
            cell.get_attribute("data-retriever"): cell.text
            for cell in row.find_elements(By.CSS_SELECTOR, "td[data-retriever]")
        }
        assert {r: int(v) for r, v in ranks.items() if v != "\N{EM DASH}"} == hit["retrievers"], (ranks, hit)
    assert {"dense", "sparse"} <= set(expected[0]["retrievers"]), expected[0]  # two retrievers' ranks read off
    assert "Berlin" in pages.text_of("#context")
    assert "tokens" in pages.text_of("#context-summary")
    pages.shot("search")


def test_core_memory_and_the_conversation_log(system: RunningSystem, life: Life, pages: Pages) -> None:
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for("#memories")
    pages.open("#/core")
    blocks = pages.wait_for("#blocks")
    labels = [card.get_attribute("data-block") for card in blocks.find_elements(By.CSS_SELECTOR, ".card")]
    assert labels == ["persona", "human"], labels  # the two every user has, never written yet
    assert "never written" in blocks.text
    pages.wait_for("#log-query").send_keys("Berlin")
    pages.driver.find_element(By.ID, "log-search").click()
    hit = pages.wait_for("#turn-hits tbody tr", "the turn about Berlin")
    assert "I moved to Berlin." in hit.text and "c2" in hit.text
    pages.shot("core-and-log")
    hit.find_element(By.LINK_TEXT, "c2").click()
    said = pages.wait_for("#conversation", "conversation c2").text
    assert said.index("I moved to Berlin.") < said.index("I love coffee."), said  # in the order they were said
    pages.shot("conversation")


def test_the_pipeline_and_a_dead_letter_redriven(system: RunningSystem, life: Life, pages: Pages) -> None:
    settings = system.settings
    # A message the worker cannot decode, keyed as one of this app's users: the worker dead-letters it.
    producer = SyncProducer(make_producer(settings))
    (garbage,) = producer.produce_all([(settings.topics.turns, f"{system.app_id}/{life.user}".encode(), b"not avro")])
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for("#memories")
    pages.open("#/pipeline")
    row = pages.wait_for("#dead-letters tbody tr", "the dead letter")
    assert f"{garbage.topic}/{garbage.partition}@{garbage.offset}" in row.text, row.text
    groups = pages.wait_for("#groups")
    roles = groups.text
    assert settings.faust_app_id in roles and "projection postgres (live)" in roles, roles
    worker_lag = groups.find_element(By.CSS_SELECTOR, f"tr[data-group='{settings.faust_app_id}'] td[data-lag]")
    assert worker_lag.get_attribute("data-lag") == "0"  # it read past the garbage: dead-lettered, not stuck
    assert "postgres: live" in pages.text_of("#targets")
    services = pages.wait_for("#services").find_elements(By.CSS_SELECTOR, "[data-service]")
    checks = {e.get_attribute("data-service"): e.get_attribute("data-check") for e in services}
    assert checks == dict.fromkeys(("kafka", "postgres", "neo4j", "redis", "milvus"), "ok"), checks
    pages.shot("pipeline")

    letter_id = row.get_attribute("data-dead-letter-id")

    # Another app's admin neither sees nor re-drives it: the same 404 as an id that never existed.
    stranger = issue_key(settings, unique("app-"), name="another app's admin")
    with system.client(stranger) as client:
        seen = client.get("/v1/admin/pipeline")
        assert seen.status_code == 200, seen.text
        assert letter_id not in {d["dead_letter_id"] for d in seen.json()["dead_letters"]}
        refused = client.post("/v1/admin/dead-letters/redrive", json={"dead_letter_ids": [letter_id]})
        assert refused.status_code == 404, refused.text

    # Found again just before the click: the page redraws its tables every 5 s.
    pages.wait_for(f"tr[data-dead-letter-id='{letter_id}'] button.redrive", "the re-drive button").click()
    done = pages.wait_for(".redriven", "the re-drive's answer")
    # The original is produced again after the garbage on its own partition (same key, same partition).
    assert f"{garbage.topic}/{garbage.partition}@" in done.text
    assert int(done.text.rsplit("@", 1)[1]) > garbage.offset
    pages.shot("redriven")


def test_the_pipeline_is_for_admins(system: RunningSystem, life: Life, pages: Pages) -> None:
    reader = issue_key(system.settings, system.app_id, name="reader", user_id=life.user, scopes=[KeyScope.READ])
    with system.client(reader) as client:
        refused = client.get("/v1/admin/pipeline")
        assert refused.status_code == 403 and "admin" in refused.json()["detail"], refused.text
    pages.sign_in(reader)
    pages.wait_for("#memories")
    pages.open("#/pipeline")
    assert "admin" in pages.text_of("#not-admin")


def listed_in(script: str, constant: str) -> list[str]:
    source = (PROJECT_ROOT / "api" / "ui" / "static" / script).read_text()
    listed = source.split(f"const {constant} = [", 1)[1].split("]", 1)[0]
    return [name.strip().strip('"') for name in listed.split(",")]


def test_the_pages_offer_every_recipe_and_state() -> None:
    assert set(listed_in("pages/search.js", "RECIPES")) == set(RECIPES)
    assert listed_in("pages/memories.js", "STATES") == [state.value for state in MemoryState]


def test_phone_sized_screen(system: RunningSystem, life: Life, phone: Pages) -> None:
    phone.sign_in(system.admin_key, user=life.user)
    wait_until(lambda: len(rows(phone)) == 2 or None, timeout=60, what="the memories as cards")
    width, screen = phone.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert screen == 390, f"the emulated screen is {screen}px wide"
    assert width <= screen, f"the page is {width}px wide on a {screen}px screen: it scrolls sideways"
    phone.shot("phone-memories")
