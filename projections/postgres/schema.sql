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
