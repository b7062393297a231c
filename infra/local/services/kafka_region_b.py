"""Region B of the disaster-recovery drill: a second Kafka cluster (KRaft, one JVM) beside region A's.

The same broker as ``kafka.Kafka`` and the same security model (three SASL listeners, the StandardAuthorizer,
the pipeline's principal a super user with the same password, so region B's processes run on region A's settings
with only the bootstrap changed), on its own ports (``adapters.kafka_auth.region_b_bootstrap``: region A's port
+ 10 unless ``dr_kafka_bootstrap`` says otherwise), with its own storage, cluster id and broker password under
``<data_dir>/region-b/``. It shares region A's jars. MirrorMaker 2 (``mirror_maker.py``) fills it.

Not started by a bare ``stack.py start``: ``stack.py start kafka-b mirror-maker`` or ``memstream dr drill``.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.kafka_auth import region_b_bootstrap
from adapters.secret_files import SECRETS_DIR
from infra.local.services.kafka import Kafka
from memory.settings import Settings

REGION_B_DIR = "region-b"


class RegionBKafka(Kafka):
    name = "kafka-b"

    def __init__(self, settings: Settings) -> None:
        # Region B's producer door is its own internal port + 2, like region A's; no producer credential exists
        # there until one is created against it (SCRAM users live in each cluster's metadata log).
        super().__init__(replace(settings, kafka_bootstrap=region_b_bootstrap(settings), kafka_producer_bootstrap=""))
        self.home = self.data / REGION_B_DIR / "kafka"
        self.config = self.home / "server.properties"
        self.log4j = self.home / "log4j2.properties"
        self.storage = self.home / "data"
        self.stdout_file = self.logs_dir / "kafka-b.out"
        self.broker_password_file = self.data / SECRETS_DIR / "kafka-b-broker.password"
