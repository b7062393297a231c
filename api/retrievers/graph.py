"""Graph retrieval over Neo4j: two walks run concurrently and their scores add up.

The entity walk (here): entities named in the query → memories that mention them.
The topic walk (api.retrievers.topic_walk): what the query is about → memories about it; it is what answers
questions that name no entity, and gathers facts said across conversations.

Entity walk:

1. Seeds: the user's entities whose names appear in the query (any 1-3 word span, case-insensitive, lone
   stop words aside: ``memory.language.names.candidate_names``).
   A query that names none but points back ("what else do I know about this project?") seeds from the
   entities of the user's most recent memories instead.
2. Each seed weighs log(1 + N / mentions): a rare entity (a colleague, a city) says far more about which
   memories are meant than the user's own name, which every memory mentions.
3. Memories mentioning seeds, scored by the weights of the seeds they mention.
   A second hop (the seeds' related and co-mentioned entities, at half weight) was measured and removed (issue
   18, point 4): on LoCoMo's held-out half it moved R@10 by 0.0 and cost a Neo4j expansion on every search.
Scope: every node is matched under the user's scope key; the row fetch checks scope again.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver

from api.retrievers.base import SearchQuery
from api.retrievers.topic_walk import Walked, found_in, walk_topics
from memory.language.names import candidate_names
from memory.retrieval.recipes import Retriever
from memory.retrieval.scoring import Found
from projections.neo4j.labels import namespaced

RECENT_SEEDS = 5  # memories whose entities seed an entity-less query
# An entity mentioned by more than this share of a user's memories (and by more than DOMINANT_MIN of them)
# is the user or their constant companion: it says nothing about which memories are meant, so it seeds
# nothing (rank fusion sees only ranks: an ordering of everything by a weak signal would be noise).
DOMINANT_SHARE = 0.3
DOMINANT_MIN = 3
# An entity-less query that points back at what was just discussed ("what else do I know about this
# project?") seeds from the user's most recent memories; any other entity-less query has nothing to walk from.
REFERS_BACK = re.compile(r"\b(this|that|these|those|else|same|it|them)\b", re.IGNORECASE)
FIND_SEEDS = """
MATCH (u:User {scope_key: $key})
WITH u, COUNT { (u)-[:HAS_MEMORY]->(:Memory) } AS total
MATCH (e:Entity {scope_key: $key}) WHERE toLower(e.name) IN $names
RETURN e.entity_id AS id, COUNT { (e)<-[:MENTIONS]-(:Memory) } AS mentions, total, e.name AS name
ORDER BY name
"""

RECENT_ENTITIES = """
MATCH (:User {scope_key: $key})-[:HAS_MEMORY]->(m:Memory) WHERE m.state IN $states
WITH m ORDER BY m.occurred_at DESC, coalesce(m.log_offset, -1) DESC LIMIT $recent
MATCH (m)-[:MENTIONS]->(e:Entity)
WITH DISTINCT e
WITH e, COUNT { (e)<-[:MENTIONS]-(:Memory) } AS mentions
MATCH (u:User {scope_key: $key})
RETURN e.entity_id AS id, mentions, COUNT { (u)-[:HAS_MEMORY]->(:Memory) } AS total, e.name AS name
ORDER BY name
"""

# Every order here is total and never by a random id: memories of equal score said later first
# (memory.retrieval.said_order), so the same conversation ingested twice walks the same way. Every memory
# mentioning a seed scores the sum of the weights of the seeds it mentions.
WALK = """
UNWIND $seeds AS seed
MATCH (:Entity {entity_id: seed.id})<-[:MENTIONS]-(m:Memory)
WHERE m.state IN $states
WITH m, sum(seed.weight) AS score
WITH m, score ORDER BY score DESC, m.occurred_at DESC, coalesce(m.log_offset, -1) DESC, m.memory_id LIMIT $limit
RETURN collect(m.memory_id) AS ids, collect(score) AS scores,
       collect(m.occurred_at.epochMillis) AS times, collect(coalesce(m.log_offset, -1)) AS offsets
"""


@dataclass(frozen=True)
class Seed:
    entity_id: str
    weight: float


def entity_weight(mentions: int, total: int) -> float:
    return math.log(1.0 + max(total, 1) / max(mentions, 1))


class GraphRetriever:
    kind = Retriever.GRAPH

    def __init__(self, driver: AsyncDriver, database: str, label_prefix: str):
        self._driver = driver
        self._database = database
        self._prefix = label_prefix

    def _q(self, statement: str) -> str:
        return namespaced(statement, self._prefix)

    async def _run(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = await self._driver.execute_query(self._q(statement), params, database_=self._database)
        return [dict(r) for r in records]

    async def seeds(self, query: SearchQuery) -> list[Seed]:
        """The query's entities that say which memories are meant, weighed by how rare they are."""
        rows = await self._run(FIND_SEEDS, key=query.scope_key, names=candidate_names(query.words()))
        if not rows and REFERS_BACK.search(query.text):
            rows = await self._run(
                RECENT_ENTITIES, key=query.scope_key, states=query.visibility.states(), recent=RECENT_SEEDS
            )
        total = max((int(r["total"]) for r in rows), default=0)
        limit = self.dominant_limit(total)
        return [Seed(r["id"], entity_weight(int(r["mentions"]), total)) for r in rows if int(r["mentions"]) <= limit]

    @staticmethod
    def dominant_limit(total: int) -> int:
        return max(DOMINANT_MIN, int(total * DOMINANT_SHARE))

    async def retrieve(self, query: SearchQuery) -> list[Found]:
        by_entities, by_topics = await asyncio.gather(self.walk_entities(query), walk_topics(self._run, query))
        return summed(by_entities, by_topics, query.limit)

    async def walk_entities(self, query: SearchQuery) -> list[Walked]:
        seeds = await self.seeds(query)
        if not seeds:
            return []
        rows = await self._run(
            WALK,
            seeds=[{"id": s.entity_id, "weight": s.weight} for s in seeds],
            states=query.visibility.states(),
            limit=query.limit,
        )
        return found_in(rows)


def summed(by_entities: list[Walked], by_topics: list[Walked], limit: int) -> list[Found]:
    """Both walks' scores added up per memory, best first; equal sums: the memory said later first."""
    scores: dict[str, float] = {}
    said: dict[str, tuple[int, int]] = {}
    for walked in (*by_entities, *by_topics):
        scores[walked.memory_id] = scores.get(walked.memory_id, 0.0) + walked.score
        said[walked.memory_id] = walked.said
    ranked = sorted(scores, key=lambda memory_id: (scores[memory_id], said[memory_id], memory_id), reverse=True)
    return [Found(memory_id, scores[memory_id]) for memory_id in ranked[:limit]]
