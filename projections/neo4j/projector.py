"""Neo4j projection: users, memories, entities and their relations, keyed by deterministic ids (MERGE).

The checkpoint is a node written in the same transaction as the batch, so a crash loses neither.
State changes are guarded by the lifecycle table, so a repeated or late event cannot move a memory back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from neo4j import Driver, ManagedTransaction

from memory.events import EntitiesLinked, MemoryActivated, MemoryEmbedded, MemoryExtracted
from memory.lifecycle import MemoryState, sources_of
from projections.base import Positioned, highest_positions, newer_than_checkpoint

LABELS = ("Memory", "Entity", "User", "ProjectionCheckpoint")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")

CONSTRAINTS = (
    "CREATE CONSTRAINT {prefix}memory_id IF NOT EXISTS FOR (m:Memory) REQUIRE m.memory_id IS UNIQUE",
    "CREATE CONSTRAINT {prefix}entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.entity_id IS UNIQUE",
    "CREATE CONSTRAINT {prefix}user_key IF NOT EXISTS FOR (u:User) REQUIRE u.scope_key IS UNIQUE",
    "CREATE INDEX {prefix}memory_scope IF NOT EXISTS FOR (m:Memory) ON (m.scope_key)",
    # The graph retriever finds a user's entities by name: the scope index narrows it to that user's.
    "CREATE INDEX {prefix}entity_scope IF NOT EXISTS FOR (e:Entity) ON (e.scope_key)",
)

MERGE_MEMORIES = """
UNWIND $rows AS row
MERGE (u:User {scope_key: row.scope_key})
  ON CREATE SET u.app_id = row.app_id, u.user_id = row.user_id
MERGE (m:Memory {memory_id: row.memory_id})
  ON CREATE SET m.text = row.text, m.kind = row.kind, m.state = 'extracted', m.importance = row.importance,
                m.scope_key = row.scope_key, m.occurred_at = row.occurred_at
MERGE (u)-[:HAS_MEMORY]->(m)
"""

LINK_ENTITIES = """
UNWIND $rows AS row
MATCH (m:Memory {memory_id: row.memory_id})
UNWIND row.entities AS ent
MERGE (e:Entity {entity_id: ent.entity_id})
  ON CREATE SET e.name = ent.name, e.kind = ent.kind, e.scope_key = row.scope_key
MERGE (m)-[:MENTIONS]->(e)
"""

# Relations of rows whose memory exists and that name entities (as when both sat in one statement).
RELATE_ENTITIES = """
UNWIND $rows AS row
MATCH (:Memory {memory_id: row.memory_id})
WITH row WHERE size(row.entities) > 0
UNWIND row.relations AS rel
MATCH (a:Entity {entity_id: rel.subject_id}), (b:Entity {entity_id: rel.object_id})
MERGE (a)-[r:RELATED {predicate: rel.predicate}]->(b)
"""

TRANSITION = """
UNWIND $rows AS row
MATCH (m:Memory {memory_id: row.memory_id})
WHERE m.state IN row.sources
SET m.state = row.target
"""

SET_MODEL = "UNWIND $rows AS row MATCH (m:Memory {memory_id: row.memory_id}) SET m.embedding_model = row.model"

CHECKPOINT = """
UNWIND $rows AS row
MERGE (c:ProjectionCheckpoint {projection: $projection, topic: row.topic, partition: row.partition})
SET c.log_offset = CASE WHEN c.log_offset IS NULL OR c.log_offset < row.offset THEN row.offset ELSE c.log_offset END
"""


LOAD_CHECKPOINTS = (
    "MATCH (c:ProjectionCheckpoint {projection: $p}) RETURN c.topic AS t, c.partition AS p, c.log_offset AS o"
)


def namespaced(statement: str, prefix: str) -> str:
    """Labels carry an optional prefix so a rebuild can live beside the live graph in one database
    (Neo4j Community has a single user database)."""
    if prefix and not _PREFIX.match(prefix):
        raise ValueError(f"invalid Neo4j label prefix {prefix!r}")
    statement = statement.replace("{prefix}", prefix.lower())
    for label in LABELS:
        statement = re.sub(rf":{label}\b", f":{prefix}{label}", statement)
    return statement


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
        for kind, rows in self._groups(items):
            self._flush(tx, kind, rows)
        tx.run(
            self._q(CHECKPOINT),
            projection=self.name,
            rows=[{"topic": t, "partition": p, "offset": o} for (t, p), o in highest.items()],
        )

    def _groups(self, items: Sequence[Positioned]) -> list[tuple[str, list[dict[str, Any]]]]:
        """The batch as few statements as the log order allows: an event joins the latest group of its
        kind unless its memory appears in that group or a later one; otherwise it opens a new group.

        So each memory's events run in log order, and each kind's events run in log order (which entity
        creates a shared node first stays the same); events of different kinds for different memories
        touch disjoint nodes, and reordering them changes nothing. A log of whole memories (extracted,
        linked, embedded, activated, next memory) becomes four statements instead of four per memory.
        """
        groups: list[tuple[str, list[dict[str, Any]]]] = []
        latest: dict[str, int] = {}  # kind -> index of its latest group
        last_seen: dict[str, int] = {}  # memory id -> index of the last group holding one of its events
        for item in items:
            kind, row = self._row(item.event)
            if kind is None:
                continue
            memory_id = row["memory_id"]
            index = latest.get(kind, -1)
            if index < 0 or index <= last_seen.get(memory_id, -1):
                index = len(groups)
                groups.append((kind, []))
                latest[kind] = index
            groups[index][1].append(row)
            last_seen[memory_id] = max(last_seen.get(memory_id, -1), index)
        return groups

    def _q(self, statement: str) -> str:
        return namespaced(statement, self._prefix)

    @staticmethod
    def _row(event: Any) -> tuple[str | None, dict[str, Any]]:
        if isinstance(event, MemoryExtracted):
            scope = event.scope
            return "memory", {
                "scope_key": scope.key,
                "app_id": scope.app_id,
                "user_id": scope.user_id,
                "memory_id": event.memory_id,
                "text": event.text,
                "kind": event.kind,
                "importance": event.importance,
                "occurred_at": event.envelope.occurred_at,
            }
        if isinstance(event, EntitiesLinked):
            return "entities", {
                "memory_id": event.memory_id,
                "scope_key": event.scope.key,
                "entities": [{"entity_id": e.entity_id, "name": e.name, "kind": e.kind} for e in event.entities],
                "relations": [
                    {"subject_id": r.subject_id, "predicate": r.predicate, "object_id": r.object_id}
                    for r in event.relations
                ],
            }
        if isinstance(event, MemoryEmbedded):
            return "stored", {"memory_id": event.memory_id, "model": event.model}
        if isinstance(event, MemoryActivated):
            return "active", {"memory_id": event.memory_id}
        return None, {}

    def _flush(self, tx: ManagedTransaction, kind: str, rows: list[dict[str, Any]]) -> None:
        if kind == "memory":
            tx.run(self._q(MERGE_MEMORIES), rows=rows)
        elif kind == "entities":
            tx.run(self._q(LINK_ENTITIES), rows=rows)
            if any(r["relations"] for r in rows):
                tx.run(self._q(RELATE_ENTITIES), rows=rows)
        elif kind == "stored":
            tx.run(self._q(SET_MODEL), rows=rows)
            target = MemoryState.STORED
            tx.run(
                self._q(TRANSITION), rows=[{**r, "sources": sources_of(target), "target": target.value} for r in rows]
            )
        elif kind == "active":
            target = MemoryState.ACTIVE
            tx.run(
                self._q(TRANSITION), rows=[{**r, "sources": sources_of(target), "target": target.value} for r in rows]
            )

    def close(self) -> None:
        pass
