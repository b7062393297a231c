"""Erasure requests, one row each in ``erasure_requests`` (the live PostgreSQL schema), so that every API
process can answer for a receipt whichever process took the request.

A row holds the request (id, app, user, when) and where its command sits on the log; no memory, no text.
It lives in the live schema beside ``memstream_targets``, not in a projection target: it is the API's own
record, and a rebuild or a switch of targets must not lose it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import psycopg

from memory.contract.positions import LogPosition

DDL = """
CREATE TABLE IF NOT EXISTS erasure_requests (
    erasure_id        text PRIMARY KEY,
    app_id            text NOT NULL,
    user_id           text NOT NULL,
    requested_at      timestamptz NOT NULL,
    consistency_token text NOT NULL,
    command_topic     text NOT NULL,
    command_partition integer NOT NULL,
    command_offset    bigint NOT NULL
)
"""
COLUMNS = (
    "erasure_id, app_id, user_id, requested_at, consistency_token, command_topic, command_partition, command_offset"
)


@dataclass(frozen=True)
class ErasureRequest:
    erasure_id: str  # the erase command's event id
    app_id: str
    user_id: str
    requested_at: datetime
    consistency_token: str
    command: LogPosition


class ErasureLedger:
    def __init__(self, dsn: str):
        self._dsn = dsn

    async def _connect(self) -> psycopg.AsyncConnection:
        # Erasures and their receipts are rare: a connection per call keeps no pool open for them.
        return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)

    async def ensure_table(self) -> None:
        async with await self._connect() as conn:
            # Several API processes start at once: IF NOT EXISTS is not atomic in PostgreSQL.
            with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
                await conn.execute(DDL)

    async def record(self, request: ErasureRequest) -> None:
        async with await self._connect() as conn:
            await conn.execute(
                f"INSERT INTO erasure_requests ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (erasure_id) DO NOTHING",
                (
                    request.erasure_id,
                    request.app_id,
                    request.user_id,
                    request.requested_at,
                    request.consistency_token,
                    request.command.topic,
                    request.command.partition,
                    request.command.offset,
                ),
            )

    async def find(self, erasure_id: str) -> ErasureRequest | None:
        async with await self._connect() as conn:
            cursor = await conn.execute(f"SELECT {COLUMNS} FROM erasure_requests WHERE erasure_id = %s", (erasure_id,))
            row = await cursor.fetchone()
        if row is None:
            return None
        return ErasureRequest(
            erasure_id=row[0],
            app_id=row[1],
            user_id=row[2],
            requested_at=row[3],
            consistency_token=row[4],
            command=LogPosition(row[5], row[6], row[7]),
        )
