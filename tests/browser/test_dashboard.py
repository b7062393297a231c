"""The dashboard at /ui in a real headless Chromium against the whole running system on the local stack.

One user's life is written through the API (the pipeline extracts, reinforces and supersedes as it always does);
the tests then only read it through the pages, the way a person would: sign in with an API key, browse the
memories, open one and see its lineage drawn, run a search and read each retriever's rank off the page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from adapters.kafka import SyncProducer, make_producer
from adapters.token_key import token_key
from api.gateway.principal import Scope as KeyScope
from memory.contract.codec import Codec
from memory.contract.events import Scope as EventScope
from memory.contract.positions import encode_token
from memory.lifecycle.machine import MemoryState
from memory.retrieval.recipes import RECIPES
from memory.settings import PROJECT_ROOT
from streams.agents.lifecycle import tick_command
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
    # It reads past the garbage: dead-lettered, not stuck. The dead letter can be on the page before the worker's
    # next offset commit (every few seconds), so the lag is waited for over the page's redraws, not read once.
    pages.wait_for(f"#groups tr[data-group='{settings.faust_app_id}'] td[data-lag='0']", "the worker's lag at 0")
    assert "postgres: live" in pages.text_of("#targets")
    services = pages.wait_for("#services").find_elements(By.CSS_SELECTOR, "[data-service]")
    checks = {e.get_attribute("data-service"): e.get_attribute("data-check") for e in services}
    # Every check of GET /ready: the stores, and the query model (embedding_model) since readiness asks it too.
    assert checks == dict.fromkeys(("kafka", "postgres", "neo4j", "redis", "milvus", "embedding_model"), "ok"), checks
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
    assert listed_in("pages/search.js", "STATES") == [state.value for state in MemoryState]


def test_phone_sized_screen(system: RunningSystem, life: Life, phone: Pages) -> None:
    phone.sign_in(system.admin_key, user=life.user)
    wait_until(lambda: len(rows(phone)) == 2 or None, timeout=60, what="the memories as cards")
    width, screen = phone.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert screen == 390, f"the emulated screen is {screen}px wide"
    assert width <= screen, f"the page is {width}px wide on a {screen}px screen: it scrolls sideways"
    phone.shot("phone-memories")


def set_value(pages: Pages, element_id: str, value: str) -> None:
    """A datetime-local input's value, set as the page reads it (typing one depends on the browser's locale)."""
    pages.driver.execute_script(
        "arguments[0].value = arguments[1]", pages.driver.find_element(By.ID, element_id), value
    )


def retype(pages: Pages, element_id: str, text: str, then: str) -> None:
    """Replace an input's text, then press the button ``then`` names."""
    field = pages.driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)
    pages.driver.find_element(By.ID, then).click()


def apply_filters(pages: Pages, expected: set[str], what: str) -> None:
    pages.driver.find_element(By.ID, "apply").click()
    wait_until(lambda: set(rows(pages)) == expected or None, timeout=30, what=what)


def test_the_memories_page_filters_on_the_server(system: RunningSystem, life: Life, pages: Pages) -> None:
    berlin, coffee = life.find("Berlin"), life.find("coffee")
    with system.client() as client:
        pinned = client.put(f"/v1/memories/{coffee['id']}", json={"user_id": life.user, "pinned": True})
        assert pinned.status_code == 202, pinned.text
        token = pinned.json()["consistency_token"]
        wait_until(
            lambda: (
                client.get("/v1/memories", params={"user_id": life.user, "consistency_token": token}).status_code == 200
            ),
            timeout=60,
            what="the pin applied",
        )
    pages.sign_in(system.admin_key, user=life.user)
    wait_until(lambda: len(rows(pages)) == 2 or None, timeout=60, what="the memories")

    # Superseded too: Paris comes back, marked superseded.
    pages.driver.find_element(By.ID, "filter-superseded").click()
    apply_filters(pages, {berlin["id"], coffee["id"], life.paris_id}, "Paris listed again")
    assert "superseded" in rows(pages)[life.paris_id]

    # A valid-time range: before day 5 holds what the first conversation said (Paris, coffee), not Berlin.
    set_value(pages, "filter-before", (START + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"))
    apply_filters(pages, {coffee["id"], life.paris_id}, "the first conversation's memories")
    set_value(pages, "filter-before", "")
    set_value(pages, "filter-after", (START + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"))
    apply_filters(pages, {berlin["id"]}, "the second conversation's new memory")
    set_value(pages, "filter-after", "")

    # Pinned: only coffee, tagged; then text on the server, case-insensitive.
    Select(pages.driver.find_element(By.ID, "filter-pinned")).select_by_value("true")
    apply_filters(pages, {coffee["id"]}, "only the pinned memory")
    assert "pinned" in rows(pages)[coffee["id"]]
    Select(pages.driver.find_element(By.ID, "filter-pinned")).select_by_value("")
    pages.driver.find_element(By.ID, "filter-text").send_keys("PARIS")
    apply_filters(pages, {life.paris_id}, "Paris by its text")
    pages.shot("filtered")

    # Kind: exactly what the API lists of that kind; one that no memory has gets the filters' empty state.
    pages.driver.find_element(By.ID, "filter-text").clear()
    pages.driver.find_element(By.ID, "filter-kind").send_keys(berlin["kind"])
    with system.client() as client:
        params = {"user_id": life.user, "kind": berlin["kind"], "include_superseded": "true"}
        of_kind = {m["id"] for m in client.get("/v1/memories", params=params).json()["results"]}
    assert berlin["id"] in of_kind
    apply_filters(pages, of_kind, f"the {berlin['kind']} memories")
    retype(pages, "filter-kind", "no-such-kind", then="apply")
    assert "No memory matches these filters" in pages.text_of("#empty")

    # A bad value is the API's 400, shown on the page.
    retype(pages, "filter-kind", "two words", then="apply")
    assert "kind" in pages.wait_for(".error", "the refusal").text


def test_search_shows_the_time_range_and_each_retrievers_time(system: RunningSystem, life: Life, pages: Pages) -> None:
    query = "What did Maya say last week?"
    reference = START + timedelta(days=12)
    with system.client() as client:
        body = {"user_id": life.user, "query": query, "reference_time": reference.isoformat(), "use_cache": False}
        expected = client.post("/v1/memories/search", json=body).json()
    assert expected["time_range"], expected  # the API itself reads a range from the query
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for("#memories")
    pages.open("#/search")
    pages.wait_for("#query").send_keys(query)
    # The browser runs in UTC (as the machine does): the local time typed is the UTC time sent.
    set_value(pages, "reference-time", reference.strftime("%Y-%m-%dT%H:%M"))
    Select(pages.driver.find_element(By.ID, "recipe")).select_by_value("hybrid")
    pages.driver.find_element(By.ID, "run-search").click()
    shown = pages.wait_for("#time-range", "the time range")
    assert shown.get_attribute("data-expression") == expected["time_range"]["expression"]
    assert parse(shown.get_attribute("data-start")) == parse(expected["time_range"]["start"])
    assert parse(shown.get_attribute("data-end")) == parse(expected["time_range"]["end"])
    timed = pages.wait_for("#timings").find_elements(By.CSS_SELECTOR, "tbody tr[data-retriever]")
    assert {row.get_attribute("data-retriever") for row in timed} == set(expected["timings_ms"])
    assert all(row.text.endswith(" ms") for row in timed)
    pages.shot("search-time-range")

    # A filter the page builds: metadata no memory carries narrows the hits to none.
    retype(pages, "search-metadata", "topic=nothing-here", then="run-search")
    assert "No memory matched" in pages.text_of("#no-hits")
    # A malformed pair is refused on the page before any request.
    retype(pages, "search-metadata", "no-equals-sign", then="run-search")
    assert "key=value" in pages.text_of(".error")


def parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None


class Consolidated:
    """A user whose two Apollo memories the lifecycle consolidated into one summary (a tick 45 days on, as
    tests/e2e/test_lifecycle.py drives it), one of which a search of the archive then recalled to active."""

    def __init__(self, system: RunningSystem) -> None:
        self.user = unique("apollo-")
        scope = EventScope(system.app_id, self.user)
        now = datetime.now(UTC).replace(microsecond=0)  # decay and consolidation count from the wall clock
        said = ("Sarah and I are building the Apollo app.", "The Apollo app launches in March with Sarah.")
        with system.client() as client:
            params = {"user_id": self.user}
            body = {
                **params,
                "conversation_id": "apollo",
                "occurred_at": now.isoformat(),
                "messages": [{"role": "user", "content": text, "name": "Maya"} for text in said],
            }
            written = client.post("/v1/memories", json=body)
            assert written.status_code == 202, written.text
            settle(client, self.user, written.json()["consistency_token"])
            self.originals = sorted(m["id"] for m in client.get("/v1/memories", params=params).json()["results"])
            assert len(self.originals) == 2, self.originals
            producer = SyncProducer(make_producer(system.settings))
            tick = tick_command(scope, now + timedelta(days=45), component="tests")
            (at,) = producer.produce_all([(system.settings.topics.commands, scope.key.encode(), Codec().encode(tick))])
            settle(client, self.user, encode_token([at], token_key(system.settings)))
            (summary,) = [
                m for m in client.get("/v1/memories", params=params).json()["results"] if m["kind"] == "summary"
            ]
            self.summary = summary["id"]
            query = {
                **params,
                "query": "When does the Apollo app launch?",
                "include_archived": True,
                "use_cache": False,
            }
            found = client.post("/v1/memories/search", json=query).json()["results"]
            # Every original the archive search hit is recalled (one or both, as they rank).
            self.recalled = sorted(hit["id"] for hit in found if hit["id"] in self.originals)
            assert self.recalled, found

            def all_active() -> bool:
                return all(
                    client.get(f"/v1/memories/{o}", params=params).json()["state"] == "active" for o in self.recalled
                )

            wait_until(all_active, timeout=60, what="the recall")


def settle(client: httpx.Client, user: str, token: str) -> None:
    def caught_up() -> bool:
        params: dict[str, str | int] = {"user_id": user, "consistency_token": token, "limit": 1}
        return client.get("/v1/memories", params=params).status_code == 200

    wait_until(caught_up, timeout=120, what="the projections to catch up")


Drawn = tuple[set[str | None], list[tuple[str | None, str | None]], dict[str | None, str]]


def drawn(pages: Pages, nodes: set[str]) -> Drawn:
    """The lineage picture once it holds these memories: their ids, its arrows as (relation, dash pattern), and
    each node's state line."""

    def picture(driver: WebDriver) -> Drawn | None:
        boxes = driver.find_elements(By.CSS_SELECTOR, "svg#lineage a.node")
        ids = {box.get_attribute("data-memory-id") for box in boxes}
        if ids != nodes:
            return None
        arrows = [
            (line.get_attribute("data-relation"), line.get_attribute("stroke-dasharray"))
            for line in driver.find_elements(By.CSS_SELECTOR, "svg#lineage line.link")
        ]
        states = {
            box.get_attribute("data-memory-id"): box.find_element(By.CSS_SELECTOR, ".node-state").text for box in boxes
        }
        return ids, sorted(arrows, key=str), states

    return pages.until(picture, f"a lineage picture of {sorted(nodes)}")


def test_a_summarys_lineage_and_a_recalled_original(system: RunningSystem, pages: Pages) -> None:
    life = Consolidated(system)
    pages.sign_in(system.admin_key, user=life.user)
    pages.wait_for("#memories")

    # The summary: its two originals drawn on its left, one "summarizes" arrow each, and the recalled one's
    # way back to active drawn beside its arrow, dashed.
    pages.open(f"#/memory/{life.summary}")
    _, arrows, states = drawn(pages, {life.summary, *life.originals})
    assert arrows == [("recalled", "6 4")] * len(life.recalled) + [("summarizes", "none")] * 2, arrows
    for original in life.originals:
        assert states[original].startswith("active" if original in life.recalled else "archived"), states
    pages.shot("summary-lineage")

    # A recalled original: the summary on its right, summarizing it and recalling it.
    recalled = life.recalled[0]
    pages.driver.find_element(By.CSS_SELECTOR, f"svg#lineage a.node[data-memory-id='{recalled}']").click()
    _, arrows, _ = drawn(pages, {life.summary, recalled})
    assert arrows == [("recalled", "6 4"), ("summarizes", "none")], arrows
    assert "MemoryRecalled" in pages.text_of("#history")
    pages.shot("recalled-lineage")


def no_sideways_scroll(pages: Pages, page: str) -> None:
    width, screen = pages.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"{page}: the page is {width}px wide on a {screen}px screen: it scrolls sideways"


def saying(words: str) -> Callable[[WebElement], bool]:
    return lambda element: words in element.text


def every_page_empty(system: RunningSystem, pages: Pages, size: str) -> None:
    """A fresh app's admin looking at a fresh user: every page says what it would show, and fits the screen."""
    key = issue_key(system.settings, unique("app-"), name="a fresh app's admin")
    pages.sign_in(key, user=unique("fresh-"))
    pages.wait_for("#empty", "the signed-in first page")  # signed in: the key is in the tab's session
    expectations = [
        ("memories", "#empty", "No memories"),
        ("search", "#search-output .empty", "Run a query"),
        ("core", "#blocks", "never written"),
        ("conversation/none-yet", ".empty", "No turns"),
        ("memory/no-such-memory", ".error", "not found"),
        ("pipeline", "#no-dead-letters", "No dead letters"),
    ]
    for route, css, says in expectations:
        pages.open(f"#/{route}")
        pages.wait_for(css, f"the {route} page's empty state", until=saying(says))
        no_sideways_scroll(pages, route)
        pages.shot(f"{size}-empty-{route.split('/')[0]}")
    # A search that finds nothing, and a conversation-log search that finds nothing, say so.
    pages.open("#/search")
    pages.wait_for("#query").send_keys("anything at all")
    pages.driver.find_element(By.ID, "run-search").click()
    assert "No memory matched" in pages.text_of("#no-hits")
    no_sideways_scroll(pages, "search results")
    pages.open("#/core")
    pages.wait_for("#log-query").send_keys("anything")
    pages.driver.find_element(By.ID, "log-search").click()
    assert "No turn" in pages.text_of("#no-turns")


def test_every_page_has_an_empty_state_on_a_phone(system: RunningSystem, phone: Pages) -> None:
    every_page_empty(system, phone, "phone")


def test_every_page_has_an_empty_state_at_1280(system: RunningSystem, pages: Pages) -> None:
    every_page_empty(system, pages, "desktop")


def test_every_page_with_data_fits_a_phone(system: RunningSystem, life: Life, phone: Pages) -> None:
    phone.sign_in(system.admin_key, user=life.user)
    wait_until(lambda: len(rows(phone)) == 2 or None, timeout=60, what="the memories")
    berlin = life.find("Berlin")["id"]
    for route, css in (
        (f"memory/{berlin}", "svg#lineage"),
        ("core", "#blocks"),
        ("conversation/c2", "#conversation"),
        ("pipeline", "#groups"),
    ):
        phone.open(f"#/{route}")
        phone.wait_for(css, route)
        no_sideways_scroll(phone, route)
        phone.shot(f"phone-{route.split('/')[0]}")
        if route.startswith("memory/"):
            # The lineage is laid out for the screen (bands, not columns), so its boxes stay readable.
            picture = phone.wait_for("svg#lineage")
            assert picture.get_attribute("data-layout") == "narrow"
            widths = phone.driver.execute_script(
                "return [...document.querySelectorAll('svg#lineage a.node rect')]"
                ".map((r) => r.getBoundingClientRect().width)"
            )
            assert len(widths) == 2 and min(widths) >= 300, widths  # Berlin and Paris, each nearly the screen's width
            assert "Paris" in picture.text
    phone.open("#/search")
    phone.wait_for("#query").send_keys("Where did Maya move? Berlin")
    phone.driver.find_element(By.ID, "run-search").click()
    phone.wait_for("#hits tbody tr", "the hits as cards")
    no_sideways_scroll(phone, "search results")
    phone.shot("phone-search")
