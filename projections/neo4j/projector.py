"""Neo4j projection: users, memories, entities and their relations, topics (memory.retrieval.topics), keyed by
deterministic ids (MERGE).

The checkpoint is a node written in the same transaction as the batch, so a crash loses neither.
State changes are guarded by the lifecycle table, so a repeated or late event cannot move a memory back.
Fields follow the log: importance (reinforced, decayed), text (updated), pinned, valid_to (superseded).
Lineage is edges: ``(new)-[:SUPERSEDES]->(old)``, ``(summary)-[:SUMMARIZES]->(original)``.

Deletes remove, they do not mark: ``MemoryForgotten`` detaches and deletes the memory, the relations only
it asserted and the entities and topics nothing mentions any more; ``UserErased`` deletes every node of the user.
No tombstone stays behind (the proof of erasure is that nothing does), so a ``MemoryExtracted`` redelivered
after the delete would create the memory again; PostgreSQL's tombstones are the projection that refuses it.
How a batch becomes statements (and why deletes are barriers in it) is ``projections.neo4j.plan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neo4j import Driver, ManagedTransaction

from projections.base import Positioned, highest_positions, newer_than_checkpoint
from projections.neo4j import plan
from projections.neo4j.labels import namespaced
from projections.neo4j.statements import (
    CHECKPOINT,
    CONSTRAINTS,
    DELETE_MEMORIES,
    DELETE_ORPHAN_TOPICS,
    DELETE_ORPHANS,
    ERASE,
    LINK_ENTITIES,
    LOAD_CHECKPOINTS,
    MENTIONED_ENTITIES,
    MERGE_MEMORIES,
    RELATE_ENTITIES,
    RELINK_TOPICS,
    SUMMARIZE,
    SUPERSEDE,
    TOPICS_OF,
    UNRELATE,
    UPDATE_MEMORIES,
)


class Neo4jProjector:
    def __init__(
        self, driver: Driver, database: str, topics: tuple[str, ...], name: str = "neo4j", label_prefix: str = ""
    ):
        self.name = name
        self.topics = topics
        self._driver = driver
        self._database = database
        self._prefix = label_prefix
        for statement in CONSTRAINTS:
            driver.execute_query(self._q(statement), database_=database)
        self._checkpoints = self._load_checkpoints()

    def _load_checkpoints(self) -> dict[tuple[str, int], int]:
        records, _, _ = self._driver.execute_query(
            self._q(LOAD_CHECKPOINTS),
            p=self.name,
            database_=self._database,
        )
        return {(r["t"], r["p"]): r["o"] for r in records}

    def checkpoints(self) -> dict[tuple[str, int], int]:
        return dict(self._checkpoints)

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        fresh = newer_than_checkpoint(items, self._checkpoints)
        if not fresh:
            return
        highest = highest_positions(fresh)
        with self._driver.session(database=self._database) as session:
            session.execute_write(self._write, fresh, highest)
        for key, offset in highest.items():
            self._checkpoints[key] = max(self._checkpoints.get(key, -1), offset)

    def _write(self, tx: ManagedTransaction, items: Sequence[Positioned], highest: dict[tuple[str, int], int]) -> None:
        for step in plan.steps([item.event for item in items], [item.position.offset for item in items]):
            if isinstance(step, plan.Deletes):
                self._delete(tx, step)
            else:
                for kind, rows in step:
                    self._flush(tx, kind, rows)
        tx.run(
            self._q(CHECKPOINT),
            projection=self.name,
            rows=[{"topic": t, "partition": p, "offset": o} for (t, p), o in highest.items()],
        )

    def _q(self, statement: str) -> str:
        return namespaced(statement, self._prefix)

    def _flush(self, tx: ManagedTransaction, kind: str, rows: list[dict[str, Any]]) -> None:
        if kind == plan.MEMORY:
            tx.run(self._q(MERGE_MEMORIES), users=plan.by_user(rows))
        elif kind == plan.ENTITIES:
            tx.run(self._q(LINK_ENTITIES), rows=rows)
            if relations := plan.relating(rows):
                tx.run(self._q(RELATE_ENTITIES), rows=relations)
        elif kind == plan.SUPERSEDED:
            tx.run(self._q(SUPERSEDE), rows=rows)
        elif kind == plan.CONSOLIDATED:
            tx.run(self._q(SUMMARIZE), rows=rows)
        else:
            tx.run(self._q(UPDATE_MEMORIES), rows=rows)
            if kind == plan.UPDATED:
                self._relink_topics(tx, rows)

    def _relink_topics(self, tx: ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        ids = sorted({r["memory_id"] for r in rows})
        before = [r["topic_id"] for r in tx.run(self._q(TOPICS_OF), ids=ids)]
        tx.run(self._q(RELINK_TOPICS), rows=rows)
        if before:
            tx.run(self._q(DELETE_ORPHAN_TOPICS), topic_ids=before)

    def _delete(self, tx: ManagedTransaction, deletes: plan.Deletes) -> None:
        if deletes.memory_ids:
            ids = sorted(set(deletes.memory_ids))
            mentioned = [r["entity_id"] for r in tx.run(self._q(MENTIONED_ENTITIES), ids=ids)]
            topics = [r["topic_id"] for r in tx.run(self._q(TOPICS_OF), ids=ids)]
            if mentioned:
                tx.run(self._q(UNRELATE), entity_ids=mentioned, ids=ids)
            tx.run(self._q(DELETE_MEMORIES), ids=ids)
            if mentioned:
                tx.run(self._q(DELETE_ORPHANS), entity_ids=mentioned)
            if topics:
                tx.run(self._q(DELETE_ORPHAN_TOPICS), topic_ids=topics)
        if deletes.scope_keys:
            keys = sorted(set(deletes.scope_keys))
            for statement in ERASE:
                tx.run(self._q(statement), keys=keys)

    def close(self) -> None:
        pass
