"""The Cypher the Neo4j projection runs. Labels are written bare; ``labels.namespaced`` prefixes them."""

from __future__ import annotations

CONSTRAINTS = (
    "CREATE CONSTRAINT {prefix}memory_id IF NOT EXISTS FOR (m:Memory) REQUIRE m.memory_id IS UNIQUE",
    "CREATE CONSTRAINT {prefix}entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.entity_id IS UNIQUE",
    "CREATE CONSTRAINT {prefix}user_key IF NOT EXISTS FOR (u:User) REQUIRE u.scope_key IS UNIQUE",
    "CREATE INDEX {prefix}memory_scope IF NOT EXISTS FOR (m:Memory) ON (m.scope_key)",
    # The graph retriever finds a user's entities by name: the scope index narrows it to that user's.
    "CREATE INDEX {prefix}entity_scope IF NOT EXISTS FOR (e:Entity) ON (e.scope_key)",
    "CREATE CONSTRAINT {prefix}topic_id IF NOT EXISTS FOR (t:Topic) REQUIRE t.topic_id IS UNIQUE",
    "CREATE INDEX {prefix}topic_scope IF NOT EXISTS FOR (t:Topic) ON (t.scope_key)",
)

# A batch's new memories, by user (``plan.by_user``): each user is merged once, with the speakers of all its
# rows (first seen first, none twice, no null: appended as one row at a time would append them); then its
# memories in log order, and each memory's topics (``memory.retrieval.topics.topic_rows``: ids and names) in the
# same statement, unless the memory's text has changed since (a redelivered extraction after an update must
# not bring the old words back).
# ``m.log_offset``: the offset of the MemoryExtracted that created the node, the order it was said, on which the
# graph retriever breaks ties (memory.retrieval.said_order); a node projected before it was written has none.
# ``u.speakers``: who has spoken in the user's conversations, so the graph retriever can tell a question
# about one of them ("What pets does Nate have?") from one about anybody.
MERGE_MEMORIES = """
UNWIND $users AS user
MERGE (u:User {scope_key: user.scope_key})
  ON CREATE SET u.app_id = user.app_id, u.user_id = user.user_id
SET u.speakers = CASE WHEN size(user.speakers) = 0 THEN u.speakers ELSE reduce(
  known = coalesce(u.speakers, []), speaker IN user.speakers |
  CASE WHEN speaker IN known THEN known ELSE known + speaker END) END
WITH u, user
UNWIND user.memories AS row
MERGE (m:Memory {memory_id: row.memory_id})
  ON CREATE SET m.text = row.text, m.kind = row.kind, m.state = 'extracted', m.importance = row.importance,
                m.scope_key = user.scope_key, m.occurred_at = row.occurred_at, m.speaker = row.speaker,
                m.log_offset = row.log_offset
MERGE (u)-[:HAS_MEMORY]->(m)
WITH m, row WHERE m.text = row.text
UNWIND row.topics AS topic
MERGE (t:Topic {topic_id: topic.id})
  ON CREATE SET t.name = topic.name, t.scope_key = m.scope_key
MERGE (m)-[:ABOUT]->(t)
"""

# New text, new topics: the old links go, the new ones come, and topics no memory is about any more go too.
RELINK_TOPICS = """
UNWIND $rows AS row
MATCH (m:Memory {memory_id: row.memory_id})
OPTIONAL MATCH (m)-[old:ABOUT]->(:Topic)
DELETE old
WITH DISTINCT m, row
UNWIND row.topics AS topic
MERGE (t:Topic {topic_id: topic.id})
  ON CREATE SET t.name = topic.name, t.scope_key = m.scope_key
MERGE (m)-[:ABOUT]->(t)
"""

TOPICS_OF = """
UNWIND $ids AS memory_id
MATCH (:Memory {memory_id: memory_id})-[:ABOUT]->(t:Topic)
RETURN DISTINCT t.topic_id AS topic_id
"""

DELETE_ORPHAN_TOPICS = """
UNWIND $topic_ids AS topic_id
MATCH (t:Topic {topic_id: topic_id})
WHERE NOT (t)<-[:ABOUT]-(:Memory)
DELETE t
"""

LINK_ENTITIES = """
UNWIND $rows AS row
MATCH (m:Memory {memory_id: row.memory_id})
UNWIND row.entities AS ent
MERGE (e:Entity {entity_id: ent.entity_id})
  ON CREATE SET e.name = ent.name, e.kind = ent.kind, e.scope_key = row.scope_key
MERGE (m)-[:MENTIONS]->(e)
"""

# Relations of rows whose memory exists; the rows are those that name entities (``plan.relating``: as when
# both sat in one statement).
# ``memory_ids`` records which memories asserted a relation, so forgetting the last of them removes it
# (an edge without the list predates it: its sources are unknown, and it stays).
RELATE_ENTITIES = """
UNWIND $rows AS row
MATCH (:Memory {memory_id: row.memory_id})
UNWIND row.relations AS rel
MATCH (a:Entity {entity_id: rel.subject_id}), (b:Entity {entity_id: rel.object_id})
MERGE (a)-[r:RELATED {predicate: rel.predicate}]->(b)
  ON CREATE SET r.memory_ids = [row.memory_id]
  ON MATCH SET r.memory_ids = CASE
    WHEN r.memory_ids IS NULL OR row.memory_id IN r.memory_ids THEN r.memory_ids
    ELSE r.memory_ids + row.memory_id END
"""

# Field changes and guarded state changes in one statement: ``props`` may be empty; ``moves`` maps a state
# to the state it moves to (``projections.neo4j.plan``: one event's guarded move, or several composed), and a
# state it does not name stays.
UPDATE_MEMORIES = """
UNWIND $rows AS row
MATCH (m:Memory {memory_id: row.memory_id})
SET m += row.props
WITH m, row.moves[m.state] AS next WHERE next IS NOT NULL
SET m.state = next
"""

# The old memory stops being valid even when the new one is not here (forgotten since); the edge needs both.
# Superseded twice, it keeps the earliest end: it stopped being true when first contradicted (as PostgreSQL).
SUPERSEDE = """
UNWIND $rows AS row
MATCH (old:Memory {memory_id: row.memory_id})
SET old.valid_to = CASE WHEN old.valid_to IS NULL OR row.valid_to < old.valid_to THEN row.valid_to
                        ELSE old.valid_to END
WITH old, row
MATCH (new:Memory {memory_id: row.superseded_by})
MERGE (new)-[:SUPERSEDES]->(old)
"""

SUMMARIZE = """
UNWIND $rows AS row
MATCH (s:Memory {memory_id: row.memory_id})
UNWIND row.original_ids AS original_id
MATCH (o:Memory {memory_id: original_id})
MERGE (s)-[:SUMMARIZES]->(o)
"""

# Forgetting, in four steps of one transaction: which entities the memories mention; the relations only
# they asserted; the memories (with all their edges); the entities nothing mentions any more.
MENTIONED_ENTITIES = """
UNWIND $ids AS memory_id
MATCH (:Memory {memory_id: memory_id})-[:MENTIONS]->(e:Entity)
RETURN DISTINCT e.entity_id AS entity_id
"""

UNRELATE = """
UNWIND $entity_ids AS entity_id
MATCH (:Entity {entity_id: entity_id})-[r:RELATED]-(:Entity)
WITH DISTINCT r
WHERE r.memory_ids IS NOT NULL AND any(mid IN r.memory_ids WHERE mid IN $ids)
SET r.memory_ids = [mid IN r.memory_ids WHERE NOT mid IN $ids]
WITH r WHERE size(r.memory_ids) = 0
DELETE r
"""

DELETE_MEMORIES = "UNWIND $ids AS memory_id MATCH (m:Memory {memory_id: memory_id}) DETACH DELETE m"

DELETE_ORPHANS = """
UNWIND $entity_ids AS entity_id
MATCH (e:Entity {entity_id: entity_id})
WHERE NOT (e)<-[:MENTIONS]-(:Memory)
DETACH DELETE e
"""

# A user's erasure: every node carrying the scope key; their relationships go with them.
ERASE = (
    "UNWIND $keys AS key MATCH (m:Memory {scope_key: key}) DETACH DELETE m",
    "UNWIND $keys AS key MATCH (e:Entity {scope_key: key}) DETACH DELETE e",
    "UNWIND $keys AS key MATCH (t:Topic {scope_key: key}) DETACH DELETE t",
    "UNWIND $keys AS key MATCH (u:User {scope_key: key}) DETACH DELETE u",
)

CHECKPOINT = """
UNWIND $rows AS row
MERGE (c:ProjectionCheckpoint {projection: $projection, topic: row.topic, partition: row.partition})
SET c.log_offset = CASE WHEN c.log_offset IS NULL OR c.log_offset < row.offset THEN row.offset ELSE c.log_offset END
"""

LOAD_CHECKPOINTS = (
    "MATCH (c:ProjectionCheckpoint {projection: $p}) RETURN c.topic AS t, c.partition AS p, c.log_offset AS o"
)
