-- The PostgreSQL projection. Idempotent DDL: run at every projector start.
CREATE TABLE IF NOT EXISTS memories (
    memory_id        text PRIMARY KEY,
    app_id           text NOT NULL,
    user_id          text NOT NULL,
    agent_id         text,
    run_id           text,
    text             text NOT NULL,
    kind             text NOT NULL,
    state            text NOT NULL,
    importance       real NOT NULL,
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    source_turn_ids  text[] NOT NULL DEFAULT '{}',
    source_event_ids text[] NOT NULL DEFAULT '{}',
    extractor        text NOT NULL,
    embedding_model  text,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    known_from       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    tsv              tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX IF NOT EXISTS memories_scope_idx ON memories (app_id, user_id, state);
CREATE INDEX IF NOT EXISTS memories_tsv_idx ON memories USING gin (tsv);

-- Every change of a memory, one row per event: the bi-temporal history (valid and known time).
CREATE TABLE IF NOT EXISTS memory_versions (
    event_id      text PRIMARY KEY,
    memory_id     text NOT NULL,
    event_type    text NOT NULL,
    state         text NOT NULL,
    text          text NOT NULL,
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz,
    known_at      timestamptz NOT NULL,
    causation_id  text,
    log_topic     text NOT NULL,
    log_partition int NOT NULL,
    log_offset    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_versions_memory_idx ON memory_versions (memory_id, log_offset);

CREATE TABLE IF NOT EXISTS conversation_turns (
    event_id        text PRIMARY KEY,
    app_id          text NOT NULL,
    user_id         text NOT NULL,
    agent_id        text,
    run_id          text,
    conversation_id text NOT NULL,
    turn_id         text NOT NULL,
    role            text NOT NULL,
    speaker         text,
    text            text NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    tsv             tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX IF NOT EXISTS conversation_turns_scope_idx ON conversation_turns (app_id, user_id, occurred_at);
CREATE INDEX IF NOT EXISTS conversation_turns_tsv_idx ON conversation_turns USING gin (tsv);

CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection    text NOT NULL,
    topic         text NOT NULL,
    partition     int NOT NULL,
    log_offset    bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);

-- Accesses (MemoryAccessed): one row per event, so a replayed access is recognised and counted once.
ALTER TABLE memories ADD COLUMN IF NOT EXISTS access_count integer NOT NULL DEFAULT 0;
ALTER TABLE memories ADD COLUMN IF NOT EXISTS last_accessed_at timestamptz;
CREATE TABLE IF NOT EXISTS memory_accesses (
    event_id     text PRIMARY KEY,
    memory_id    text NOT NULL,
    accessed_at  timestamptz NOT NULL,
    rank         int NOT NULL,
    retrievers   text[] NOT NULL DEFAULT '{}',
    request_id   text NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_accesses_memory_idx ON memory_accesses (memory_id, accessed_at);

-- Lifecycle (pinning, importance after reinforcement and decay, supersession): the memory as it is now,
-- and in the history every version carries the values after its event, so history needs no other table.
ALTER TABLE memories ADD COLUMN IF NOT EXISTS pinned boolean NOT NULL DEFAULT false;
ALTER TABLE memory_versions ADD COLUMN IF NOT EXISTS importance real;
ALTER TABLE memory_versions ADD COLUMN IF NOT EXISTS pinned boolean;

-- Lineage between memories: a summary summarizes its originals, a newer statement supersedes an older one,
-- a kept memory is reinforced by the duplicate that was dropped. One row per link, whichever event said it first.
CREATE TABLE IF NOT EXISTS memory_lineage (
    event_id        text NOT NULL,
    relation        text NOT NULL CHECK (relation IN ('supersedes', 'summarizes', 'reinforces')),
    from_memory_id  text NOT NULL,
    to_memory_id    text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    known_at        timestamptz NOT NULL,
    PRIMARY KEY (relation, from_memory_id, to_memory_id)
);
CREATE INDEX IF NOT EXISTS memory_lineage_from_idx ON memory_lineage (from_memory_id);
CREATE INDEX IF NOT EXISTS memory_lineage_to_idx ON memory_lineage (to_memory_id);

-- What was deleted (MemoryForgotten, UserErased): ids and times only, never text. A tombstoned id is never
-- written again, so a redelivered event cannot bring a deleted memory back; the row is also the proof.
CREATE TABLE IF NOT EXISTS memory_tombstones (
    memory_id     text PRIMARY KEY,
    app_id        text NOT NULL,
    user_id       text NOT NULL,
    forgotten_at  timestamptz NOT NULL,
    reason        text NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_tombstones_scope_idx ON memory_tombstones (app_id, user_id);

-- Applied erasures (UserErased), by event id: a redelivered erasure must not erase what the user stored since.
CREATE TABLE IF NOT EXISTS user_erasures (
    event_id     text PRIMARY KEY,
    app_id       text NOT NULL,
    user_id      text NOT NULL,
    erased_at    timestamptz NOT NULL,
    known_at     timestamptz NOT NULL
);
-- Each batch asks for the latest erasure of the users it names: what was known before it stays erased.
CREATE INDEX IF NOT EXISTS user_erasures_scope_idx ON user_erasures (app_id, user_id, known_at);

-- BM25 (api/retrievers/sparse.py) needs every candidate memory's length; stored, it costs no tsvector decoding.
ALTER TABLE memories ADD COLUMN IF NOT EXISTS tsv_len integer GENERATED ALWAYS AS (length(to_tsvector('english', text))) STORED;

-- Core memory blocks (CoreBlockChanged): each block's value now, per app, user, agent ('' = the user's blocks
-- shared by every agent) and label. A deleted block keeps its row (written = false) so its version keeps
-- counting and a late, older event cannot bring it back (an upsert only ever raises the version).
CREATE TABLE IF NOT EXISTS core_blocks (
    app_id      text NOT NULL,
    user_id     text NOT NULL,
    agent_id    text NOT NULL,
    label       text NOT NULL,
    value       text NOT NULL,
    char_limit  int NOT NULL,
    version     bigint NOT NULL,
    written     boolean NOT NULL,
    updated_at  timestamptz NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (app_id, user_id, agent_id, label)
);
-- Every change of a block, and every refused edit (change = 'refused', the value unchanged), by event: the
-- history and as-of reads. Valid time is the edit's occurred_at, known time its recorded_at.
CREATE TABLE IF NOT EXISTS core_block_versions (
    event_id      text PRIMARY KEY,
    app_id        text NOT NULL,
    user_id       text NOT NULL,
    agent_id      text NOT NULL,
    label         text NOT NULL,
    change        text NOT NULL CHECK (change IN ('created', 'appended', 'replaced', 'deleted', 'refused')),
    value         text NOT NULL,
    char_limit    int NOT NULL,
    version       bigint NOT NULL,
    written       boolean NOT NULL,
    reason        text,
    valid_from    timestamptz NOT NULL,
    known_at      timestamptz NOT NULL,
    causation_id  text,
    log_topic     text NOT NULL,
    log_partition int NOT NULL,
    log_offset    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS core_block_versions_block_idx
    ON core_block_versions (app_id, user_id, agent_id, label, log_offset);

-- Sessions (memory/conversations/sessions.py). A turn's explicit session, as its producer gave it (NULL: none).
ALTER TABLE conversation_turns ADD COLUMN IF NOT EXISTS session_id text;
-- Each conversation's sessions (projections/postgres/sessions.py): explicit ones (session_id set) and inferred ones
-- (session_id NULL; they never overlap one another, so their start names them). Numbers are not stored: they are each session's rank by start
-- within its conversation, computed when read, so a late turn that adds or merges sessions rewrites nothing else.
CREATE TABLE IF NOT EXISTS conversation_sessions (
    app_id          text NOT NULL,
    user_id         text NOT NULL,
    conversation_id text NOT NULL,
    session_id      text,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,
    turn_count      int NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS conversation_sessions_explicit_idx
    ON conversation_sessions (app_id, user_id, conversation_id, session_id) WHERE session_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS conversation_sessions_inferred_idx
    ON conversation_sessions (app_id, user_id, conversation_id, started_at) WHERE session_id IS NULL;
CREATE INDEX IF NOT EXISTS conversation_sessions_order_idx
    ON conversation_sessions (app_id, user_id, conversation_id, started_at);
-- Where a memory was said in the log: the offset of the MemoryExtracted that created it (the first one; a
-- redelivered copy creates nothing). One user's events share one partition, so within a user it orders turns
-- that share a valid time, and a turn's memories; search breaks ties on it (memory/retrieval/said_order.py),
-- never on the random ids. A replay writes the same value. Rows projected before the column get theirs once,
-- from their MemoryExtracted version row, when the column is added (later starts skip the backfill).
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'memories' AND column_name = 'log_offset'
    ) THEN
        ALTER TABLE memories ADD COLUMN IF NOT EXISTS log_offset bigint;
        UPDATE memories AS m SET log_offset = v.first_offset
        FROM (SELECT memory_id, min(log_offset) AS first_offset FROM memory_versions
              WHERE event_type = 'MemoryExtracted' GROUP BY memory_id) AS v
        WHERE m.memory_id = v.memory_id;
    END IF;
END $$;
