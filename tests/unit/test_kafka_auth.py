"""Who every Kafka client is, without a broker: settings, the credential filler, client configurations, the local
broker's generated security configuration, and ``memstream produce`` refusing to run without a credential."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.kafka_auth import (
    LIBRDKAFKA_LOG,
    PIPELINE_PASSWORD_FILE,
    client_config,
    fill_kafka_credentials,
    producer_bootstrap,
    producer_client_config,
)
from adapters.producer_door import ProducerDoorError, producer_password_file
from adapters.settings_loader import load_settings
from infra.local.services.common import StackError
from infra.local.services.kafka import BROKER_PASSWORD_FILE, Kafka
from memory.settings import Settings
from memstream_cli.main import main
from streams.app import broker_credentials

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "conversation.jsonl"


def test_the_pipeline_password_is_generated_once_private_and_read_by_every_process(tmp_path: Path) -> None:
    first = load_settings({"MEMSTREAM_DATA_DIR": str(tmp_path)})
    path = tmp_path / PIPELINE_PASSWORD_FILE
    assert first.kafka_username == "memstream-pipeline"
    assert first.kafka_password == path.read_text().strip() and len(first.kafka_password) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings({"MEMSTREAM_DATA_DIR": str(tmp_path)}).kafka_password == first.kafka_password
    # A child process gets the settings' environment, with the password in it: the same one again.
    assert load_settings(first.to_env()).kafka_password == first.kafka_password


def test_the_environment_wins_over_the_file_and_plaintext_needs_no_password(tmp_path: Path) -> None:
    given = load_settings({"MEMSTREAM_DATA_DIR": str(tmp_path), "MEMSTREAM_KAFKA_PASSWORD": "from-the-environment"})
    assert given.kafka_password == "from-the-environment"
    plaintext = fill_kafka_credentials(Settings(data_dir=tmp_path, kafka_security_protocol="PLAINTEXT"))
    assert plaintext.kafka_password == ""
    assert not (tmp_path / PIPELINE_PASSWORD_FILE).exists()  # neither call invented a password


def test_passwords_stay_out_of_the_settings_repr() -> None:
    shown = repr(Settings(kafka_password="pipeline-secret-xyz", producer_password="producer-secret-xyz"))
    assert "pipeline-secret-xyz" not in shown and "producer-secret-xyz" not in shown


def test_every_client_configuration_carries_the_principal() -> None:
    settings = Settings(kafka_bootstrap="k:1", kafka_password="pw")
    assert client_config(settings, **{"group.id": "g"}) == {
        "bootstrap.servers": "k:1",
        "logger": LIBRDKAFKA_LOG,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "memstream-pipeline",
        "sasl.password": "pw",
        "group.id": "g",
    }
    msk = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512", kafka_password="pw")
    assert client_config(msk)["security.protocol"] == "SASL_SSL"
    assert client_config(Settings(kafka_security_protocol="PLAINTEXT")) == {
        "bootstrap.servers": Settings().kafka_bootstrap,
        "logger": LIBRDKAFKA_LOG,
        "security.protocol": "PLAINTEXT",
    }
    door = producer_client_config(settings, "acme", "secret")
    assert door["logger"] is LIBRDKAFKA_LOG  # librdkafka's lines through logging, never plain text on stderr
    assert door["bootstrap.servers"] == "k:3"  # the producer listener, not the internal one
    assert (door["sasl.mechanism"], door["sasl.username"], door["sasl.password"]) == ("SCRAM-SHA-512", "acme", "secret")


def test_the_producer_listener_is_the_internal_port_plus_two_unless_set() -> None:
    assert producer_bootstrap(Settings(kafka_bootstrap="127.0.0.1:19092")) == "127.0.0.1:19094"
    assert producer_bootstrap(Settings(kafka_bootstrap="b1:9000,b2:9000")) == "b1:9002"
    explicit = Settings(kafka_producer_bootstrap="b-1.msk.example:9096")
    assert producer_bootstrap(explicit) == "b-1.msk.example:9096"


def test_the_faust_worker_authenticates_as_the_pipeline() -> None:
    credentials = broker_credentials(Settings(kafka_password="pw"))
    assert credentials is not None
    assert (credentials.username, credentials.password) == ("memstream-pipeline", "pw")
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_PLAINTEXT", "PLAIN")
    tls = broker_credentials(Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512"))
    assert tls is not None and (tls.protocol.value, tls.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert broker_credentials(Settings(kafka_security_protocol="PLAINTEXT")) is None


def test_the_local_broker_authenticates_every_listener_and_authorizes_with_acls(tmp_path: Path) -> None:
    settings = load_settings({"MEMSTREAM_DATA_DIR": str(tmp_path), "MEMSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:29092"})
    props = Kafka(settings)._security_properties()
    broker_password = (tmp_path / BROKER_PASSWORD_FILE).read_text().strip()
    assert props["listeners"] == "INTERNAL://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093,PRODUCER://127.0.0.1:29094"
    assert set(props["listener.security.protocol.map"].split(",")) == {
        "INTERNAL:SASL_PLAINTEXT",
        "CONTROLLER:SASL_PLAINTEXT",
        "PRODUCER:SASL_PLAINTEXT",
    }
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:memstream-broker;User:memstream-pipeline"
    # The pipeline logs in on the internal listener only; the controller knows the broker alone; the producer
    # listener takes SCRAM (users in the metadata log), nothing else.
    internal = props["listener.name.internal.plain.sasl.jaas.config"]
    assert f'user_memstream-pipeline="{settings.kafka_password}"' in internal
    assert f'username="memstream-broker" password="{broker_password}"' in internal
    controller = props["listener.name.controller.plain.sasl.jaas.config"]
    assert "memstream-pipeline" not in controller and f'user_memstream-broker="{broker_password}"' in controller
    assert props["listener.name.producer.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "ScramLoginModule" in props["listener.name.producer.scram-sha-512.sasl.jaas.config"]
    assert not any(key.startswith("listener.name.producer.plain") for key in props)


def test_the_local_broker_refuses_to_run_without_authentication(tmp_path: Path) -> None:
    open_broker = Settings(data_dir=tmp_path, kafka_security_protocol="PLAINTEXT")
    with pytest.raises(StackError, match="must be SASL_PLAINTEXT"):
        Kafka(open_broker)._security_properties()


def test_producer_names_cannot_be_the_pipelines_or_odd(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert producer_password_file(settings, "acme.chat-1").name == "kafka-producer-acme.chat-1.password"
    for name in ("memstream-pipeline", "memstream-broker", "../escape", "", "a b", "User:x", "x" * 65):
        with pytest.raises(ProducerDoorError):
            producer_password_file(settings, name)


def test_produce_without_a_credential_is_refused_before_touching_the_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEMSTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEMSTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # nothing listens there
    for var in ("MEMSTREAM_PRODUCER_USERNAME", "MEMSTREAM_PRODUCER_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    assert main(["produce", str(SAMPLE)]) == 2
    assert "a username is missing" in capsys.readouterr().err
    assert main(["produce", str(SAMPLE), "--username", "acme"]) == 2
    assert "a password is missing" in capsys.readouterr().err
    assert main(["produce", str(SAMPLE), "--username", "acme", "--password-file", str(tmp_path / "none")]) == 2
    assert "cannot read the password file" in capsys.readouterr().err


def test_a_broker_started_before_authentication_is_named_not_waited_for(tmp_path: Path) -> None:
    kafka = Kafka(Settings(data_dir=tmp_path, kafka_password="x" * 20))
    # Stands in for the JVM: a process whose command line names kafka.Kafka, as the PID check wants.
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "kafka.Kafka"])
    try:
        kafka.run_dir.mkdir(parents=True)
        kafka.pid_file.write_text(f"{stand_in.pid}\n")
        kafka.home.mkdir(parents=True)
        kafka.config.write_text("listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n")
        with pytest.raises(StackError, match=r"restart it once: python infra/local/stack\.py restart kafka"):
            kafka.poll_ready(time.monotonic(), 60)
    finally:
        stand_in.kill()
        stand_in.wait()
