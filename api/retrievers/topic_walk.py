"""The graph retriever's walk over topics (memory.retrieval.topics): query topics → the memories about them.

Most questions name no entity ("What pets does Nate have?", "Where has Melanie camped?"), and questions
that gather facts from several conversations ("What books has Tim read?") are answered by memories that
share little with the question but much with each other: the one about "Harry Potter" and the one about
"The Hobbit" are both about books, reading and fantasy. So:

1. The user's topics that the query is about, each weighing log(1 + N / memories about it), lead to the
   memories about them, scored by the sum of their weights. Topics that more than TOPIC_SHARE of the
   user's memories are about ("time", "family") say nothing about which memory is meant, and are skipped.
2. A query that names exactly one of the conversation's speakers ("...does Nate have?") asks about what
   that person said: the walk keeps to the memories they said. A query naming both asks about either.

Measured on LoCoMo (bench/RESULTS.md): the walk is what makes the graph retriever help multi-hop questions.
A second hop (the topics the ten best memories share, at half weight: pseudo-relevance feedback) was measured
and removed (issue 18, point 4): R@10 +0.1 on the tuning half of LoCoMo, -0.4 on the held-out half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from api.retrievers.base import SearchQuery
from memory.retrieval.topics import topic_id, topic_words

TOPIC_SHARE = 0.05
TOPIC_FLOOR = 10  # in a small store, a topic of up to this many memories still counts

# Equal scores: the memory said later first (memory.retrieval.said_order), here and wherever the walk cuts a list,
# so the same conversation ingested twice walks the same way; never by memory id, which is drawn at random.
# One round trip: the user's size, the one speaker the query names (if any), the memories about the walkable
# query topics.
WALK_TOPICS = """
MATCH (u:User {scope_key: $key})
WITH COUNT { (u)-[:HAS_MEMORY]->(:Memory) } AS total,
     [s IN coalesce(u.speakers, []) WHERE toLower(s) IN $words] AS named
WITH total, CASE WHEN size(named) = 1 THEN named[0] END AS speaker,
     CASE WHEN toInteger(total * $share) > $floor THEN toInteger(total * $share) ELSE $floor END AS cap
UNWIND $topic_ids AS topic_id
MATCH (t:Topic {topic_id: topic_id})
WITH total, speaker, t, COUNT { (t)<-[:ABOUT]-(:Memory) } AS about
WHERE about <= cap
WITH speaker, t, log(1.0 + toFloat(total) / about) AS weight
MATCH (t)<-[:ABOUT]-(m:Memory)
WHERE m.state IN $states AND (speaker IS NULL OR m.speaker = speaker)
WITH m, sum(weight) AS score
WITH m, score ORDER BY score DESC, m.occurred_at DESC, coalesce(m.log_offset, -1) DESC, m.memory_id LIMIT $limit
RETURN collect(m.memory_id) AS ids, collect(score) AS scores,
       collect(m.occurred_at.epochMillis) AS times, collect(coalesce(m.log_offset, -1)) AS offsets
"""


@dataclass(frozen=True, slots=True)
class Walked:
    """A memory a walk reached, its score, and when it was said: (valid time in epoch ms, log offset; -1 when
    unknown), what the graph retriever orders equal sums by when it adds the two walks up."""

    memory_id: str
    score: float
    said: tuple[int, int]


class Runner(Protocol):
    """What the walk needs from the graph retriever: one Cypher round trip (labels namespaced)."""

    async def __call__(self, statement: str, **params: Any) -> list[dict[str, Any]]: ...


async def walk_topics(run: Runner, query: SearchQuery) -> list[Walked]:
    """The memories about the query's topics, best first (ties: said later first)."""
    topic_ids = [topic_id(query.scope_key, name) for name in topic_words(query.text)]
    if not topic_ids:
        return []
    rows = await run(
        WALK_TOPICS,
        key=query.scope_key,
        words=[w.lower() for w in query.words()],
        topic_ids=topic_ids,
        share=TOPIC_SHARE,
        floor=TOPIC_FLOOR,
        states=query.visibility.states(),
        limit=query.limit,
    )
    return found_in(rows)


def found_in(rows: list[dict[str, Any]]) -> list[Walked]:
    """The walk's answer: one record of parallel lists (the driver decodes a few lists several times faster
    than as many records; measured 3.9 -> 1.9 ms per walk on LoCoMo)."""
    if not rows:
        return []
    row = rows[0]
    return [
        Walked(memory_id, float(score), (int(at), int(offset)))
        for memory_id, score, at, offset in zip(row["ids"], row["scores"], row["times"], row["offsets"], strict=True)
    ]
