"""Memories being consolidated stay searchable until the summary that replaces them is (issue 18, point 8).

A consolidation marks its originals ``consolidating`` first and archives them only once the summary is Active.
Hiding the originals from the first mark on left a user's searches empty for as long as consolidating a backlog
took; here the marks, the summary and the archive are projected one step at a time into the real PostgreSQL,
Milvus and Neo4j projectors, and the API's own search runs after each step.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.schemas import SearchFilters, SearchRequest
from api.search import validate
from api.services import Services
from memory.settings import Settings
from tests.integration.memory_life import Life
from tests.integration.projected_life import Life as Projected
from tests.integration.projected_life import Stores, open_stores, search_services
from tests.support import isolated_settings, unique

APP = "consolidation-visibility"


@pytest.fixture
def stores(stack_settings: Settings) -> Iterator[Stores]:
    opened, driver = open_stores(isolated_settings(stack_settings))
    yield opened
    driver.close()


async def visible(services: Services, life: Life, **extra: object) -> dict[str, str]:
    """Memory id → state of every hit a hybrid search for the dog returns (the user has only a few memories)."""
    body = SearchRequest(
        query="What do I know about Rex the beagle?",
        user_id=life.scope.user_id,
        app_id=APP,
        use_cache=False,
        top_k=20,
        **extra,  # type: ignore[arg-type]
    )
    response = await (await services.view()).search.search(validate(body, life.scope))
    return {hit.id: hit.state for hit in response.results}


async def test_originals_stay_searchable_until_their_summary_is_then_give_way_to_it(
    stores: Stores, embedder  # type: ignore[no-untyped-def]
) -> None:
    life = Life(unique("consolidating-"), app_id=APP)
    rex, beach, summary = life.memory(0), life.memory(1), life.memory(2)
    stores.apply(
        [
            *life.active(0, "Alice adopted a beagle named Rex", ["Alice", "Rex"]),
            *life.active(1, "Rex the beagle loves running on the beach", ["Rex"]),
        ]
    )
    async with search_services(Projected(stores, life.scope.user_id, {}), embedder) as services:
        assert await visible(services, life) == {rex: "active", beach: "active"}

        # Marked for a summary that is not written yet: still found, and said to be consolidating.
        stores.apply([life.consolidating(0, summary=2), life.consolidating(1, summary=2)])
        assert await visible(services, life) == {rex: "consolidating", beach: "consolidating"}
        # A request that names its states gets exactly those: the default is what widened, not every filter.
        assert await visible(services, life, filters=SearchFilters(states=["active"])) == {}

        # The summary is extracted and embedded but not Active yet: the originals still answer alone.
        summary_events = life.active(2, "Alice's beagle Rex, adopted, loves running on the beach", ["Alice", "Rex"])
        activation = summary_events.pop()
        stores.apply(summary_events)
        assert await visible(services, life) == {rex: "consolidating", beach: "consolidating"}

        # Summary Active, originals archived: the summary takes their place; they are one opt-in away.
        archive = [life.archived(0, summary=2), life.archived(1, summary=2)]
        stores.apply([activation, life.consolidated(2, [0, 1]), *archive])
        assert await visible(services, life) == {summary: "active"}
        assert await visible(services, life, include_archived=True) == {
            summary: "active",
            rex: "archived",
            beach: "archived",
        }
