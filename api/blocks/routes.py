"""``/v1/blocks``: a user's core memory blocks (per agent when ``agent_id`` is given). Every route authorizes
first (``api.gateway.tenancy.authorize``) and reads or writes only within the scope it answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.blocks.reader import BlockReader, block_out, shown
from api.blocks.schemas import (
    AppendBlockRequest,
    BlockHistory,
    BlockList,
    BlockOut,
    BlockWriteAccepted,
    CreateBlockRequest,
    ReplaceBlockRequest,
)
from api.blocks.writer import BlockWriter
from api.errors import NotFound
from api.gateway import tenancy
from api.gateway.principal import Principal
from api.gateway.tenancy import authorize
from api.openapi import READ, READ_ONE, WRITE_ONE, error_responses
from api.params import AppId, OptionalId, Token, UserId
from api.refusals import answered_as_http
from api.schemas import TIMESTAMP_PATTERN
from api.services import Services
from memory.blocks.rules import LABEL_PATTERN, is_default
from memory.contract.validation import EARLIEST, LATEST, InvalidInput, check_timestamp

LabelPath = Annotated[str, PathParameter(pattern=LABEL_PATTERN, max_length=64, description="the block's label")]
# A string checked against the pattern, not a datetime: Litestar would also read "88587" as epoch seconds, a value
# the published schema refuses. checked_as_of parses it once it has matched.
AsOf = Annotated[
    str | None,
    QueryParameter(
        description=f"valid time, RFC 3339 with a time zone ('Z' or '+02:00'), between {EARLIEST.isoformat()} and"
        f" {LATEST.isoformat()}: the blocks as they were then",
        pattern=TIMESTAMP_PATTERN,
        schema_extra={"format": "date-time"},
    ),
]
# Writes: 404 unknown label, 409 a conflict with the block, 422 over its limit.
BLOCK_WRITE = {**WRITE_ONE, **error_responses(409, 422)}
IDEMPOTENT = {"idempotent": True}  # honoured by the Idempotency-Key middleware


def not_found(label: str) -> NotFound:
    return NotFound(f"core memory block {label!r} does not exist")


def checked_as_of(as_of: str | None) -> datetime | None:
    """The timestamp the pattern let through, parsed; a 400 naming as_of and the rule when it is out of range."""
    if as_of is None:
        return None
    with answered_as_http():
        try:
            when = datetime.fromisoformat(as_of.upper())
        except ValueError:  # the pattern's shape, not a real date: 2026-02-30
            raise InvalidInput("as_of", f"{as_of!r} is not a date and time that exists") from None
        check_timestamp(when, "as_of")
    return when


async def _reader(services: Services) -> BlockReader:
    return BlockReader((await services.view()).pool)


async def _writer(services: Services) -> BlockWriter:
    return BlockWriter(await _reader(services), services.commands, services.consistency)


class BlocksController(Controller):
    path = "/v1/blocks"
    tags = ["blocks"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @get("/", summary="A user's core memory blocks: persona, human, then the others by label", responses=READ)
    async def list_blocks(
        self,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
        as_of: AsOf = None,
        consistency_token: Token = None,
    ) -> BlockList:
        scope = authorize(caller, tenancy.READ, app_id, user_id, agent_id)
        when = checked_as_of(as_of)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        rows = await (await _reader(services)).rows(scope, as_of=when)
        return BlockList(blocks=shown(scope, rows))

    @get("/{label:str}", summary="One core memory block", responses=READ_ONE)
    async def get_block(
        self,
        label: LabelPath,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
        as_of: AsOf = None,
        consistency_token: Token = None,
    ) -> BlockOut:
        scope = authorize(caller, tenancy.READ, app_id, user_id, agent_id)
        when = checked_as_of(as_of)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        row = (await (await _reader(services)).rows(scope, label, when)).get(label)
        if not is_default(label) and (row is None or not row.written):
            raise not_found(label)
        return block_out(scope, label, row)

    @get(
        "/{label:str}/history", summary="Every change of a block, and every refused edit, oldest first", responses=READ
    )
    async def history(
        self,
        label: LabelPath,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
        consistency_token: Token = None,
    ) -> BlockHistory:
        scope = authorize(caller, tenancy.READ, app_id, user_id, agent_id)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        return await (await _reader(services)).history(scope, label)

    @post("/", status_code=202, summary="Create a block; applied asynchronously", responses=BLOCK_WRITE, opt=IDEMPOTENT)
    async def create(
        self,
        data: JSONBody[CreateBlockRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> BlockWriteAccepted:
        scope = authorize(caller, tenancy.WRITE, data.app_id, data.user_id, data.agent_id)
        return await (await _writer(services)).create(scope, data.label, data.value, data.limit)

    @post(
        "/{label:str}/append",
        status_code=202,
        summary="Append to a block (a newline between)",
        responses=BLOCK_WRITE,
        opt=IDEMPOTENT,
    )
    async def append(
        self,
        label: LabelPath,
        data: JSONBody[AppendBlockRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> BlockWriteAccepted:
        scope = authorize(caller, tenancy.WRITE, data.app_id, data.user_id, data.agent_id)
        return await (await _writer(services)).append(scope, label, data.content)

    @post(
        "/{label:str}/replace",
        status_code=202,
        summary="Replace every occurrence of old text in a block",
        responses=BLOCK_WRITE,
        opt=IDEMPOTENT,
    )
    async def replace(
        self,
        label: LabelPath,
        data: JSONBody[ReplaceBlockRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> BlockWriteAccepted:
        scope = authorize(caller, tenancy.WRITE, data.app_id, data.user_id, data.agent_id)
        return await (await _writer(services)).replace(scope, label, data.old, data.new)

    @delete(
        "/{label:str}",
        status_code=202,
        summary="Delete a block (persona and human: empty them)",
        responses=BLOCK_WRITE,
        opt=IDEMPOTENT,
    )
    async def delete_block(
        self,
        label: LabelPath,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
    ) -> BlockWriteAccepted:
        scope = authorize(caller, tenancy.WRITE, app_id, user_id, agent_id)
        return await (await _writer(services)).delete(scope, label)


__all__ = ["BlocksController"]
