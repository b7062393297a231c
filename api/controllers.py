"""HTTP controllers: thin; they declare paths and dependencies and call the services."""

from __future__ import annotations

import asyncio
from typing import Annotated

import psycopg
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.context import ContextBuilder
from api.erasure.desk import ErasureDesk
from api.erasure.routes import ERASURES
from api.erasure.schemas import ErasureAccepted
from api.errors import InvalidRequest, NotFound
from api.filters import states_named
from api.openapi import READ, READ_ONE, WRITE, WRITE_ONE
from api.refusals import answered_as_http
from api.schemas import (
    TOKEN_PATTERN,
    AddMemoriesRequest,
    AddMemoriesResponse,
    CommandAccepted,
    ContextRequest,
    ContextResponse,
    MemoryHistory,
    MemoryList,
    MemoryOut,
    SearchRequest,
    SearchResponse,
    StateName,
    UpdateMemoryRequest,
)
from api.search import validate
from api.services import Services
from memory.contract.events import Scope
from memory.contract.positions import MAX_TOKEN_CHARS
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS, check_text
from memory.lifecycle.machine import SEARCHABLE_BY_DEFAULT
from replay.audit import Lineage, NotFoundError, lineage

DEFAULT_STATES = sorted(s.value for s in SEARCHABLE_BY_DEFAULT)
# Ids in the query and the path follow memory.contract.validation's rule, as in bodies (a 400 naming the parameter).
UserId = Annotated[
    str, QueryParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="whose memories")
]
AppId = Annotated[
    str,
    QueryParameter(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="the application's namespace"
    ),
]
OptionalId = Annotated[str | None, QueryParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
MemoryId = Annotated[str, PathParameter(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
# The token's shape is stated, not enforced here: memory.contract.positions refuses a bad one with the reason.
Token = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_TOKEN_CHARS,
        description="from a write: wait until it is applied",
        schema_extra={"pattern": TOKEN_PATTERN},
    ),
]
# Far beyond any list a person pages through; PostgreSQL's OFFSET is a bigint, a query's integer is not bounded.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 500


class MemoriesController(Controller):
    path = "/v1/memories"
    tags = ["memories"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post("/", status_code=202, summary="Add messages or text; extraction happens asynchronously", responses=WRITE)
    async def add(self, data: JSONBody[AddMemoriesRequest], services: NamedDependency[Services]) -> AddMemoriesResponse:
        return await services.writer.add(data)

    @post("/search", status_code=200, summary="Hybrid search over a user's memories", responses=WRITE)
    async def search(self, data: JSONBody[SearchRequest], services: NamedDependency[Services]) -> SearchResponse:
        valid = validate(data)  # the one validation: bad input is a 400 before any waiting
        if data.consistency_token:
            await services.consistency.wait(data.consistency_token)
        view = await services.view()
        return await view.search.search(valid)

    @get("/{memory_id:str}", summary="One memory of a user", responses=READ_ONE)
    async def get_one(
        self,
        memory_id: MemoryId,
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
        consistency_token: Token = None,
    ) -> MemoryOut:
        if consistency_token:
            await services.consistency.wait(consistency_token)
        return await (await services.view()).reader.get(memory_id, app_id, user_id)

    @get("/{memory_id:str}/lineage", summary="The chain of events that made this memory what it is", responses=READ_ONE)
    async def lineage(
        self,
        memory_id: MemoryId,
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
    ) -> Lineage:
        view = await services.view()

        def read() -> Lineage:
            with psycopg.connect(view.dsn) as conn:
                return lineage(conn, memory_id, app_id, user_id)

        try:
            found = await asyncio.to_thread(read)
        except NotFoundError as exc:
            raise NotFound(f"memory {memory_id} not found for user {user_id}") from exc
        return found

    @get(
        "/{memory_id:str}/history",
        summary="Every state and text change of a memory, with valid and known time",
        responses=READ_ONE,
    )
    async def history(
        self,
        memory_id: MemoryId,
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
        consistency_token: Token = None,
    ) -> MemoryHistory:
        if consistency_token:
            await services.consistency.wait(consistency_token)
        return await (await services.view()).reader.history(memory_id, app_id, user_id)

    @put(
        "/{memory_id:str}",
        status_code=202,
        summary="Correct a memory's text and/or pin it; applied asynchronously",
        responses=WRITE_ONE,
    )
    async def update(
        self, memory_id: MemoryId, data: JSONBody[UpdateMemoryRequest], services: NamedDependency[Services]
    ) -> CommandAccepted:
        if data.text is None and data.pinned is None:
            raise InvalidRequest("give 'text', 'pinned' or both")
        if data.text is not None:
            with answered_as_http():
                check_text(data.text, "text", services.settings.max_content_chars)
        await (await services.view()).reader.get(memory_id, data.app_id, data.user_id)  # 404 before producing
        commands: list[tuple[str, str | None, str | None]] = []
        if data.text is not None:
            commands.append(("update", memory_id, data.text))
        if data.pinned is not None:
            commands.append(("pin" if data.pinned else "unpin", memory_id, None))
        return await services.commands.issue(Scope(data.app_id, data.user_id), commands)

    @delete(
        "/{memory_id:str}",
        status_code=202,
        summary="Forget one memory everywhere; applied asynchronously",
        responses=WRITE_ONE,
    )
    async def delete_one(
        self, memory_id: MemoryId, user_id: UserId, services: NamedDependency[Services], app_id: AppId = "default"
    ) -> CommandAccepted:
        await (await services.view()).reader.get(memory_id, app_id, user_id)  # 404: nothing of another user
        return await services.commands.issue(Scope(app_id, user_id), [("delete", memory_id, None)])

    @delete(
        "/",
        status_code=202,
        summary="Erase everything of one user in every store; erasure_id names the receipt (GET /v1/erasures)",
        responses=WRITE,
        dependencies=ERASURES,
    )
    async def erase_user(
        self,
        user_id: UserId,
        services: NamedDependency[Services],
        erasures: NamedDependency[ErasureDesk],
        app_id: AppId = "default",
    ) -> ErasureAccepted:
        accepted = await services.commands.issue(Scope(app_id, user_id), [("erase_user", None, None)])
        return await erasures.record(app_id, user_id, accepted)  # its erasure_id names the receipt

    @get("/", summary="A user's memories, newest first", responses=READ)
    async def list_memories(
        self,
        user_id: UserId,
        services: NamedDependency[Services],
        app_id: AppId = "default",
        agent_id: OptionalId = None,
        run_id: OptionalId = None,
        # Names, not the state enum: the seed's retired names ("accessed", "embedding") are read as the states
        # they stand for (memory.lifecycle.machine.RETIRED_STATE_NAMES).
        states: Annotated[
            list[StateName] | None, QueryParameter(name="state", description="default: the searchable states")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        consistency_token: Token = None,
    ) -> MemoryList:
        wanted = sorted(set(states_named(list(states), "state"))) if states else DEFAULT_STATES  # a 400 before any wait
        if consistency_token:
            await services.consistency.wait(consistency_token)
        reader = (await services.view()).reader
        return await reader.list_for_user(app_id, user_id, agent_id, run_id, wanted, limit, offset)


class ContextController(Controller):
    path = "/v1/context"
    tags = ["context"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post("/", status_code=200, summary="Prompt-ready <user_memories> block within a token budget", responses=WRITE)
    async def context(self, data: JSONBody[ContextRequest], services: NamedDependency[Services]) -> ContextResponse:
        ContextBuilder.validate(data)
        search = validate(ContextBuilder.search_request(data))
        if data.consistency_token:
            await services.consistency.wait(data.consistency_token)
        found = await (await services.view()).search.search(search)
        return services.context.build(data, found)


@get("/health", tags=["ops"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


__all__ = ["ContextController", "MemoriesController", "health"]
