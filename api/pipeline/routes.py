"""``/v1/admin/pipeline`` and the re-drive of one dead letter: admin only, within the caller's app."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter

from adapters.dead_letters import OriginalGone
from api.errors import Conflict, Forbidden, NotFound
from api.gateway import tenancy
from api.gateway.principal import Principal, Scope
from api.log_offsets import LogOffsets
from api.openapi import error_responses
from api.pipeline.schemas import PipelineStatus, RedriveAccepted
from api.pipeline.status import letters_of, pipeline_status
from api.services import Services
from replay.deadletters import redrive

DeadLetterId = Annotated[str, PathParameter(max_length=200, description="the dead letter's id (from the pipeline)")]
ADMIN_READ = error_responses(403, 429, 503)


def require_admin(caller: Principal) -> None:
    if not tenancy.grants(caller, Scope.ADMIN):
        raise Forbidden("this credential lacks the 'admin' scope: only 'admin' sees the pipeline")


class PipelineController(Controller):
    path = "/v1/admin"
    tags = ["ops"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @get(
        "/pipeline",
        summary="Consumer lag per group and partition, projection targets, the app's dead letters",
        responses=ADMIN_READ,
    )
    async def pipeline(
        self,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        log_offsets: NamedDependency[LogOffsets],
    ) -> PipelineStatus:
        require_admin(caller)
        return await pipeline_status(services.settings, log_offsets, await services.targets(), caller.app_id)

    @post(
        "/dead-letters/{dead_letter_id:str}/redrive",
        status_code=202,
        summary="Produce a dead letter's original message again to its topic (after a fix); admin only",
        responses=error_responses(400, 403, 404, 409, 413, 415, 429, 503),
    )
    async def redrive_one(
        self, dead_letter_id: DeadLetterId, caller: NamedDependency[Principal], services: NamedDependency[Services]
    ) -> RedriveAccepted:
        require_admin(caller)
        settings = services.settings
        letters = await asyncio.to_thread(letters_of, settings, caller.app_id)
        found = [letter for _, letter in letters if letter.dead_letter_id == dead_letter_id]
        if not found:
            # Another app's letter gets the same answer as an unknown id.
            raise NotFound(f"no dead letter {dead_letter_id!r} of this app")
        try:
            (position,) = await asyncio.to_thread(redrive, settings, found)
        except OriginalGone as exc:
            raise Conflict(f"dead letter {dead_letter_id!r} cannot be re-driven: {exc}") from exc
        return RedriveAccepted(dead_letter_id, f"{position.topic}/{position.partition}@{position.offset}")
