"""The graph retriever's topic walk (api.retrievers.topic_walk) against the real Neo4j, through the API's
own search services: topics of the query, the memories about them, and the speaker the query names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.retrievers import topic_walk
from api.schemas import SearchRequest, SearchResponse
from api.search import validate
from api.services import Services
from memory.contract.events import Scope
from memory.settings import Settings
from tests.integration.projected_life import Life, open_stores, search_services
from tests.support import isolated_settings, make_turn, unique

APP = "topics"
REF = datetime(2026, 3, 1, tzinfo=UTC)
SAID = [
    ("pets", "Nate", "My pets are a dog and two turtles."),
    ("walks", "Nate", "The dog needs long walks, and pets need exercise."),
    ("slippers", "Nate", "Max chewed my slippers again, silly dog."),  # no word of "pets"
    ("neighbour", "Joanna", "I walked my neighbour's dog and fed her pets."),
    ("screenplay", "Joanna", "I finished my screenplay about a lighthouse."),
]


@pytest.fixture(scope="module")
def life(stack_settings: Settings, embedder) -> Iterator[Life]:  # type: ignore[no-untyped-def]
    stores, driver = open_stores(isolated_settings(stack_settings))
    user = unique("friends-")
    ids: dict[str, str] = {}
    for i, (label, speaker, text) in enumerate(SAID):
        turn = make_turn(user, text, label, app_id=APP, occurred_at=REF - timedelta(days=10 - i), speaker=speaker)
        ids[label] = stores.say(turn, embedder.embed)
    yield Life(stores, user, ids)
    driver.close()


@pytest.fixture
async def services(life: Life, embedder) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    async with search_services(life, embedder) as built:
        yield built


async def graph_search(services: Services, life: Life, query: str) -> list[str]:
    """Labels in the graph retriever's own order (the final order also weighs importance and recency)."""
    body = SearchRequest(query=query, user_id=life.user, app_id=APP, recipe="graph", top_k=20, use_cache=False)
    response: SearchResponse = await (await services.view()).search.search(validate(body, Scope(APP, life.user)))
    by_id = {v: k for k, v in life.ids.items()}
    return [by_id[h.id] for h in sorted(response.results, key=lambda h: h.retrievers["graph"])]


async def test_a_question_naming_no_entity_walks_its_topics(services: Services, life: Life) -> None:
    found = await graph_search(services, life, "What pets does Nate have?")
    assert set(found[:2]) == {"pets", "walks"}  # about pets, said by Nate
    assert "neighbour" not in found  # Joanna's: the question names Nate


async def test_a_question_naming_no_speaker_walks_everyones_memories(services: Services, life: Life) -> None:
    found = await graph_search(services, life, "Who has pets?")
    assert {"pets", "walks", "neighbour"} <= set(found)
    assert "screenplay" not in found


async def test_a_topic_too_many_memories_are_about_is_skipped(
    services: Services, life: Life, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "slippers" in await graph_search(services, life, "Tell me about the dog")
    # Four memories are about a dog: with a cap of three it says nothing about which one is meant.
    monkeypatch.setattr(topic_walk, "TOPIC_FLOOR", 3)
    assert await graph_search(services, life, "Tell me about the dog") == []
    assert await graph_search(services, life, "Tell me about the lighthouse") == ["screenplay"]
