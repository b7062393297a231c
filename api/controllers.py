"""HTTP controllers: thin; they declare paths and dependencies and call the services."""

from __future__ import annotations

import asyncio
from typing import Annotated

import psycopg
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from api.blocks.reader import BlockReader, shown
from api.context import ContextBuilder
from api.erasure.desk import ErasureDesk
from api.erasure.routes import ERASURES
from api.erasure.schemas import ErasureAccepted
from api.errors import InvalidRequest, NotFound
from api.filters import states_named
from api.gateway import tenancy
from api.gateway.principal import Principal
from api.gateway.tenancy import authorize
from api.openapi import READ, READ_ONE, WRITE, WRITE_ONE
from api.params import (
    AppId,
    IncludeSuperseded,
    Kind,
    MemoryId,
    MetadataFilter,
    OccurredAfter,
    OccurredBefore,
    OptionalId,
    Pinned,
    TextContains,
    Token,
    UserId,
    metadata_filter,
    text_filter,
    time_bound,
)
from api.reader import ListFilter, not_found
from api.refusals import answered_as_http
from api.schemas import (
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
from memory.contract.validation import check_text
from memory.lifecycle.machine import SEARCHABLE_BY_DEFAULT
from memory.retrieval.context_budget import CoreBlockItem
from replay.audit import Lineage, NotFoundError, Owner, lineage

DEFAULT_STATES = sorted(s.value for s in SEARCHABLE_BY_DEFAULT)
# Far beyond any list a person pages through; PostgreSQL's OFFSET is a bigint, a query's integer is not bounded.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 500


class MemoriesController(Controller):
    """Each route first asks ``authorize`` whether the caller may act in the request's scope, then works only
    within the scope it answers: nothing is read, waited for or written before that."""

    path = "/v1/memories"
    tags = ["memories"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post(
        "/",
        status_code=202,
        summary="Add messages or text; extraction happens asynchronously",
        responses=WRITE,
        opt={"idempotent": True},  # Idempotency-Key (api/idempotency): a retried add never adds twice
    )
    async def add(
        self,
        data: JSONBody[AddMemoriesRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> AddMemoriesResponse:
        scope = authorize(caller, tenancy.WRITE, data.app_id, data.user_id, data.agent_id, data.run_id)
        return await services.writer.add(data, scope)

    @post("/search", status_code=200, summary="Hybrid search over a user's memories", responses=WRITE)
    async def search(
        self, data: JSONBody[SearchRequest], caller: NamedDependency[Principal], services: NamedDependency[Services]
    ) -> SearchResponse:
        scope = authorize(caller, tenancy.READ, data.app_id, data.user_id, data.agent_id, data.run_id)
        valid = validate(data, scope)  # the one validation: bad input is a 400 before any waiting
        if data.consistency_token:
            await services.consistency.wait(data.consistency_token)
        view = await services.view()
        return await view.search.search(valid)

    @get("/{memory_id:str}", summary="One memory of a user", responses=READ_ONE)
    async def get_one(
        self,
        memory_id: MemoryId,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        consistency_token: Token = None,
    ) -> MemoryOut:
        scope = authorize(caller, tenancy.READ, app_id, user_id)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        return await (await services.view()).reader.get(memory_id, scope.app_id, scope.user_id)

    @get("/{memory_id:str}/lineage", summary="The chain of events that made this memory what it is", responses=READ_ONE)
    async def lineage(
        self,
        memory_id: MemoryId,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
    ) -> Lineage:
        scope = authorize(caller, tenancy.READ, app_id, user_id)
        view = await services.view()

        def read() -> Lineage:
            with psycopg.connect(view.dsn) as conn:
                return lineage(conn, memory_id, Owner(scope.app_id, scope.user_id))

        try:
            found = await asyncio.to_thread(read)
        except NotFoundError as exc:
            # The reader's words exactly: another user's id and an unknown id get the same answer.
            raise NotFound(not_found(memory_id, scope.user_id)) from exc
        return found

    @get(
        "/{memory_id:str}/history",
        summary="Every state and text change of a memory, with valid and known time",
        responses=READ_ONE,
    )
    async def history(
        self,
        memory_id: MemoryId,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        consistency_token: Token = None,
    ) -> MemoryHistory:
        scope = authorize(caller, tenancy.READ, app_id, user_id)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        return await (await services.view()).reader.history(memory_id, scope.app_id, scope.user_id)

    @put(
        "/{memory_id:str}",
        status_code=202,
        summary="Correct a memory's text and/or pin it; applied asynchronously",
        responses=WRITE_ONE,
    )
    async def update(
        self,
        memory_id: MemoryId,
        data: JSONBody[UpdateMemoryRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> CommandAccepted:
        scope = authorize(caller, tenancy.WRITE, data.app_id, data.user_id)
        if data.text is None and data.pinned is None:
            raise InvalidRequest("give 'text', 'pinned' or both")
        if data.text is not None:
            with answered_as_http():
                check_text(data.text, "text", services.settings.max_content_chars)
        await (await services.view()).reader.get(memory_id, scope.app_id, scope.user_id)  # 404 before producing
        commands: list[tuple[str, str | None, str | None]] = []
        if data.text is not None:
            commands.append(("update", memory_id, data.text))
        if data.pinned is not None:
            commands.append(("pin" if data.pinned else "unpin", memory_id, None))
        return await services.commands.issue(scope, commands)

    @delete(
        "/{memory_id:str}",
        status_code=202,
        summary="Forget one memory everywhere; applied asynchronously",
        responses=WRITE_ONE,
    )
    async def delete_one(
        self,
        memory_id: MemoryId,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
    ) -> CommandAccepted:
        scope = authorize(caller, tenancy.WRITE, app_id, user_id)
        await (await services.view()).reader.get(memory_id, scope.app_id, scope.user_id)  # 404: nothing of another user
        return await services.commands.issue(scope, [("delete", memory_id, None)])

    @delete(
        "/",
        status_code=202,
        summary="Erase everything of one user in every store (admin only); erasure_id names the receipt",
        responses=WRITE,
        dependencies=ERASURES,
    )
    async def erase_user(
        self,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        erasures: NamedDependency[ErasureDesk],
        user_id: UserId = None,
        app_id: AppId = None,
    ) -> ErasureAccepted:
        scope = authorize(caller, tenancy.ADMIN, app_id, user_id)
        accepted = await services.commands.issue(scope, [("erase_user", None, None)])
        return await erasures.record(scope.app_id, scope.user_id, accepted)  # its erasure_id names the receipt

    @get("/", summary="A user's memories, newest first", responses=READ)
    async def list_memories(
        self,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
        run_id: OptionalId = None,
        # Names, not the state enum: the seed's retired names ("accessed", "embedding") are read as the states
        # they stand for (memory.lifecycle.machine.RETIRED_STATE_NAMES).
        states: Annotated[
            list[StateName] | None,
            QueryParameter(
                name="state",
                description="default: the searchable states (active, decaying, and consolidating until their summary"
                " is); archived to see consolidated originals. A forgotten memory is deleted (only its tombstone"
                " stays), so it is never listed",
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        metadata: MetadataFilter = None,
        kind: Kind = None,
        text_contains: TextContains = None,
        pinned: Pinned = None,
        occurred_after: OccurredAfter = None,
        occurred_before: OccurredBefore = None,
        include_superseded: IncludeSuperseded = False,
        consistency_token: Token = None,
    ) -> MemoryList:
        scope = authorize(caller, tenancy.READ, app_id, user_id, agent_id, run_id)
        # Every refusal (400) comes before any wait on the consistency token.
        wanted = sorted(set(states_named(list(states), "state"))) if states else DEFAULT_STATES
        narrowed = ListFilter(
            metadata=metadata_filter(metadata),
            kind=kind,
            text_contains=text_filter(text_contains),
            pinned=pinned,
            occurred_after=time_bound(occurred_after, "occurred_after"),
            occurred_before=time_bound(occurred_before, "occurred_before"),
            include_superseded=include_superseded,
        )
        if consistency_token:
            await services.consistency.wait(consistency_token)
        reader = (await services.view()).reader
        return await reader.list_for_user(
            scope.app_id, scope.user_id, scope.agent_id, scope.run_id, wanted, limit, offset, narrowed
        )


class ContextController(Controller):
    path = "/v1/context"
    tags = ["context"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post(
        "/",
        status_code=200,
        summary="Prompt-ready <user_memories> block (after <core_memory> with include_blocks) within a token budget",
        responses=WRITE,
    )
    async def context(
        self, data: JSONBody[ContextRequest], caller: NamedDependency[Principal], services: NamedDependency[Services]
    ) -> ContextResponse:
        scope = authorize(caller, tenancy.READ, data.app_id, data.user_id, data.agent_id, data.run_id)
        ContextBuilder.validate(data)
        search = validate(ContextBuilder.search_request(data), scope)
        if data.consistency_token:
            await services.consistency.wait(data.consistency_token)
        view = await services.view()
        found = await view.search.search(search)
        blocks: list[CoreBlockItem] = []
        if data.include_blocks:
            rows = await BlockReader(view.pool).rows(scope, as_of=data.as_of)
            blocks = [CoreBlockItem(b.label, b.value) for b in shown(scope, rows) if b.value]
        return services.context.build(data, found, blocks)


@get("/health", tags=["ops"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


__all__ = ["ContextController", "MemoriesController", "health"]
