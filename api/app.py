"""The Litestar read/write API. Clients (pool, producer, Milvus, embedder) are built once at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.types import Middleware

from adapters.log_offsets import LogOffsets
from adapters.settings_loader import load_settings
from api import schemas
from api.allow import allow_every_method
from api.blocks import schemas as block_schemas
from api.blocks.routes import BlocksController
from api.controllers import ContextController, MemoriesController, health
from api.conversations import schemas as conversation_schemas
from api.conversations.routes import ConversationsController, SessionsController
from api.cors import cors_config
from api.docs import assets_router, openapi_config
from api.erasure.desk import DESK_STATE_KEY, ErasureDesk
from api.erasure.routes import ErasuresController
from api.errors import EXCEPTION_HANDLERS
from api.gateway import key_schemas
from api.gateway.admin_keys import KeysController
from api.gateway.authenticate import PUBLIC_PATHS, authentication, refuse_exposure_without_authentication
from api.gateway.credentials import Credentials, build_credentials
from api.gateway.rate_limit import rate_limiting
from api.gateway.tenancy import caller
from api.idempotency.middleware import IdempotencyMiddleware
from api.idempotency.openapi import state_idempotency_key
from api.idempotency.store import IdempotencyStore
from api.json_body import JsonBodyRequest
from api.json_only import json_only
from api.metrics import metrics, time_request
from api.openapi import state_bearer_security, state_body_rules, state_metadata_filter, state_user_required
from api.pipeline import schemas as pipeline_schemas
from api.pipeline.letter_cache import DeadLetterCache
from api.pipeline.routes import PipelineController
from api.readiness import ready, warm_up
from api.request_ids import RequestIds
from api.services import Services, build_services
from api.tools import schemas as tool_schemas
from api.tools.routes import ToolsController
from api.ui.routes import ui_router, whoami
from memory.settings import Settings

MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    resolved = settings or load_settings()
    refuse_exposure_without_authentication(resolved)
    credentials = build_credentials(resolved)
    holder: dict[str, Services] = {}
    idempotency = IdempotencyStore(resolved.postgres_dsn)  # the live schema, like api_keys

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await credentials.start()
        try:
            holder["services"] = await build_services(resolved)
            # The query model loads on first use: start now, beside serving, so /ready turns 200 without a search.
            warming = asyncio.create_task(asyncio.to_thread(warm_up, holder["services"]))
            app.state[DESK_STATE_KEY] = await ErasureDesk.open(resolved)
            await idempotency.open()
            try:
                yield
            finally:
                await asyncio.gather(warming, return_exceptions=True)  # a failed load is /ready's to report
                await idempotency.close()
                await holder["services"].close()
        finally:
            await credentials.close()

    async def provide_services() -> Services:
        return holder["services"]

    async def provide_credentials() -> Credentials:
        return credentials

    # One Kafka admin client for the pipeline page's offsets, made on its first request (most processes never
    # get one).
    offsets: list[LogOffsets] = []

    async def provide_log_offsets() -> LogOffsets:
        if not offsets:
            offsets.append(LogOffsets(resolved))
        return offsets[0]

    # The dead letters read so far, kept between the pipeline page's requests (api/pipeline/letter_cache.py).
    dead_letters = DeadLetterCache(resolved)

    async def provide_dead_letters() -> DeadLetterCache:
        return dead_letters

    # Authentication first: the rate limiter counts the principal it set (and is absent when it is off); then
    # idempotency keys, which belong to that principal, for requests the limiter let through. The request's id
    # and the timer wrap the whole app (observed, below).
    middleware: list[Middleware] = [authentication(resolved, credentials.verifiers, docs_public=resolved.docs_public)]
    limiter = rate_limiting(resolved)
    if limiter is not None:
        middleware.append(limiter)
    middleware.append(IdempotencyMiddleware(idempotency, MAX_BODY_BYTES))

    app = Litestar(
        route_handlers=[
            MemoriesController,
            ContextController,
            ConversationsController,
            SessionsController,
            ToolsController,
            BlocksController,
            KeysController,
            ErasuresController,
            PipelineController,
            health,
            ready,
            *([metrics] if resolved.metrics_enabled else []),
            assets_router(),
            whoami,
            ui_router(),
        ],
        # ``caller``: the verified principal, which every memory route hands to api.gateway.tenancy.authorize first.
        dependencies={
            "services": Provide(provide_services),
            "credentials": Provide(provide_credentials),
            "log_offsets": Provide(provide_log_offsets),
            "dead_letters": Provide(provide_dead_letters),
            "caller": Provide(caller, sync_to_thread=False),
        },
        guards=[json_only],  # writes take application/json only (415): no cross-site form can write
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(title="memstream", version="0.1.0"),  # its pages' assets: assets_router
        middleware=middleware,
        cors_config=cors_config(resolved.cors_origins),  # None (closed) unless origins are configured
        request_class=JsonBodyRequest,  # a body nested too deeply, or of the wrong types, is a 400
        before_send=[allow_every_method],  # OPTIONS lists every method of the path
    )
    body_modules = (schemas, key_schemas, conversation_schemas, tool_schemas, block_schemas, pipeline_schemas)
    state_body_rules(app.openapi_schema, resolved.max_content_chars, body_modules=body_modules)
    state_user_required(app.openapi_schema)
    state_metadata_filter(app.openapi_schema)
    state_idempotency_key(app.openapi_schema, app)
    if resolved.auth_enabled:
        state_bearer_security(app.openapi_schema, public_paths=PUBLIC_PATHS)
    observed(app, resolved.metrics_enabled, resolved.process_instance)
    return app


def observed(app: Litestar, metrics_enabled: bool, instance: str = "") -> None:
    """Wrap the app's whole ASGI handler (the router inside Litestar's outermost exception handler, and CORS) in the
    request id, which with metrics on also times each request.

    *Why not as Litestar middleware*: a route's middleware runs only once a route matched, and what it raises (the
    gateway's 401, 403 and 429) is answered by the exception handler outside it. From out here every answer, 404s
    for unknown paths and refusals included, is timed with its status and carries ``X-Request-Id``."""
    app.asgi_handler = RequestIds(app.asgi_handler, time_request if metrics_enabled else None, instance)
