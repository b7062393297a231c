"""The temporal reader's new forms through the API's own search, against the real stores.

A small dated life is projected with the real projectors; searches run in process through
``api.services.build_services``, like tests/integration/test_retrieval.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.schemas import SearchRequest, SearchResponse
from api.search import validate
from api.services import Services
from memory.contract.events import Scope
from memory.settings import Settings
from tests.integration.projected_life import Life, open_stores, search_services
from tests.support import isolated_settings, make_turn, unique

REF = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # a Sunday; 12:00 the same day in UTC-8
PACIFIC = timezone(timedelta(hours=-8))
APP = "temporal-forms"
LIFE = [
    ("paris", "I live in Paris with my sister Nora.", datetime(2026, 1, 10, tzinfo=UTC)),
    ("meeting", "I had a long meeting with Sarah about the Apollo roadmap.", datetime(2026, 2, 3, tzinfo=UTC)),
    ("sarah-job", "Sarah works at Lumen Labs in Lisbon.", datetime(2026, 2, 4, tzinfo=UTC)),
    ("hiring", "Lumen Labs is hiring three data engineers.", datetime(2026, 2, 10, tzinfo=UTC)),
    ("hiking", "I went hiking in the Alps with Tom.", datetime(2026, 2, 18, tzinfo=UTC)),
    ("novel", "I finished reading a novel about pirates.", datetime(2026, 2, 27, tzinfo=UTC)),
    # 09:00 in UTC-8 on the reference day: morning there, evening in UTC.
    ("run", "I ran ten kilometres along the river.", datetime(2026, 3, 1, 17, 0, tzinfo=UTC)),
]


@pytest.fixture(scope="module")
def life(stack_settings: Settings, embedder) -> Iterator[Life]:  # type: ignore[no-untyped-def]
    stores, driver = open_stores(isolated_settings(stack_settings))
    user = unique("dana-")
    ids = {
        label: stores.say(make_turn(user, text, label, app_id=APP, occurred_at=when), embedder.embed)
        for label, text, when in LIFE
    }
    yield Life(stores, user, ids)
    driver.close()


@pytest.fixture
async def services(life: Life, embedder) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    async with search_services(life, embedder) as built:
        yield built


async def search(
    services: Services, life: Life, query: str, recipe: str = "hybrid", reference: datetime = REF
) -> SearchResponse:
    body = SearchRequest(
        query=query, user_id=life.user, app_id=APP, recipe=recipe, reference_time=reference, use_cache=False
    )
    return await (await services.view()).search.search(validate(body, Scope(APP, life.user)))


def labels(life: Life, response: SearchResponse) -> list[str]:
    by_id = {v: k for k, v in life.ids.items()}
    return [by_id[hit.id] for hit in response.results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What did I do on February 18th?", "hiking"),
        ("What happened on the third of February?", "meeting"),
        ("what did I do on 2/27", "novel"),
    ],
)
async def test_a_date_without_a_year_scopes_the_search_to_that_day(
    services: Services, life: Life, query: str, expected: str
) -> None:
    found = await search(services, life, query)
    assert labels(life, found)[0] == expected
    assert found.time_range is not None and found.time_range.start is not None
    assert found.time_range.start.year == 2026


async def test_a_span_holds_what_lies_between_its_ends(services: Services, life: Life) -> None:
    found = await search(services, life, "what happened between February 3rd and February 10th?", "temporal")
    assert set(labels(life, found)) == {"meeting", "sarah-job", "hiring"}


async def test_this_morning_is_the_askers_morning(services: Services, life: Life) -> None:
    asked_there = REF.astimezone(PACIFIC)  # the same instant, with the asker's offset
    found = await search(services, life, "what did I do this morning?", "temporal", reference=asked_there)
    assert labels(life, found) == ["run"]
    in_utc = await search(services, life, "what did I do this morning?", "temporal")
    assert "run" not in labels(life, in_utc)  # 17:00 UTC is no morning in UTC


async def test_a_vague_time_does_not_cut_out_the_answer_just_outside_it(services: Services, life: Life) -> None:
    # "a few days ago" from March 1st reaches back to February 19th; the hike was on the 18th.
    found = await search(services, life, "Who did I go hiking with a few days ago?")
    assert found.time_range is not None and found.time_range.start == datetime(2026, 2, 19, tzinfo=UTC)
    assert labels(life, found)[0] == "hiking"
