"""MirrorMaker 2 in its dedicated mode (``org.apache.kafka.connect.mirror.MirrorMaker``, what Kafka's
``connect-mirror-maker.sh`` runs), copying the memstream topics from region A's Kafka to region B's.

Its jars are Kafka's own artifacts at the broker's version (``connect-mirror``, ``connect-runtime``), resolved
from Maven Central by ``infra/local/maven/mirror-maker-pom.xml``. Its properties are generated from the settings
on every start, so it mirrors exactly the four topics of the settings it was started with (``memory.settings
.Topics``), under the same names (``IdentityReplicationPolicy``: region B's processes need no other topic
settings), with the consumer groups of ``consumer_group_prefix`` checkpointed and synced (standby projectors
could continue from them). Settings naming other topics make it ``stale``: the orchestrator restarts it.

Internal topics (MirrorMaker's Connect state, offset syncs, checkpoints, heartbeats) all live on region B, so
region A carries nothing but its consumers' reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from adapters.kafka_auth import client_config, region_b_bootstrap
from infra.local.services.base import JavaService
from infra.local.services.common import LOCAL_DIR, StackError, write_private
from infra.local.services.kafka_region_b import REGION_B_DIR
from memory.settings import Settings

SOURCE, TARGET = "A", "B"
MAIN_CLASS = "org.apache.kafka.connect.mirror.MirrorMaker"
HEARTBEATS_TOPIC = "heartbeats"


def topic_pattern(names: list[str]) -> str:
    """MirrorMaker's topic filter is a list of Java regexes: each name exactly, its dots literal. ``[.]``
    rather than ``\\.``: a backslash would need escaping again in the properties file."""
    return ",".join(name.replace(".", "[.]") for name in names)


class MirrorMaker(JavaService):
    name = "mirror-maker"
    cmd_marker = MAIN_CLASS
    default_timeout = 120.0
    stop_timeout = 30.0
    pom = LOCAL_DIR / "maven" / "mirror-maker-pom.xml"
    jar_kind = "mirror-maker"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.source = settings.kafka_bootstrap
        self.target = region_b_bootstrap(settings)
        self.home = self.data / REGION_B_DIR / "mirror-maker"
        self.config = self.home / "mm2.properties"
        self.log4j = self.home / "log4j2.properties"
        self.stdout_file = self.logs_dir / "mirror-maker.out"

    def endpoint(self) -> str:
        return f"{self.source} -> {self.target}"

    def ports(self) -> list[tuple[str, int]]:
        return []  # dedicated mode without its internal REST server listens on nothing

    def cwd(self) -> Path:
        return self.home

    def log_hint(self) -> str:
        return f"{self.log_file} (JVM output: {self.stdout_file})"

    def mirrored_topics(self) -> list[str]:
        t = self.settings.topics
        return [t.turns, t.commands, t.memories, t.deadletter]

    def properties(self) -> dict[str, str]:
        s = self.settings
        if not s.kafka_password:
            raise StackError("mirror-maker: the pipeline's Kafka password is not loaded (adapters.kafka_auth)")
        if any(ch in s.kafka_username + s.kafka_password for ch in '"\\;\n'):
            raise StackError("mirror-maker: the pipeline's Kafka credential holds a character JAAS cannot quote")
        module = _LOGIN_MODULES.get(s.kafka_sasl_mechanism.upper())
        if module is None:
            raise StackError(f"mirror-maker: no JAAS login module for SASL mechanism {s.kafka_sasl_mechanism!r}")
        jaas = f'{module} required username="{s.kafka_username}" password="{s.kafka_password}";'
        props = {"clusters": f"{SOURCE}, {TARGET}"}
        for alias, bootstrap in ((SOURCE, self.source), (TARGET, self.target)):
            props |= {
                f"{alias}.bootstrap.servers": bootstrap,
                f"{alias}.security.protocol": s.kafka_security_protocol,
                f"{alias}.sasl.mechanism": s.kafka_sasl_mechanism,
                f"{alias}.sasl.jaas.config": jaas,
            }
        replicas = str(s.kafka_replication_factor)
        props |= {
            f"{SOURCE}->{TARGET}.enabled": "true",
            f"{SOURCE}->{TARGET}.topics": topic_pattern(self.mirrored_topics()),
            f"{SOURCE}->{TARGET}.groups": topic_pattern([s.consumer_group_prefix]) + "[.].*",
            f"{TARGET}->{SOURCE}.enabled": "false",
            # Region B's processes run on region A's settings with another bootstrap: the same topic names.
            "replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
            "replication.factor": replicas,
            "offset-syncs.topic.replication.factor": replicas,
            "checkpoints.topic.replication.factor": replicas,
            "heartbeats.topic.replication.factor": replicas,
            "offset.storage.replication.factor": replicas,
            "status.storage.replication.factor": replicas,
            "config.storage.replication.factor": replicas,
            # Everything MirrorMaker writes for itself goes to region B, which survives region A.
            "offset-syncs.topic.location": "target",
            # The default looks for new topics every 10 minutes; the pipeline creates its topics when it starts.
            "refresh.topics.interval.seconds": "1",
            "refresh.groups.interval.seconds": "5",
            "sync.group.offsets.enabled": "true",
            "sync.group.offsets.interval.seconds": "5",
            "emit.checkpoints.interval.seconds": "5",
            "emit.heartbeats.interval.seconds": "1",
            # ACLs are region B's own (its producer door has its own SCRAM users).
            "sync.topic.acls.enabled": "false",
            # How often the copier records how far it read: what it copies again after a restart.
            "offset.flush.interval.ms": "5000",
            # A short fetch wait: the replication lag the drill measures should be MirrorMaker's, not the
            # consumer idling up to its default half second for more bytes.
            f"{SOURCE}.consumer.fetch.max.wait.ms": "100",
            "tasks.max": "1",
        }
        return props

    def rendered(self) -> str:
        return "# Generated by infra/local/stack.py on every start; edit the script, not this file.\n" + "".join(
            f"{k} = {v}\n" for k, v in self.properties().items()
        )

    def stale(self) -> bool:
        """Running with another configuration (another settings' topics or bootstraps): restart it."""
        try:
            running = self.config.read_text()
        except OSError:
            return True
        return _digest(running) != _digest(self.rendered())

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        write_private(self.config, self.rendered())  # it holds the pipeline's password
        self.log4j.write_text(_LOG4J.format(log_file=self.log_file, pattern_file=f"{self.log_file}.%i"))

    def command(self) -> list[str]:
        return [
            self.java(),
            "-Xmx256m",
            "-Xms128m",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j}",
            "-cp",
            self.classpath(),
            MAIN_CLASS,
            str(self.config),
            "--clusters",
            TARGET,  # this node drives the flows into region B
        ]

    def healthy(self) -> bool:
        """Ready once its heartbeat connector writes to region B: its Connect worker joined, its connectors
        run. (Whether the data is there is measured by the drill from the topics' offsets.)"""
        try:
            from confluent_kafka import Consumer, KafkaException, TopicPartition
        except ImportError:
            return self.running_pid() is not None
        conf = client_config(
            replace(self.settings, kafka_bootstrap=self.target),
            log_level=0,
            error_cb=lambda _err: None,
            **{"group.id": "memstream.stack.mirror-maker-probe", "socket.timeout.ms": 3000},
        )
        consumer = Consumer(conf)
        try:
            topic = consumer.list_topics(HEARTBEATS_TOPIC, timeout=3).topics.get(HEARTBEATS_TOPIC)
            if topic is None or topic.error is not None or not topic.partitions:
                return False
            return any(
                consumer.get_watermark_offsets(TopicPartition(HEARTBEATS_TOPIC, p), timeout=3)[1] > 0
                for p in topic.partitions
            )
        except KafkaException:
            return False
        finally:
            consumer.close()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}

_LOG4J = """\
# Generated by infra/local/stack.py. MirrorMaker 2 logging: INFO to a rolling file, the clients at WARN.
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.filePattern = {pattern_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
"""
