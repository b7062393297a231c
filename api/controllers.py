"""HTTP controllers: thin; they declare paths and dependencies and call the services."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.schemas import AddMemoriesRequest, AddMemoriesResponse, MemoryList, MemoryOut, SearchRequest, SearchResponse
from api.services import Services
from memory.lifecycle import SEARCHABLE_BY_DEFAULT, MemoryState

DEFAULT_STATES = sorted(s.value for s in SEARCHABLE_BY_DEFAULT)
UserId = Annotated[str, QueryParameter(min_length=1, max_length=200, description="whose memories")]
AppId = Annotated[str, QueryParameter(min_length=1, max_length=200, description="the application's namespace")]
OptionalId = Annotated[str | None, QueryParameter(max_length=200)]


class MemoriesController(Controller):
    path = "/v1/memories"
    tags = ["memories"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post("/", status_code=202, summary="Add messages or text; extraction happens asynchronously")
    async def add(self, data: JSONBody[AddMemoriesRequest], services: NamedDependency[Services]) -> AddMemoriesResponse:
        return await services.writer.add(data)

    @post("/search", status_code=200, summary="Hybrid search over a user's memories")
    async def search(self, data: JSONBody[SearchRequest], services: NamedDependency[Services]) -> SearchResponse:
        return await services.search.search(data)

    @get("/{memory_id:str}", summary="One memory of a user")
    async def get_one(
        self,
        memory_id: FromPath[str],
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
    ) -> MemoryOut:
        return await services.reader.get(memory_id, app_id, user_id)

    @get("/", summary="A user's memories, newest first")
    async def list_memories(
        self,
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
        agent_id: OptionalId = None,
        run_id: OptionalId = None,
        states: Annotated[
            list[MemoryState] | None, QueryParameter(name="state", description="default: the searchable states")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> MemoryList:
        wanted = [s.value for s in states] if states else DEFAULT_STATES
        return await services.reader.list_for_user(app_id, user_id, agent_id, run_id, wanted, limit, offset)


@get("/health", tags=["ops"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


__all__ = ["MemoriesController", "health"]
