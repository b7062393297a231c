"""infra/compose/compose.yaml: valid against the Compose Specification, and consistent with the project.

The schema is the copy that ``check-jsonschema`` vendors (``check_jsonschema/builtin_schemas/vendor/
compose-spec.json``); nothing is fetched from the web. The project checks are the mistakes that a schema
cannot see: a port that differs from the defaults in ``memory/settings.py``, an environment variable that no
setting reads, a Kafka listener advertised at the wrong address, a ``depends_on`` on a missing service, a
default or written-down credential, a secret a service reads but does not mount.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import stat
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from memory.settings import PROJECT_ROOT, Settings, Topics
from tests.unit.infra_tools import api_routes

COMPOSE_DIR = PROJECT_ROOT / "infra" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
DEFAULTS = Settings()

PROJECT_SERVICES = ("streams", "projections", "api-1", "api-2")
API_REPLICAS = ("api-1", "api-2")
# Settings field holding each store's address -> compose service, and the port the service listens on inside.
STORE_ENDPOINTS = {
    "kafka_bootstrap": ("kafka", 9092),
    "neo4j_uri": ("neo4j", 7687),
    "postgres_dsn": ("postgres", 5432),
    "redis_url": ("redis", 6379),
    "milvus_uri": ("milvus", 19530),
}
# What each project process needs to reach (from the code: streams/app.py, projections/wiring.py, api/services.py).
NEEDS = {
    "streams": {"kafka"},
    "projections": {"kafka", "postgres", "neo4j", "redis", "milvus"},
    "api-1": {"kafka", "postgres", "neo4j", "redis", "milvus"},
    "api-2": {"kafka", "postgres", "neo4j", "redis", "milvus"},
}
REQUIRED_SERVICES = {"kafka", "neo4j", "postgres", "redis", "milvus", "etcd", "minio", "lb", *PROJECT_SERVICES}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _host_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    assert parts.hostname and parts.port, address
    return parts.hostname, parts.port


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """container port -> (host ip, host port), for the short ("[ip:]host:container") and long port syntax."""
    result: dict[int, tuple[str, int]] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result[int(entry["target"])] = (str(entry.get("host_ip", "")), int(entry["published"]))
            continue
        ip_and_published, _, target = str(entry).split("/", 1)[0].rpartition(":")
        ip, _, published = ip_and_published.rpartition(":")
        assert published, f"{entry}: a published port must be fixed, not random"
        result[int(target)] = (ip, int(published))
    return result


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


# ------------------------------------------------------------------------------------------ the schema


SCHEMA_IN_PACKAGE = "check_jsonschema/builtin_schemas/vendor/compose-spec.json"


def _compose_schema() -> dict[str, Any]:
    """The schema file from the installed distribution, found through its metadata (nothing is imported)."""
    try:
        dist = metadata.distribution("check-jsonschema")
    except metadata.PackageNotFoundError:
        pytest.skip("needs the dev extra check-jsonschema, which ships the Compose Specification schema")
    path = Path(str(dist.locate_file(SCHEMA_IN_PACKAGE)))
    data = path.read_bytes()
    # The package records the checksum of each schema it vendors: a damaged copy fails here, not obscurely.
    recorded = path.parent / "sha256" / "compose-spec.sha256"
    assert hashlib.sha256(data).hexdigest() == recorded.read_text().strip()
    schema: dict[str, Any] = json.loads(data)
    return schema


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    from jsonschema.validators import validator_for

    schema = _compose_schema()
    assert schema.get("title") == "Compose Specification"
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: str(list(e.absolute_path)))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    """Guards the guard: a validator that accepts anything would make the test above meaningless."""
    from jsonschema.validators import validator_for

    schema = _compose_schema()
    broken = json.loads(json.dumps(compose))
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    broken["services"]["api-1"]["depends_on"] = "kafka"
    assert len(list(validator_for(schema)(schema).iter_errors(broken))) >= 2


# ------------------------------------------------------------------------------------ project checks


def test_every_service_the_project_needs_exists(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= REQUIRED_SERVICES, sorted(REQUIRED_SERVICES - set(services))


def test_published_ports_are_the_settings_defaults_on_loopback(services: dict[str, dict[str, Any]]) -> None:
    expected = {  # service -> (container port, host port from Settings' defaults)
        "kafka": (19092, _host_port(DEFAULTS.kafka_bootstrap)[1]),
        "neo4j": (7687, _host_port(DEFAULTS.neo4j_uri)[1]),
        "postgres": (5432, _host_port(DEFAULTS.postgres_dsn)[1]),
        "redis": (6379, _host_port(DEFAULTS.redis_url)[1]),
        "milvus": (19530, _host_port(DEFAULTS.milvus_uri)[1]),
        "lb": (DEFAULTS.api_port, DEFAULTS.api_port),  # the API's port is the load balancer's
    }
    for name, (target, host_port) in expected.items():
        published = _published(services[name])
        assert published.get(target) == ("127.0.0.1", host_port), (name, published)
    for name, service in services.items():
        for ip, _ in _published(service).values():
            assert ip == "127.0.0.1", f"{name} publishes a port beyond loopback"


def test_the_worker_and_projectors_publish_their_named_metrics_ports(services: dict[str, dict[str, Any]]) -> None:
    """Each serves /metrics on the container's address at the settings' default port (adapters/metrics.py), published
    on loopback under the name "metrics" like the local processes."""
    for name, port in (("streams", DEFAULTS.streams_metrics_port), ("projections", DEFAULTS.projections_metrics_port)):
        service = services[name]
        assert service["environment"]["MEMSTREAM_METRICS_HOST"] == "0.0.0.0", name
        named = {entry["name"]: entry for entry in service["ports"] if isinstance(entry, dict)}
        assert int(named["metrics"]["target"]) == port, name
        assert _published(service)[port] == ("127.0.0.1", port), name


def _listeners(value: str) -> dict[str, str]:
    """``NAME://host:port,...`` -> {NAME: "host:port"}."""
    return dict(item.split("://", 1) for item in value.split(","))


def test_kafka_advertises_what_clients_are_given(services: dict[str, dict[str, Any]]) -> None:
    """Clients talk to the advertised address, not the one they bootstrapped with: each must be reachable, and
    each advertised listener must be the one listening on that port (the classic Kafka-in-Docker mistake)."""
    kafka = services["kafka"]
    env = _environment(kafka)
    listening = {name: int(address.rsplit(":", 1)[1]) for name, address in _listeners(env["KAFKA_LISTENERS"]).items()}
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] not in advertised
    by_address = {address: name for name, address in advertised.items()}
    published = _published(kafka)
    # From the host: 127.0.0.1:<default port>, published to the listener that advertises exactly that.
    host_listener = by_address[DEFAULTS.kafka_bootstrap]
    host_port = _host_port(DEFAULTS.kafka_bootstrap)[1]
    assert published[listening[host_listener]] == ("127.0.0.1", host_port)
    assert listening[host_listener] == host_port  # the advertised port is the one the host can reach
    # From the other containers: the service name and the port its listener has inside the network.
    for name in PROJECT_SERVICES:
        bootstrap = _environment(services[name])["MEMSTREAM_KAFKA_BOOTSTRAP"]
        assert bootstrap in by_address, f"{name} bootstraps from {bootstrap}, which Kafka does not advertise"
        host, port = _host_port(bootstrap)
        assert (host, listening[by_address[bootstrap]]) == ("kafka", port), (name, bootstrap)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, single node
    assert kafka["image"].startswith("apache/kafka:")


def test_kafka_authenticates_every_listener_like_the_local_stack(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The same doors as infra/local/services/kafka.py: every listener SASL, PLAIN for the pipeline and the
    broker, SCRAM for producers, the same authorizer and super users; the producer door published like the
    host listener; the pipeline's password where adapters/kafka_auth.py looks for it in every project service."""
    from adapters.kafka_auth import PIPELINE_PASSWORD_FILE, producer_bootstrap
    from infra.local.services.kafka import Kafka

    kafka = services["kafka"]
    env = _environment(kafka)
    local = Kafka(Settings(data_dir=tmp_path, kafka_password="x" * 20))._security_properties()
    for key in (
        "authorizer.class.name",
        "super.users",
        "allow.everyone.if.no.acl.found",
        "sasl.mechanism.controller.protocol",
        "sasl.mechanism.inter.broker.protocol",
    ):
        assert env["KAFKA_" + key.replace(".", "_").upper()] == local[key], key
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "a listener that does not authenticate"
    mechanisms = {name: env.get(f"KAFKA_LISTENER_NAME_{name}_SASL_ENABLED_MECHANISMS") for name in protocols}
    assert mechanisms == {"INTERNAL": "PLAIN", "CONTROLLER": "PLAIN", "HOST": "PLAIN", "PRODUCER": "SCRAM-SHA-512"}
    assert "ScramLoginModule" in env["KAFKA_LISTENER_NAME_PRODUCER_SCRAM___SHA___512_SASL_JAAS_CONFIG"]
    script = kafka["command"][-1]
    for name in ("INTERNAL", "HOST", "CONTROLLER"):  # each PLAIN listener gets its users from the secrets volume
        assert f"export KAFKA_LISTENER_NAME_{name}_PLAIN_SASL_JAAS_CONFIG=" in script, name
    assert script.rstrip().endswith("exec /etc/kafka/docker/run")

    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    door = producer_bootstrap(DEFAULTS)
    assert advertised["PRODUCER"] == door
    listening = int(_listeners(env["KAFKA_LISTENERS"])["PRODUCER"].rsplit(":", 1)[1])
    assert _published(kafka)[listening] == ("127.0.0.1", _host_port(door)[1]) and listening == _host_port(door)[1]

    volume = next(v.split(":")[0] for v in kafka["volumes"] if ":/secrets" in v)
    assert _depends_on(kafka) == {"secrets-init": "service_completed_successfully"}
    assert f"{volume}:/secrets" in services["secrets-init"]["volumes"]
    for name in PROJECT_SERVICES:
        data_dir = _environment(services[name])["MEMSTREAM_DATA_DIR"]
        secrets_dir = (Path(data_dir) / PIPELINE_PASSWORD_FILE).parent
        assert f"{volume}:{secrets_dir}" in services[name]["volumes"], name


def test_depends_on_targets_exist_and_are_healthchecked(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            assert target in services, f"{name} depends on missing service {target}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"


def _one_shot(services: dict[str, dict[str, Any]]) -> set[str]:
    """Jobs that run to completion (others wait for ``service_completed_successfully``): nothing to health-check."""
    return {
        target
        for service in services.values()
        for target, condition in _depends_on(service).items()
        if condition == "service_completed_successfully"
    }


def test_infra_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    infra = [name for name, service in services.items() if "build" not in service and name not in _one_shot(services)]
    assert set(infra) >= {"kafka", "neo4j", "postgres", "redis", "milvus", "etcd", "minio"}
    for name in infra:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_project_services_env_names_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    known = {f"MEMSTREAM_{f.name.upper()}" for f in fields(Settings) if f.name != "topics"}
    known |= {f"MEMSTREAM_TOPIC_{f.name.upper()}" for f in fields(Topics)}
    for name in PROJECT_SERVICES:
        env = _environment(services[name])
        assert env, f"{name} has no environment"
        unknown = {key for key in env if key.startswith("MEMSTREAM_")} - known
        assert not unknown, f"{name}: no setting reads {sorted(unknown)}"
        assert not {key for key in env if not key.startswith("MEMSTREAM_")}, name
        Settings.from_env({k: v for k, v in env.items() if "${" not in v})  # values parse (ints are ints)


def test_project_services_reach_the_stores_they_wait_for(services: dict[str, dict[str, Any]]) -> None:
    for name in PROJECT_SERVICES:
        env = _environment(services[name])
        deps = _depends_on(services[name])
        reached = set()
        for field_name, (store, port) in STORE_ENDPOINTS.items():
            value = env.get(f"MEMSTREAM_{field_name.upper()}")
            if value is None:
                continue
            assert _host_port(value) == (store, port), (name, field_name, value)
            reached.add(store)
        assert NEEDS[name] <= reached, (name, sorted(NEEDS[name] - reached))
        for store in NEEDS[name]:
            assert deps.get(store) == "service_healthy", f"{name} must wait until {store} is healthy"


def test_postgres_identity_matches_the_settings(services: dict[str, dict[str, Any]]) -> None:
    pg = _environment(services["postgres"])
    default_dsn = urlsplit(DEFAULTS.postgres_dsn)
    assert pg["POSTGRES_USER"] == default_dsn.username
    assert pg["POSTGRES_DB"] == default_dsn.path.lstrip("/")
    for name in PROJECT_SERVICES:
        dsn = urlsplit(_environment(services[name])["MEMSTREAM_POSTGRES_DSN"])
        assert (dsn.username, dsn.path.lstrip("/")) == (pg["POSTGRES_USER"], pg["POSTGRES_DB"])
        assert dsn.password is None, f"{name}: a password written into the compose file"


# ------------------------------------------------------------------------------- closed stores


RUN_SECRETS = "/run/secrets/"
# Words that only a default or a written-down credential would put in the file.
DEFAULT_CREDENTIALS = ("minioadmin", "memstream-local", "trust", "changeme", "neo4j/neo4j")
SECRET_WORDS = ("PASSWORD", "AUTH", "SECRET", "ACCESS_KEY", "ROOT_USER")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (str(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [str(value)]


def _mounted(service: dict[str, Any]) -> set[str]:
    return {entry if isinstance(entry, str) else entry["source"] for entry in service.get("secrets", [])}


def _credential_problems(compose: dict[str, Any]) -> list[str]:
    """Default credentials anywhere, and any credential written into an environment instead of a file."""
    problems = []
    text = "\n".join(_strings(compose)).lower()
    problems += [f"{word!r} in compose.yaml" for word in DEFAULT_CREDENTIALS if word in text]
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if key in {"POSTGRES_HOST_AUTH_METHOD", "POSTGRES_INITDB_ARGS", "KAFKA_AUTHORIZER_CLASS_NAME"}:
                continue
            if any(word in key for word in SECRET_WORDS) and not key.endswith("_FILE"):
                problems.append(f"{name}: {key}={value!r} holds a credential, not the file of one")
    return problems


def _unmounted_secrets(compose: dict[str, Any]) -> list[str]:
    """Secrets a service reads (``/run/secrets/<name>`` in its environment, command or healthcheck, or MinIO's
    ``*_FILE`` names) without mounting them, or mounts without the file declaring them."""
    problems = []
    declared = set(compose.get("secrets") or {})
    for name, service in compose["services"].items():
        mounted = _mounted(service)
        problems += [f"{name} mounts undeclared secret {s}" for s in sorted(mounted - declared)]
        read = {k: v for k, v in service.items() if k in ("environment", "command", "healthcheck")}
        used = {
            text.split(RUN_SECRETS, 1)[1].split()[0].strip("\"')") for text in _strings(read) if RUN_SECRETS in text
        }
        used |= {v for k, v in _environment(service).items() if k.startswith("MINIO_") and k.endswith("_FILE")}
        problems += [f"{name} reads secret {s} without mounting it" for s in sorted(used - mounted)]
    return problems


def test_no_default_or_written_down_credentials_remain(compose: dict[str, Any]) -> None:
    assert not _credential_problems(compose)


def test_every_secret_a_service_reads_is_mounted_and_declared(compose: dict[str, Any]) -> None:
    assert not _unmounted_secrets(compose)


def test_the_credential_checks_catch_the_old_file(compose: dict[str, Any]) -> None:
    """Guards the guards: the credentials of before, put back, are each reported."""
    broken = json.loads(json.dumps(compose))
    services = broken["services"]
    services["minio"]["environment"] = {"MINIO_ROOT_USER": "minioadmin", "MINIO_ROOT_PASSWORD": "minioadmin"}
    services["postgres"]["environment"]["POSTGRES_HOST_AUTH_METHOD"] = "trust"
    services["api-1"]["environment"]["MEMSTREAM_NEO4J_PASSWORD"] = "memstream-local"
    problems = "\n".join(_credential_problems(broken))
    for expected in ("'minioadmin'", "'trust'", "'memstream-local'", "MINIO_ROOT_PASSWORD=", "NEO4J_PASSWORD="):
        assert expected in problems, expected
    del services["api-1"]["secrets"]
    services["redis"]["secrets"] = ["redis_password", "nowhere"]
    problems = "\n".join(_unmounted_secrets(broken))
    assert "api-1 reads secret postgres_password without mounting it" in problems
    assert "redis mounts undeclared secret nowhere" in problems


def test_each_store_takes_its_password_from_a_secret(services: dict[str, dict[str, Any]]) -> None:
    pg = _environment(services["postgres"])
    assert pg["POSTGRES_PASSWORD_FILE"] == f"{RUN_SECRETS}postgres_password"
    assert pg["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"  # TCP
    assert set(pg["POSTGRES_INITDB_ARGS"].split()) == {"--auth-local=scram-sha-256", "--auth-host=scram-sha-256"}
    assert "psql" in " ".join(services["postgres"]["healthcheck"]["test"])  # a real login, not pg_isready

    assert _environment(services["neo4j"])["NEO4J_AUTH_FILE"] == f"{RUN_SECRETS}neo4j_auth"
    assert f"{RUN_SECRETS}neo4j_password" in " ".join(services["neo4j"]["healthcheck"]["test"])

    redis_command = " ".join(services["redis"]["command"])
    assert f'requirepass "$$(cat {RUN_SECRETS}redis_password)"' in redis_command
    assert "redis-server -" in redis_command and "docker-entrypoint.sh" in redis_command
    assert "REDISCLI_AUTH" in " ".join(services["redis"]["healthcheck"]["test"])

    minio = _environment(services["minio"])
    assert minio["MINIO_ROOT_USER_FILE"] == "minio_root_user"
    assert minio["MINIO_ROOT_PASSWORD_FILE"] == "minio_root_password"
    milvus_command = " ".join(services["milvus"]["command"])
    for variable, secret in (
        ("MINIO_ACCESS_KEY_ID", "minio_root_user"),
        ("MINIO_SECRET_ACCESS_KEY", "minio_root_password"),
    ):
        assert f'export {variable}="$$(cat {RUN_SECRETS}{secret})"' in milvus_command
    assert milvus_command.rstrip().endswith("exec milvus run standalone")


def test_project_services_read_exactly_the_passwords_they_need(services: dict[str, dict[str, Any]]) -> None:
    for name in PROJECT_SERVICES:
        env = _environment(services[name])
        for store in ("postgres", "redis", "neo4j"):
            key = f"MEMSTREAM_{store.upper()}_PASSWORD_FILE"
            if store in NEEDS[name]:
                assert env.get(key) == f"{RUN_SECRETS}{store}_password", (name, key)
                assert f"{store}_password" in _mounted(services[name]), name
            else:  # the streams worker talks to Kafka only
                assert key not in env and f"{store}_password" not in _mounted(services[name]), (name, store)
        assert not {k for k in env if k.endswith("_PASSWORD")}, f"{name}: a password in the environment"


def test_the_app_connects_with_the_passwords_compose_mounts(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """What the API's container does at start: settings from its environment, passwords from the secret files."""
    from adapters.store_credentials import fill_store_credentials
    from infra.compose.generate_secrets import generate

    generate(tmp_path)
    env = {
        k: v.replace(RUN_SECRETS, f"{tmp_path}/") for k, v in _environment(services["api-1"]).items() if "${" not in v
    }
    settings = fill_store_credentials(Settings.from_env(env))
    secret = {name: (tmp_path / f"{name}_password").read_text().strip() for name in ("postgres", "redis", "neo4j")}
    assert urlsplit(settings.postgres_dsn).password == secret["postgres"]
    assert urlsplit(settings.redis_url).password == secret["redis"]
    assert settings.neo4j_password == secret["neo4j"]
    assert (tmp_path / "neo4j_auth").read_text().strip() == f"neo4j/{secret['neo4j']}"  # what the Neo4j image reads


def test_secrets_are_generated_declared_and_never_committed(compose: dict[str, Any], tmp_path: Path) -> None:
    from infra.compose import generate_secrets

    declared = compose["secrets"]
    assert set(declared) == set(generate_secrets.ALL_SECRETS)
    for name, spec in declared.items():
        assert spec == {"file": f"./secrets/{name}"}, name
    assert "infra/compose/secrets/" in (PROJECT_ROOT / ".gitignore").read_text().split()
    assert "infra/compose/secrets" in (COMPOSE_DIR / "Dockerfile.dockerignore").read_text().split()  # not in the image

    created = generate_secrets.generate(tmp_path / "secrets")
    assert sorted(p.name for p in created) == sorted(generate_secrets.ALL_SECRETS)
    folder = tmp_path / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    before = {p.name: p.read_text() for p in folder.iterdir()}
    assert all(stat.S_IMODE((folder / n).stat().st_mode) == 0o644 for n in before)  # containers' own users read them
    assert len({before[n] for n in generate_secrets.RANDOM_SECRETS}) == len(generate_secrets.RANDOM_SECRETS)
    assert generate_secrets.generate(folder) == []  # idempotent: a store's password never changes under it
    assert {p.name: p.read_text() for p in folder.iterdir()} == before


def test_project_services_run_the_project_entry_points(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "streams": ["python", "-m", "streams", "worker"],
        "projections": ["python", "-m", "projections"],
        "api-1": ["python", "-m", "api"],
        "api-2": ["python", "-m", "api"],
    }
    for name, command in expected.items():
        service = services[name]
        assert service["command"] == command
        assert (PROJECT_ROOT / command[2] / "__main__.py").is_file()
        build = service["build"]
        context = (COMPOSE_DIR / build["context"]).resolve()
        assert context == PROJECT_ROOT.resolve()
        assert (context / build["dockerfile"]).is_file()
    for name in API_REPLICAS:
        env = _environment(services[name])
        assert env["MEMSTREAM_API_HOST"] == "0.0.0.0"  # reachable from the load balancer's container
        assert int(env.get("MEMSTREAM_API_PORT", DEFAULTS.api_port)) == DEFAULTS.api_port


def test_dockerfile_installs_the_project_with_its_schemas() -> None:
    text = (COMPOSE_DIR / "Dockerfile").read_text()
    assert "FROM python:3.11" in text  # pyproject: requires-python >=3.11,<3.12
    assert "pip install -e ." in text  # memory/contract/codec.py reads schemas/avro beside the package
    ignored = (COMPOSE_DIR / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".data", ".git"} <= set(ignored)
    assert "schemas" not in ignored


# ------------------------------------------------------------------------------- tests/containers.py


def test_container_stack_is_a_context_manager_factory() -> None:
    from tests import containers

    assert callable(containers.container_stack)
    manager = containers.container_stack()  # a generator-based manager starts nothing until entered
    assert isinstance(manager, contextlib.AbstractContextManager)
    assert containers.milvus_mode_from_env({}) == "container"
    assert containers.milvus_mode_from_env({"MEMSTREAM_TEST_MILVUS": "lite"}) == "lite"
    with pytest.raises(ValueError):
        containers.milvus_mode_from_env({"MEMSTREAM_TEST_MILVUS": "docker"})
    settings = containers.stack_settings(
        DEFAULTS,
        kafka_bootstrap="h:1",
        neo4j_uri="bolt://h:2",
        postgres_dsn="postgresql://u@h:3/d",
        redis_url="redis://h:4/0",
        milvus_uri="http://h:5",
        passwords=containers.StorePasswords(postgres="pg-secret", redis="redis-secret", neo4j="neo4j-secret"),
    )
    assert (settings.kafka_bootstrap, settings.milvus_uri) == ("h:1", "http://h:5")
    assert settings.topics == DEFAULTS.topics
    # The containers' passwords, in the addresses too, never those of a local stack the base may carry.
    assert (settings.postgres_dsn, settings.postgres_password) == ("postgresql://u:pg-secret@h:3/d", "pg-secret")
    assert (settings.redis_url, settings.redis_password) == ("redis://:redis-secret@h:4/0", "redis-secret")
    assert settings.neo4j_password == "neo4j-secret"
    assert "-secret" not in repr(settings)
    passwords = containers.StorePasswords.random()
    assert len({passwords.postgres, passwords.redis, passwords.neo4j}) == 3
    assert not any(value in repr(passwords) for value in (passwords.postgres, passwords.redis, passwords.neo4j))
    assert settings.kafka_producer_bootstrap == ""  # the internal listener's port + 2 unless given
    # The container's environment names follow apache/kafka's rule, as the compose file's do.
    assert (
        containers._kafka_image_variable("listener.name.producer.scram-sha-512.sasl.jaas.config")
        == "KAFKA_LISTENER_NAME_PRODUCER_SCRAM___SHA___512_SASL_JAAS_CONFIG"
    )
    assert containers._kafka_image_variable("a_b.c") == "KAFKA_A__B_C"


def test_container_images_follow_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    from tests import containers

    assert services["kafka"]["image"] == containers.KAFKA_IMAGE
    assert services["neo4j"]["image"] == containers.NEO4J_IMAGE
    assert services["postgres"]["image"] == containers.POSTGRES_IMAGE
    assert services["redis"]["image"] == containers.REDIS_IMAGE
    assert services["milvus"]["image"] == containers.MILVUS_IMAGE


# ------------------------------------------------------------------------------- the load balancer

HAPROXY_CFG = COMPOSE_DIR / "haproxy.cfg"
HAPROXY_CFG_IN_CONTAINER = "/usr/local/etc/haproxy/haproxy.cfg"


def _haproxy_sections(text: str) -> dict[str, list[list[str]]]:
    """``"backend api_replicas"`` -> its directives, each split into words (comments and blank lines dropped)."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        words = line.split()
        if not raw[0].isspace():  # a section header starts at the margin
            current = sections.setdefault(" ".join(words), [])
        else:
            current.append(words)
    return sections


def _load_balancer_problems(compose: dict[str, Any], cfg: str, routes: set[str]) -> list[str]:
    """What would make the balancer route nowhere, to the wrong processes, or by a check that proves nothing."""
    problems = []
    services = compose["services"]
    replicas = {name for name, s in services.items() if s.get("command") == ["python", "-m", "api"]}
    if len(replicas) < 2:
        problems.append(f"{len(replicas)} API replica(s), not two or more")
    sections = _haproxy_sections(cfg)
    frontends = [words for name, body in sections.items() if name.startswith("frontend ") for words in body]
    binds = {int(words[1].rsplit(":", 1)[1]) for words in frontends if words[0] == "bind"}
    if binds != {DEFAULTS.api_port}:
        problems.append(f"the frontend binds {sorted(binds)}, not the API's port {DEFAULTS.api_port}")
    backends = {name.split()[1]: body for name, body in sections.items() if name.startswith("backend ")}
    used = {words[1] for words in frontends if words[0] == "default_backend"}
    for name in sorted(used - set(backends)):
        problems.append(f"default_backend {name} is not defined")
    for name in sorted(used & set(backends)):
        body = backends[name]
        servers = {words[2].rsplit(":", 1)[0]: words for words in body if words[0] == "server"}
        if set(servers) != replicas:
            problems.append(f"backend {name} serves {sorted(servers)}, the API replicas are {sorted(replicas)}")
        for host, words in servers.items():
            port = int(words[2].rsplit(":", 1)[1])
            if host in services and port != int(_environment(services[host]).get("MEMSTREAM_API_PORT", "0")):
                problems.append(f"server {host} at port {port}, which it does not listen on")
        checked = all("check" in words for words in servers.values()) or any(
            words[:2] == ["default-server", "check"] or (words[0] == "default-server" and "check" in words)
            for words in body
        )
        if not checked:
            problems.append(f"backend {name}: servers are not health-checked")
        sends = [words for words in body if words[:2] == ["http-check", "send"]]
        paths = [words[words.index("uri") + 1] for words in sends if "uri" in words]
        if paths != ["/ready"]:
            problems.append(f"backend {name} checks {paths}, not /ready")
        problems += [
            f"backend {name} checks {path}, which is no route of the API" for path in paths if path not in routes
        ]
        if ["http-check", "expect", "status", "200"] not in body:
            problems.append(f"backend {name}: a check that accepts any status")
    return problems


def test_the_load_balancer_fronts_the_api_replicas(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    lb = services["lb"]
    assert lb["image"].startswith("haproxy:")
    assert f"./{HAPROXY_CFG.name}:{HAPROXY_CFG_IN_CONTAINER}:ro" in lb["volumes"]
    assert set(_depends_on(lb)) == set(API_REPLICAS)
    assert not _load_balancer_problems(compose, HAPROXY_CFG.read_text(), api_routes())
    for name in API_REPLICAS:  # every request goes through the balancer; the replicas check the same route
        assert not services[name].get("ports"), f"{name} publishes a port beside the balancer"
        assert "/ready" in services[name]["healthcheck"]["test"][-1]
        assert "secrets:/data/secrets" in services[name]["volumes"]  # one pepper, one token key for all
    assert "/ready" in lb["healthcheck"]["test"][-1]


def test_the_load_balancer_checks_catch_mistakes(compose: dict[str, Any]) -> None:
    """Guards the guard: each mistake, made in a copy, is reported."""
    cfg = HAPROXY_CFG.read_text()
    routes = api_routes()
    one_replica = json.loads(json.dumps(compose))
    del one_replica["services"]["api-2"]
    mistakes = {
        "a backend server that is not a replica": (
            compose,
            cfg.replace("server api-2 api-2:", "server x projections:"),
        ),
        "a replica left out": (one_replica, cfg),
        "a checked path that is no route": (compose, cfg.replace("uri /ready", "uri /readyz")),
        "the liveness route as the check": (compose, cfg.replace("uri /ready", "uri /health")),
        "a wrong port": (compose, cfg.replace("api-1:18080", "api-1:8080")),
        "any status accepted": (compose, cfg.replace("http-check expect status 200\n", "")),
        "no checks": (compose, cfg.replace("default-server check ", "default-server ")),
        "another frontend port": (compose, cfg.replace("bind :18080", "bind :8080")),
    }
    for mistake, (broken_compose, broken_cfg) in mistakes.items():
        assert broken_cfg != cfg or broken_compose is not compose, mistake
        assert _load_balancer_problems(broken_compose, broken_cfg, routes), mistake
