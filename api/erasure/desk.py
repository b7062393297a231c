"""Records erasure requests and answers for them: the one object the erase route and the receipt route use.

A receipt is checked when it is asked for, never cached: first whether the worker has applied the erase
command (its consumer group has committed past the command's offset, so ``UserErased`` is on the memory log),
then what each store still holds of the user (``replay.erasure.holdings_by_target``, the same count
``memstream audit --erased`` makes, over every target). In that order, "done" cannot be claimed from
stores read before the erasure was decided.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

from litestar.datastructures import State

from adapters.log_offsets import LogOffsets
from adapters.token_key import token_key
from api.erasure.ledger import ErasureLedger, ErasureRequest
from api.erasure.retention import TopicRetentions
from api.erasure.schemas import ErasureAccepted, ErasureCommand, ErasureReceipt, StoreErasure
from api.schemas import CommandAccepted
from memory.contract.positions import decode_token
from memory.settings import Settings
from projections.targets import STORES
from replay.erasure import holdings_by_target

# Where the app keeps its desk (set by the app's lifespan); routes get it with ``ERASURES``.
DESK_STATE_KEY = "erasure_desk"
# Each check opens a connection to every store: a few at a time per process, however many admins poll.
CONCURRENT_CHECKS = 2


def by_store(report: dict[str, dict[str, int]]) -> list[StoreErasure]:
    """Target → ``"<store>.<part>"`` → count, summed over targets into one entry per store."""
    held: dict[str, dict[str, int]] = {store: defaultdict(int) for store in STORES}
    for counts in report.values():
        for name, count in counts.items():
            store, _, part = name.partition(".")
            held[store][part] += count
    return [StoreErasure(store=s, gone=sum(held[s].values()) == 0, held=dict(sorted(held[s].items()))) for s in STORES]


class ErasureDesk:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._key = token_key(settings)  # reads the command's position out of the token the writer signed
        self._ledger = ErasureLedger(settings.postgres_dsn)
        self._offsets = LogOffsets(settings)
        self._retentions = TopicRetentions(settings)
        self._checks = asyncio.Semaphore(CONCURRENT_CHECKS)

    @classmethod
    async def open(cls, settings: Settings) -> ErasureDesk:
        desk = cls(settings)
        await desk._ledger.ensure_table()
        return desk

    async def record(self, app_id: str, user_id: str, accepted: CommandAccepted) -> ErasureAccepted:
        """Keep the request of an erase command just produced; its event id is the erasure id."""
        (position,) = decode_token(accepted.consistency_token, self._key)  # one command, one position
        erasure_id = accepted.event_ids[0]
        await self._ledger.record(
            ErasureRequest(erasure_id, app_id, user_id, datetime.now(UTC), accepted.consistency_token, position)
        )
        return ErasureAccepted(
            status=accepted.status,
            event_ids=accepted.event_ids,
            consistency_token=accepted.consistency_token,
            erasure_id=erasure_id,
        )

    async def find(self, erasure_id: str) -> ErasureRequest | None:
        return await self._ledger.find(erasure_id)

    async def receipt(self, request: ErasureRequest) -> ErasureReceipt:
        command = request.command
        committed = await self._offsets.committed(self._settings.faust_app_id, [(command.topic, command.partition)])
        applied = committed.get((command.topic, command.partition), -1) > command.offset
        async with self._checks:
            report = await asyncio.to_thread(holdings_by_target, self._settings, request.app_id, request.user_id)
        stores = by_store(report)
        return ErasureReceipt(
            erasure_id=request.erasure_id,
            app_id=request.app_id,
            user_id=request.user_id,
            requested_at=request.requested_at,
            checked_at=datetime.now(UTC),
            status="done" if applied and all(s.gone for s in stores) else "pending",
            command=ErasureCommand(
                applied=applied, topic=command.topic, partition=command.partition, offset=command.offset
            ),
            stores=stores,
            targets_checked=list(report),
            kafka_log=await self._retentions.kafka_log(request.user_id),
            consistency_token=request.consistency_token,
        )


def desk_of(state: State) -> ErasureDesk:
    """The dependency provider of the routes that erase or report (``dependencies=ERASURES``)."""
    desk = state[DESK_STATE_KEY]
    assert isinstance(desk, ErasureDesk), "the app's lifespan opens the erasure desk"
    return desk
