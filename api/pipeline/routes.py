"""``/v1/admin/pipeline`` and the re-drive of dead letters: admin only, within the caller's app."""

from __future__ import annotations

import asyncio

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.dead_letters import OriginalGone
from adapters.log_offsets import LogOffsets
from api.errors import Conflict, Forbidden, NotFound
from api.gateway import tenancy
from api.gateway.principal import Principal, Scope
from api.openapi import error_responses
from api.pipeline.letter_cache import DeadLetterCache
from api.pipeline.schemas import PipelineStatus, RedriveAccepted, Redriven, RedriveRequest
from api.pipeline.status import letters_of, pipeline_status
from api.services import Services
from replay.deadletters import redrive

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
        dead_letters: NamedDependency[DeadLetterCache],
    ) -> PipelineStatus:
        require_admin(caller)
        targets = await services.targets()
        return await pipeline_status(services.settings, log_offsets, dead_letters, targets, caller.app_id)

    @post(
        "/dead-letters/redrive",
        status_code=202,
        summary="Produce dead letters' original messages again to their topics (after a fix); admin only",
        responses=error_responses(400, 403, 404, 409, 413, 415, 429, 503),
    )
    async def redrive_letters(
        self,
        data: JSONBody[RedriveRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        dead_letters: NamedDependency[DeadLetterCache],
    ) -> RedriveAccepted:
        require_admin(caller)
        settings = services.settings
        found = await asyncio.to_thread(letters_of, dead_letters, caller.app_id)
        letters = {letter.dead_letter_id: letter for _, letter in found}
        wanted = list(dict.fromkeys(data.dead_letter_ids))  # each once, in the order asked
        missing = [i for i in wanted if i not in letters]
        if missing:
            # Nothing is produced unless every id is found; another app's letter gets the same answer as an unknown id.
            # Any string is an id to look for (an unknown one is a 404); the answer quotes each at most 80 characters.
            named = ", ".join(repr(i[:80]) for i in missing[:5])
            raise NotFound(f"{len(missing)} of the ids name no dead letter of this app: {named}")
        try:
            positions = await asyncio.to_thread(redrive, settings, [letters[i] for i in wanted])
        except OriginalGone as exc:
            raise Conflict(f"cannot re-drive: {exc}") from exc
        return RedriveAccepted(
            [Redriven(i, f"{p.topic}/{p.partition}@{p.offset}") for i, p in zip(wanted, positions, strict=True)]
        )
