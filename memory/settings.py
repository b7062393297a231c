"""Settings for every component, read from environment variables prefixed ``MEMSTREAM_``.

Pure: ``Settings.from_env`` takes the mapping, so tests pass their own. Ports are project-owned
defaults chosen away from the usual ones so the local stack never collides with services a user
already runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from memory.credentials import redacted

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Topics:
    turns: str = "memstream.turns.v1"
    commands: str = "memstream.commands.v1"
    memories: str = "memstream.memories.v1"
    deadletter: str = "memstream.deadletter.v1"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = PROJECT_ROOT / ".data"
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_partitions: int = 4
    # Replicas of each topic the project creates (adapters/kafka.py: ensure_topics): 1 on the single-broker local
    # stack; 3 on a managed cluster (the Helm chart sets it from kafka.replicationFactor).
    kafka_replication_factor: int = 1
    # How the pipeline's own clients (worker, projectors, API, CLI, replay) authenticate to the broker
    # (adapters/kafka_auth.py). The local stack's internal listener takes SASL/PLAIN with this principal, a super
    # user; a managed broker (MSK) takes SASL_SSL with SCRAM-SHA-512. PLAINTEXT: a broker without authentication.
    kafka_security_protocol: str = "SASL_PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_username: str = "memstream-pipeline"
    # Empty: the password the local stack generated once under data_dir/secrets (adapters.kafka_auth).
    kafka_password: str = field(default="", repr=False)
    # The producer door: the listener external producers write turns through, with a SCRAM credential that may
    # write the turns topic and nothing else (memstream producers). Empty: the local stack's, kafka_bootstrap's
    # host at its port + 2.
    kafka_producer_bootstrap: str = ""
    kafka_producer_security_protocol: str = "SASL_PLAINTEXT"
    kafka_producer_sasl_mechanism: str = "SCRAM-SHA-512"
    # Region B of the disaster-recovery drill (`memstream dr drill`, docs/disaster-recovery.md): the second Kafka
    # cluster MirrorMaker 2 copies the topics into, with the same security settings. Empty: the local stack's,
    # kafka_bootstrap's host at its port + 10 (region A takes port .. port + 2).
    dr_kafka_bootstrap: str = ""
    # An external producer's credential, for `memstream produce` (its flags win).
    producer_username: str = ""
    producer_password: str = field(default="", repr=False)
    neo4j_uri: str = "bolt://127.0.0.1:17687"
    neo4j_user: str = "neo4j"
    # Store passwords. Empty: filled when settings are loaded (adapters.store_credentials) from the file a
    # ``*_password_file`` setting names (e.g. a Docker secret), else from the one the local stack generated under
    # ``<data_dir>/secrets/``. A password written in ``postgres_dsn`` / ``redis_url`` itself wins; once loaded,
    # both addresses carry their password, so every client connects with exactly what the store was given.
    neo4j_password: str = field(default="", repr=False)
    neo4j_password_file: str = ""
    neo4j_database: str = "neo4j"
    # Label prefix of the live graph; a rebuild writes beside it under its own (Community has one database).
    neo4j_label_prefix: str = ""
    postgres_dsn: str = "postgresql://memstream@127.0.0.1:15432/memstream"
    postgres_password: str = field(default="", repr=False)
    postgres_password_file: str = ""
    redis_url: str = "redis://127.0.0.1:16379/0"
    redis_password: str = field(default="", repr=False)
    redis_password_file: str = ""
    redis_prefix: str = "memstream:"
    # Milvus Lite runs as a local gRPC service of the stack (infra/local); any Milvus server URI works.
    milvus_uri: str = "http://127.0.0.1:19531"
    milvus_collection: str = "memories"
    api_host: str = "127.0.0.1"
    api_port: int = 18080
    # The gateway (api/gateway): off only for local experiments, and then the API listens on loopback only.
    auth_enabled: bool = True
    # Where `memstream run` keeps the default app's admin key (empty: data_dir/secrets/default-admin.key).
    admin_key_file: str = ""
    # Mixed into every API key's hash (adapters.api_key_pepper); empty: generated once under data_dir/secrets.
    api_key_pepper: str = field(default="", repr=False)
    # JWTs from the user's identity provider. HS256 with this shared secret (empty: HS256 tokens are refused).
    jwt_hs256_secret: str = field(default="", repr=False)
    # RS256/ES256 with the public keys of a JWKS document, from a file or an URL (fetched on first use, cached
    # for jwt_jwks_cache_seconds); only these algorithms are accepted from it (comma-separated).
    jwt_jwks_file: str = ""
    jwt_jwks_url: str = ""
    jwt_jwks_algorithms: str = "RS256,ES256"
    jwt_jwks_cache_seconds: float = 300.0
    # Verified when set: the token's ``iss`` must equal it, its ``aud`` must contain it.
    jwt_issuer: str = ""
    jwt_audience: str = ""
    # The claim that names the token's app (``sub`` names the user, ``scope`` lists the scopes).
    jwt_app_claim: str = "app_id"
    # Rate limits (api/gateway/rate_limit.py): requests per minute per caller (the user of a user-bound
    # credential, else the credential), counted in Redis and shared by every API process. An app's own limit,
    # "app1=5000,app2=100", replaces the default for its callers; a key's own limit replaces both.
    rate_limit_per_minute: int = 1000
    rate_limits_per_app: str = ""
    # Origins a browser may call the API from (CORS), comma-separated, e.g. "https://app.example.com"; empty:
    # none, no page of another origin may read an answer or send a credential.
    cors_origins: str = ""
    # Whether the OpenAPI pages (/schema, its JSON and the pages' own scripts) are served without a credential.
    docs_public: bool = True
    # OpenAI-compatible endpoints: empty base URL means the offline defaults.
    llm_base_url: str = ""
    llm_api_key: str = field(default="not-needed", repr=False)
    llm_model: str = "gpt-4o-mini"
    embedding_base_url: str = ""
    embedding_api_key: str = field(default="not-needed", repr=False)
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_dim: int = 384
    embed_batch_size: int = 64
    # How long a batch may wait to fill when the topic is quiet: the floor of a lone turn's freshness.
    embed_batch_seconds: float = 0.05
    max_content_chars: int = 20_000
    max_messages: int = 100
    # Sessions (memory/conversations/sessions.py): a pause longer than this between a conversation's turns without
    # a session_id starts a new inferred session. The PostgreSQL projector applies it as turns arrive; after a
    # change, `memstream replay rebuild` applies it to every conversation (until then only touched ones follow it).
    session_gap_minutes: float = 30.0
    faust_app_id: str = "memstream-streams"
    # Where the stream worker keeps its lifecycle table (streams/table_store.py): "rocksdb", on local disk under
    # data_dir/faust/<faust_app_id>/<worker_instance>, so a restart reads only the changelog written since; or
    # "memory", read whole from the changelog at every start and rebalance. Chosen by bench/restart.py (RESULTS.md).
    table_store: str = "rocksdb"
    # This worker's name among the workers of one host (the launcher sets it to the instance name, "streams-2"): its
    # own table directory, so two never share a RocksDB database.
    worker_instance: str = "worker-1"
    # Projector consumer groups are "<prefix>.projection.<store>[.<target>]": one system per prefix on a broker.
    consumer_group_prefix: str = "memstream"
    # Metrics in the Prometheus text format (adapters/metrics.py): the API serves them at its own /metrics; the
    # stream worker and the projectors, which have no HTTP port otherwise, each on their own port here (0: none).
    # Off: no /metrics route (404), no request timing, no metrics server and no lag polling in any process.
    metrics_enabled: bool = True
    metrics_host: str = "127.0.0.1"
    # 18085-18089: beside the API's 18080, below `memstream mcp --transport http`'s 18090. A projections process
    # running only some stores serves at projections_metrics_port + the position of its first store in
    # (postgres, milvus, neo4j, redis), so one process per store on one host gets 18086-18089.
    streams_metrics_port: int = 18085
    projections_metrics_port: int = 18086
    # Scale by configuration (memstream_cli/processes.py, `memstream run --workers/--projectors/--api-processes`):
    # how many stream worker, projector and API processes the local system runs. Workers and projectors split the
    # topics' partitions within their consumer groups, so more than kafka_partitions of either only idle. More than
    # one API process: they sit behind a local HAProxy on api_port (memstream_cli/balancer.py).
    stream_workers: int = 1
    projector_processes: int = 1
    api_processes: int = 1
    # Instance k (1-based) of a component serves every port of instance 1 shifted by (k - 1) * this stride: the
    # second worker's metrics at 18185, the second projections process's at 18186-18189. API processes behind the
    # balancer listen at api_port + k * stride (18180, 18280, ...), since the balancer holds api_port itself. 100
    # keeps nine instances of each clear of each other and of the stack's ports (15432, 16379, 17687, 19092, ...).
    instance_port_stride: int = 100
    # This process's name among its component's instances ("streams-2", "projections-1", "api-3"), set by the
    # launcher (memstream_cli/processes.py); empty: a process started on its own. It names the heartbeat file
    # (adapters/heartbeat.py) and the API's X-Memstream-Instance answer header.
    process_instance: str = ""
    # The level of the project's own loggers; every process logs JSON lines to stderr (adapters/logs.py).
    log_level: str = "INFO"
    # How often the stream worker and the projectors touch their liveness file (adapters/heartbeat.py).
    heartbeat_seconds: float = 10.0
    # Read-your-writes: how long a read carrying a consistency token may wait for the projections.
    consistency_timeout_seconds: float = 10.0
    # Signs consistency tokens (adapters.token_key); empty: a key generated once under data_dir/secrets.
    token_secret: str = field(default="", repr=False)
    # How long a cached search result may live when nothing changes (recency drifts with the clock).
    search_cache_ttl_seconds: int = 300
    # Lifecycle (memory/lifecycle/decisions.py): how often the worker's timer ticks every user it holds
    # (0: never; ticks can still arrive as commands), when consolidation starts, how similar is a repeat.
    lifecycle_tick_seconds: float = 3600.0
    consolidation_age_days: float = 30.0
    consolidation_token_budget: int = 8000
    consolidation_max_summaries_per_tick: int = 64  # one step of a backlog; the next follows at once
    consolidation_enabled: bool = True
    decay_enabled: bool = True
    dedupe_similarity: float = 0.92
    topics: Topics = field(default_factory=Topics)

    def __repr__(self) -> str:
        # Secret fields are repr=False; an address is shown without the password it carries once loaded.
        shown = []
        for f in fields(self):
            if f.repr:
                value = getattr(self, f.name)
                shown.append(f"{f.name}={redacted(value) if isinstance(value, str) else value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` rebuild these settings (for child processes)."""
        env = {f"MEMSTREAM_{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self) if f.name != "topics"}
        env.update({f"MEMSTREAM_TOPIC_{t.name.upper()}": getattr(self.topics, t.name) for t in fields(Topics)})
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "topics":
                continue
            raw = env.get(f"MEMSTREAM_{f.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls(), f.name)
            if isinstance(default, bool):
                values[f.name] = raw.lower() in {"1", "true", "yes"}
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        topic_values = {
            t.name: env[f"MEMSTREAM_TOPIC_{t.name.upper()}"]
            for t in fields(Topics)
            if f"MEMSTREAM_TOPIC_{t.name.upper()}" in env
        }
        return cls(**values, topics=Topics(**topic_values))
