"""Each retriever, the fusion and the hot cache against the real stores (PostgreSQL, Milvus, Neo4j, Redis).

A small life is projected with the real projectors; searches run through the API's own services
(``api.services.build_services``), in process, so what is tested is exactly what the API runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from neo4j import GraphDatabase
from redis import Redis

from api.schemas import SearchRequest, SearchResponse
from api.search import validate
from api.services import Services
from memory.contract.events import ConversationTurnReceived, MemoryExtracted, Scope
from memory.settings import Settings
from projections.cache_epochs import CacheEpochs
from projections.neo4j.labels import namespaced
from tests.integration.projected_life import Life, open_stores, search_services
from tests.support import isolated_settings, make_turn, pipeline_events, unique

REF = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)  # a Sunday: "last week" is Mon 16 to Sun 22 February
APP = "retrieval"
LIFE = [
    ("paris", "I live in Paris with my sister Nora.", datetime(2026, 1, 10, tzinfo=UTC)),
    ("coffee", "I love strong coffee every morning.", datetime(2026, 1, 20, tzinfo=UTC)),
    ("meeting", "I had a long meeting with Sarah about the Apollo roadmap.", datetime(2026, 2, 3, tzinfo=UTC)),
    ("sarah-job", "Sarah works at Lumen Labs in Lisbon.", datetime(2026, 2, 4, tzinfo=UTC)),
    ("hiring", "Lumen Labs is hiring three data engineers.", datetime(2026, 2, 10, tzinfo=UTC)),
    ("move", "We moved to Berlin last weekend.", datetime(2026, 2, 15, tzinfo=UTC)),
    ("hiking", "I went hiking in the Alps with Tom.", datetime(2026, 2, 18, tzinfo=UTC)),
    ("novel", "I finished reading a novel about pirates.", datetime(2026, 2, 27, tzinfo=UTC)),
]


def turn(user: str, label: str, text: str, when: datetime) -> ConversationTurnReceived:
    return make_turn(user, text, label, app_id=APP, occurred_at=when)


@pytest.fixture(scope="module")
def life(stack_settings: Settings, embedder) -> Iterator[Life]:  # type: ignore[no-untyped-def]
    stores, driver = open_stores(isolated_settings(stack_settings))
    user = unique("alice-")
    ids: dict[str, str] = {}
    for label, text, when in LIFE:
        ids[label] = stores.say(turn(user, label, text, when), embedder.embed)
    # Another user who said something very close: must never surface in alice's searches.
    stores.say(turn(unique("bob-"), "bob", "I had a meeting with Sarah about the budget.", REF), embedder.embed)
    yield Life(stores, user, ids)
    driver.close()


@pytest.fixture
async def services(life: Life, embedder) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    async with search_services(life, embedder) as built:
        yield built


async def search(services: Services, life: Life, query: str, recipe: str = "hybrid", **extra: object) -> SearchResponse:
    body = SearchRequest(
        query=query,
        user_id=life.user,
        app_id=APP,
        recipe=recipe,
        reference_time=REF,
        use_cache=False,
        **extra,  # type: ignore[arg-type]
    )
    scope = Scope(APP, life.user, body.agent_id, body.run_id)
    return await (await services.view()).search.search(validate(body, scope))


def labels(life: Life, response: SearchResponse) -> list[str]:
    by_id = {v: k for k, v in life.ids.items()}
    return [by_id.get(hit.id, "FOREIGN") for hit in response.results]


async def test_sparse_finds_the_exact_name(services: Services, life: Life) -> None:
    found = await search(services, life, "meeting with Sarah", "sparse")
    assert labels(life, found)[0] == "meeting"
    assert set(found.results[0].retrievers) == {"sparse"}


async def test_dense_finds_the_meaning(services: Services, life: Life) -> None:
    found = await search(services, life, "Which hot drink do I enjoy?", "dense")
    assert labels(life, found)[0] == "coffee"  # no word in common: only the embedding can tell
    assert "FOREIGN" not in labels(life, found)


async def test_graph_follows_the_entities_the_query_names(services: Services, life: Life) -> None:
    response = await search(services, life, "What do I know about sarah?", "graph", top_k=8)
    # The graph's own ranking (the final order also weighs importance and recency).
    by_graph_rank = sorted(response.results, key=lambda h: h.retrievers["graph"])
    found = labels(life, SearchResponse(results=by_graph_rank, took_ms=0))
    assert set(found[:2]) == {"meeting", "sarah-job"}  # they mention Sarah
    # Lumen Labs, where Sarah works, is one hop further: the walk's second hop was measured and removed (issue 18)
    assert "hiring" not in found
    assert "FOREIGN" not in found


async def test_temporal_reads_last_week_as_a_range(services: Services, life: Life) -> None:
    found = await search(services, life, "What did I do last week?", "temporal")
    assert labels(life, found) == ["hiking"]
    assert found.time_range is not None and found.time_range.start == datetime(2026, 2, 16, tzinfo=UTC)


async def test_temporal_locates_the_anchor_event(services: Services, life: Life) -> None:
    found = await search(services, life, "Where did I live before the move?", "temporal", top_k=20)
    got = labels(life, found)
    assert "paris" in got
    assert not {"move", "hiking", "novel"} & set(got)  # on or after the move
    assert found.time_range is not None and found.time_range.end == datetime(2026, 2, 15, tzinfo=UTC)


async def test_hybrid_fuses_and_reports_every_retriever(services: Services, life: Life) -> None:
    found = await search(services, life, "Where did I live before the move?")
    assert labels(life, found)[0] == "paris", [(h.memory, h.retrievers, h.score) for h in found.results]
    assert {"dense", "temporal"} <= set(found.results[0].retrievers)
    scores = [h.score for h in found.results]
    assert scores == sorted(scores, reverse=True)


async def test_no_recipe_ever_shows_another_users_memory(services: Services, life: Life) -> None:
    for recipe in ("hybrid", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal"):
        found = await search(services, life, "meeting with Sarah about the budget yesterday", recipe, top_k=50)
        assert "FOREIGN" not in labels(life, found), recipe


async def test_filters_narrow_by_time_window(services: Services, life: Life) -> None:
    from api.schemas import SearchFilters

    window = SearchFilters(
        occurred_after=datetime(2026, 2, 1, tzinfo=UTC), occurred_before=datetime(2026, 2, 5, tzinfo=UTC)
    )
    found = labels(life, await search(services, life, "Sarah", "hybrid", filters=window, top_k=20))
    assert set(found) == {"meeting", "sarah-job"}


async def test_cache_serves_repeats_and_a_change_is_never_served_stale(
    services: Services,
    life: Life,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    settings = life.stores.settings
    reader = unique("reader-")  # a user of its own: this test adds a memory, the others must not see it
    life.stores.say(turn(reader, "poems", "I read a book of poems by Pessoa.", REF - timedelta(days=9)), embedder.embed)
    valid = validate(
        SearchRequest(query="Which books have I read?", user_id=reader, app_id=APP, reference_time=REF),
        Scope(APP, reader),
    )
    engine = (await services.view()).search
    first = await engine.search(valid)
    again = await engine.search(valid)
    assert not first.cache_hit and again.cache_hit
    assert [h.id for h in again.results] == [h.id for h in first.results]

    # A projector starts committing a change for this user: from this moment the cache is not read.
    epochs = CacheEpochs(Redis.from_url(settings.redis_url), settings.redis_prefix, "test-writer")
    started = epochs.begin([f"{APP}/{reader}"])
    during = await engine.search(valid)
    assert not during.cache_hit
    lisbon = turn(reader, "book", "I read a book about the history of Lisbon.", REF - timedelta(days=1))
    new_id = life.stores.say(lisbon, embedder.embed)
    epochs.finish(started)

    after = await engine.search(valid)
    assert not after.cache_hit
    assert new_id in [h.id for h in after.results]  # the old entry is unreachable: the new memory shows
    assert (await engine.search(valid)).cache_hit


async def test_an_interrupted_commit_keeps_the_scope_uncached_until_the_next_batch(
    services: Services, life: Life
) -> None:
    settings = life.stores.settings
    valid = validate(
        SearchRequest(query="coffee", user_id=life.user, app_id=APP, reference_time=REF), Scope(APP, life.user)
    )
    engine = (await services.view()).search
    epochs = CacheEpochs(Redis.from_url(settings.redis_url), settings.redis_prefix, "crashing-writer")
    epochs.begin([f"{APP}/{life.user}"])  # ... and the writer dies before finish()
    assert not (await engine.search(valid)).cache_hit
    assert not (await engine.search(valid)).cache_hit
    epochs.finish(epochs.begin([f"{APP}/{life.user}"]))  # its successor replays the batch
    await engine.search(valid)
    assert (await engine.search(valid)).cache_hit


async def test_graph_walks_from_recent_memories_only_when_the_query_points_back(services: Services, life: Life) -> None:
    pointing = await search(services, life, "What else do I know about this?", "graph", top_k=20)
    # The newest memories mention Tom, the Alps, pirates...: the walk starts from their entities.
    assert {"hiking"} <= set(labels(life, pointing)) and "FOREIGN" not in labels(life, pointing)
    # A query that does not point back walks its own topics ("live"), never the recent memories.
    assert labels(life, await search(services, life, "where do I live", "graph")) == ["paris"]


async def test_turn_positions_follow_the_order_the_turns_were_said(services: Services, life: Life) -> None:
    """Conversation support reads positions from PostgreSQL: the user's turns numbered by when they were said."""
    reader = (await services.view()).search.reader
    wanted = [life.ids[label] for label in ("novel", "paris", "move", "hiking")]
    turns = await reader.turn_positions(wanted, APP, life.user)
    # make_turn puts every turn in conversation "c" and uses the label as the turn id.
    position = {label: turns[("c", label)] for label in ("paris", "move", "hiking", "novel")}
    assert position["paris"] == 0  # the first thing alice said
    assert position["paris"] < position["move"] < position["hiking"]
    assert position["hiking"] + 1 == position["novel"]  # said one after the other
    assert await reader.turn_positions(wanted, APP, "someone-else") == {}  # scope applies


async def test_a_turn_that_made_no_memory_still_stands_between_its_neighbours(
    services: Services, life: Life, embedder  # type: ignore[no-untyped-def]
) -> None:
    """Small talk stays in the conversation log without a memory; "two turns away" still counts it, so the
    neighbours of a remembered turn are the same whichever of the turns around it were worth a memory."""
    user = unique("small-talk-")
    day = REF - timedelta(days=1)
    first = life.stores.say(turn(user, "puppy", "I adopted a puppy.", day - timedelta(minutes=3)), embedder.embed)
    chatter = turn(user, "chatter", "Aww!", day - timedelta(minutes=2))
    assert not [e for e in pipeline_events([chatter], embedder.embed) if isinstance(e, MemoryExtracted)]
    life.stores.apply([chatter])  # the PostgreSQL projector logs the turn; no memory comes of it
    second = life.stores.say(turn(user, "name", "Her name is Luna.", day - timedelta(minutes=1)), embedder.embed)
    reader = (await services.view()).search.reader
    turns = await reader.turn_positions([first, second], APP, user)
    assert turns == {("c", "puppy"): 0, ("c", "chatter"): 1, ("c", "name"): 2}


async def test_turns_said_at_one_time_are_numbered_in_log_order_not_by_turn_id(
    services: Services, life: Life, embedder  # type: ignore[no-untyped-def]
) -> None:
    """A request's messages share its occurred_at, and the API draws their turn ids at random: the log decides."""
    user = unique("same-time-")
    said = [("z-first", "I adopted a puppy."), ("m-second", "Her name is Luna."), ("a-third", "She loves the beach.")]
    ids = [life.stores.say(turn(user, label, text, REF - timedelta(days=1)), embedder.embed) for label, text in said]
    reader = (await services.view()).search.reader
    turns = await reader.turn_positions(ids, APP, user)
    assert [turns[("c", label)] for label, _ in said] == [0, 1, 2]
    rows = await reader.fetch_many(ids, APP, user)
    offsets = [rows[memory_id]["log_offset"] for memory_id in ids]
    assert offsets == sorted(offsets) and None not in offsets  # the projection wrote where each was said
    settings = life.stores.settings
    statement = "MATCH (m:Memory) WHERE m.memory_id IN $ids RETURN m.memory_id AS id, m.log_offset AS o"
    with GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password)) as driver:
        records, _, _ = driver.execute_query(
            namespaced(statement, settings.neo4j_label_prefix), ids=ids, database_=settings.neo4j_database
        )
    assert {r["id"]: r["o"] for r in records} == dict(zip(ids, offsets, strict=True))  # the graph holds them too
