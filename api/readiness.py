"""``GET /ready``: whether this process can serve requests now, for load balancers and readiness probes.

``/health`` stays liveness (the process answers at all: restart it when it does not). ``/ready`` asks every
store the API talks to for a round trip, all at once, each bounded by a short timeout, so a probe answers
within about that timeout even when a store hangs: 200 when all answer, else 503 naming the ones that did not
(a load balancer stops routing to this replica; nothing restarts it). The answer names stores only: the
reason, which may carry an address, goes to the log, since the route is public.

Besides the stores, ``embedding_model``: the query embedder embeds a word within the same timeout. The local model
loads on first use; the API starts loading it in the background as it starts (``warm_up``), so ``/health`` answers
at once while ``/ready`` stays 503 until the model can embed a query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from api.services import Services

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0
STORES = ("kafka", "postgres", "neo4j", "redis", "milvus")
MODELS = ("embedding_model",)
CHECKS = (*STORES, *MODELS)
WARM_UP_TEXT = "ready"

Check = Literal["ok", "unreachable"]


@dataclass(frozen=True)
class Readiness:
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]  # store or model -> ok | unreachable, for every one in CHECKS
    unavailable: list[str]  # the stores (and models) that did not answer in time, sorted


async def _postgres(services: Services) -> None:
    view = await services.view()  # the pool of the target reads are served from now
    async with view.pool.connection(timeout=PROBE_TIMEOUT_SECONDS) as conn:
        await conn.execute("SELECT 1")


async def _neo4j(services: Services) -> None:
    await services.graph.verify_connectivity()


async def _redis(services: Services) -> None:
    await services.cache.ping()


async def _milvus(services: Services) -> None:
    collection = services.settings.milvus_collection
    await asyncio.to_thread(services.milvus.has_collection, collection, timeout=PROBE_TIMEOUT_SECONDS)


async def _kafka(services: Services) -> None:
    await asyncio.to_thread(services.producer.reachable, PROBE_TIMEOUT_SECONDS)


async def _embedding_model(services: Services) -> None:
    await asyncio.to_thread(warm_up, services)


def warm_up(services: Services) -> None:
    """Embed one word: loads the local model the first time (a second or so), a few milliseconds afterwards."""
    services.embedder.embed([WARM_UP_TEXT])


PROBES: dict[str, Callable[[Services], Awaitable[None]]] = {
    "kafka": _kafka,
    "postgres": _postgres,
    "neo4j": _neo4j,
    "redis": _redis,
    "milvus": _milvus,
    "embedding_model": _embedding_model,
}


async def _answers(name: str, services: Services) -> Check:
    try:
        await asyncio.wait_for(PROBES[name](services), PROBE_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure (timeout, refused, auth) means: do not route requests here now
        log.warning("readiness: %s did not answer (%s: %s)", name, type(exc).__name__, exc)
        return "unreachable"
    return "ok"


async def readiness(services: Services) -> Readiness:
    results = await asyncio.gather(*(_answers(name, services) for name in CHECKS))
    checks = dict(zip(CHECKS, results, strict=True))
    unavailable = sorted(name for name, check in checks.items() if check != "ok")
    return Readiness("not ready" if unavailable else "ready", checks, unavailable)


@get(
    "/ready",
    tags=["ops"],
    summary="Readiness: 200 when every store answers within a short timeout, else 503 naming those that do not",
    responses={503: ResponseSpec(Readiness, description="A store did not answer: do not route requests here.")},
)
async def ready(services: NamedDependency[Services]) -> Response[Readiness]:
    report = await readiness(services)
    return Response(report, status_code=200 if not report.unavailable else 503)


__all__ = ["CHECKS", "MODELS", "PROBE_TIMEOUT_SECONDS", "STORES", "Readiness", "readiness", "ready", "warm_up"]
