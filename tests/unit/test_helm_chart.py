"""infra/helm/memstream: rendered with Helm's own engine and every object strictly decoded into the Kubernetes
(client-go) or KEDA type of its kind, by the project's checker infra/helm/check (``make iac-tools``); then the
project's checks, which no schema can see: selectors that select, probes on routes that exist, a KEDA trigger
on the workers' real consumer group and topics, every Secret key a pod reads present, settings that are
settings. Nothing is fetched: the chart has no dependencies and the schemes are compiled into the checker.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from adapters.heartbeat import PROCESSES
from memory.settings import PROJECT_ROOT, Settings, Topics
from projections.wiring import PROJECTION_NAMES, metrics_port
from tests.unit.infra_tools import api_routes, run_tool

CHART = PROJECT_ROOT / "infra" / "helm" / "memstream"
TEST_VALUES = CHART / "ci" / "values-test.yaml"
SETTING_NAMES = {f"MEMSTREAM_{f.name.upper()}" for f in fields(Settings) if f.name != "topics"} | {
    f"MEMSTREAM_TOPIC_{f.name.upper()}" for f in fields(Topics)
}
ENTRY_POINTS = {
    "api": ["python", "-m", "api"],
    "streams": ["python", "-m", "streams", "worker"],
    "projections": ["python", "-m", "projections"],
}
# The kafka scaler's parameters (KEDA docs, "Apache Kafka" scaler): a misspelt one is silently ignored by KEDA.
KEDA_KAFKA_METADATA = {
    "bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold", "offsetResetPolicy",
    "allowIdleConsumers", "excludePersistentLag", "scaleToZeroOnInvalidOffset", "limitToPartitionsWithLag",
    "partitionLimitation", "sasl", "username", "tls", "version",
}  # fmt: skip


def render(*args: str | Path, chart: Path = CHART) -> list[dict[str, Any]]:
    done = run_tool("helmcheck", "-f", TEST_VALUES, *args, chart)
    assert done.returncode == 0, done.stderr
    objects: list[dict[str, Any]] = json.loads(done.stdout)
    return objects


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render()


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _component(o: dict[str, Any]) -> str:
    return str(o["metadata"]["labels"]["app.kubernetes.io/component"])


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# ------------------------------------------------------------------------------------------ project checks


def _workload_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    deployments = _by_kind(objects, "Deployment")
    if {_component(d) for d in deployments.values()} != set(ENTRY_POINTS):
        problems.append(f"deployments {sorted(deployments)}, expected one per {sorted(ENTRY_POINTS)}")
    pdbs = _by_kind(objects, "PodDisruptionBudget").values()
    routes = api_routes()
    for name, d in deployments.items():
        pod_labels = d["spec"]["template"]["metadata"]["labels"]
        if not _selects(d["spec"]["selector"]["matchLabels"], pod_labels):
            problems.append(f"{name}: its selector does not select its own pods")
        if sum(_selects(p["spec"]["selector"]["matchLabels"], pod_labels) for p in pdbs) != 1:
            problems.append(f"{name}: not exactly one PodDisruptionBudget selects its pods")
        (container,) = d["spec"]["template"]["spec"]["containers"]
        if container["command"][: len(ENTRY_POINTS[_component(d)])] != ENTRY_POINTS.get(_component(d)):
            problems.append(f"{name}: runs {container['command']}")
        resources = container.get("resources", {})
        if not {"cpu", "memory"} <= set(resources.get("requests", {})) or "memory" not in resources.get("limits", {}):
            problems.append(f"{name}: needs cpu and memory requests and a memory limit")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            http = container.get(probe, {}).get("httpGet")
            if http is None:
                continue
            if http["path"] not in routes:
                problems.append(f"{name}: {probe} asks {http['path']}, which is no route of the API")
            if http["port"] not in ports:
                problems.append(f"{name}: {probe} on port {http['port']}, which the container does not name")
    for d in deployments.values():  # the processes without HTTP: their heartbeat (adapters/heartbeat.py)
        if _component(d) in PROCESSES:
            (container,) = d["spec"]["template"]["spec"]["containers"]
            for probe in ("livenessProbe", "startupProbe"):
                command = container.get(probe, {}).get("exec", {}).get("command", [])
                if command[:4] != ["python", "-m", "adapters.heartbeat", _component(d)] or len(command) != 5:
                    problems.append(f"{d['metadata']['name']}: {probe} is not its heartbeat check: {command}")
    api = [d for d in deployments.values() if _component(d) == "api"]
    for d in api:
        (container,) = d["spec"]["template"]["spec"]["containers"]
        if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/ready":
            problems.append("the API's readiness probe is not /ready")
        if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health":
            problems.append("the API's liveness probe is not /health (a store outage must not restart it)")
    for name, service in _by_kind(objects, "Service").items():
        selected = [
            d
            for d in deployments.values()
            if _selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        if [_component(d) for d in selected] != ["api"]:
            problems.append(f"Service {name} selects {[d['metadata']['name'] for d in selected]}, not the API alone")
        for port in service["spec"]["ports"]:
            for d in selected:
                names = {p["name"] for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                if port["targetPort"] not in names:
                    problems.append(
                        f"Service {name}: targetPort {port['targetPort']} is no port of {d['metadata']['name']}"
                    )
    return problems  # fmt: skip


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config_map,) = _by_kind(objects, "ConfigMap").values()
    data: dict[str, str] = config_map["data"]
    return data


def _settings_problems(objects: list[dict[str, Any]], existing_secret: str = "") -> list[str]:
    problems = []
    config = _config(objects)
    problems += [f"ConfigMap: {key} is no setting" for key in sorted(set(config) - SETTING_NAMES)]
    problems += [
        f"ConfigMap: {key} is a secret in plain text"
        for key in config
        if key.endswith(("_PASSWORD", "_SECRET", "_PEPPER"))
    ]
    try:
        Settings.from_env(config)
    except ValueError as exc:
        problems.append(f"ConfigMap: a value does not parse: {exc}")
    secrets = {
        name: set(s.get("stringData", {})) | set(s.get("data", {})) for name, s in _by_kind(objects, "Secret").items()
    }
    configs = set(_by_kind(objects, "ConfigMap"))

    def secret_key(where: str, name: str, key: str, optional: bool = False) -> None:
        if existing_secret and name == existing_secret:
            return  # made outside the chart: its keys are the operator's to provide
        if name not in secrets:
            problems.append(f"{where}: Secret {name} is not rendered")
        elif key not in secrets[name] and not optional:
            problems.append(f"{where}: Secret {name} has no key {key}")

    for name, d in _by_kind(objects, "Deployment").items():
        spec = d["spec"]["template"]["spec"]
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if source["configMapRef"]["name"] not in configs:
                    problems.append(f"{name}: reads ConfigMap {source['configMapRef']['name']}, which is not rendered")
            for env in container.get("env", []):
                if env["name"] not in SETTING_NAMES:
                    problems.append(f"{name}: {env['name']} is no setting")
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret_key(f"{name} {env['name']}", ref["name"], ref["key"], ref.get("optional", False))
            mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            problems += [f"{name}: mounts {v}, which the pod does not have" for v in sorted(set(mounts) - set(volumes))]
            files = {
                f"{mounts[v]}/{item['path']}"
                for v, volume in volumes.items()
                if "secret" in volume and v in mounts
                for item in volume["secret"]["items"]
            }
            for v, volume in volumes.items():
                for item in volume.get("secret", {}).get("items", []):
                    secret_key(f"{name} volume {v}", volume["secret"]["secretName"], item["key"])
            for env in container.get("env", []):
                if env["name"].endswith("_PASSWORD_FILE") and env["value"] not in files:
                    problems.append(f"{name}: {env['name']}={env['value']} is no mounted secret file")
    return problems  # fmt: skip


def _autoscaling_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    config = _config(objects)
    settings = Settings.from_env(config)
    deployments = {name: _component(d) for name, d in _by_kind(objects, "Deployment").items()}
    hpa_targets = [
        deployments.get(h["spec"]["scaleTargetRef"]["name"])
        for h in _by_kind(objects, "HorizontalPodAutoscaler").values()
    ]
    if hpa_targets != ["api"]:
        problems.append(f"HorizontalPodAutoscalers scale {hpa_targets}, expected the API alone")
    auths = _by_kind(objects, "TriggerAuthentication")
    secrets = {name: set(s.get("stringData", {})) for name, s in _by_kind(objects, "Secret").items()}
    for name, scaled in _by_kind(objects, "ScaledObject").items():
        spec = scaled["spec"]
        if deployments.get(spec["scaleTargetRef"]["name"]) != "streams":
            problems.append(f"ScaledObject {name} scales {spec['scaleTargetRef']['name']}, not the stream workers")
        if spec["maxReplicaCount"] > settings.kafka_partitions:
            problems.append(
                f"ScaledObject {name}: {spec['maxReplicaCount']} workers for {settings.kafka_partitions} partitions"
            )
        topics = set()
        for trigger in spec["triggers"]:
            meta = trigger["metadata"]
            if trigger["type"] != "kafka":
                problems.append(f"ScaledObject {name}: a {trigger['type']} trigger")
                continue
            problems += [
                f"ScaledObject {name}: {key} is no kafka scaler parameter"
                for key in sorted(set(meta) - KEDA_KAFKA_METADATA)
            ]
            if meta.get("consumerGroup") != settings.faust_app_id:
                problems.append(
                    f"ScaledObject {name}: group {meta.get('consumerGroup')}, the workers' is {settings.faust_app_id}"
                )
            if meta.get("bootstrapServers") != settings.kafka_bootstrap:
                problems.append(f"ScaledObject {name}: brokers {meta.get('bootstrapServers')} are not the pods'")
            expected_sasl = settings.kafka_sasl_mechanism.lower().replace("-", "_").replace("scram_sha_", "scram_sha")
            if meta.get("sasl") != expected_sasl or meta.get("username") != settings.kafka_username:
                problems.append(
                    f"ScaledObject {name}: SASL {meta.get('sasl')}/{meta.get('username')} is not the pods' login"
                )
            if (meta.get("tls") == "enable") != settings.kafka_security_protocol.endswith("SSL"):
                problems.append(f"ScaledObject {name}: tls={meta.get('tls')} with {settings.kafka_security_protocol}")
            topics.add(meta.get("topic"))
            auth = auths.get(trigger.get("authenticationRef", {}).get("name", ""))
            if auth is None:
                problems.append(f"ScaledObject {name}: its TriggerAuthentication is not rendered")
                continue
            for ref in auth["spec"].get("secretTargetRef", []):
                if ref["name"] in secrets and ref["key"] not in secrets[ref["name"]]:
                    problems.append(f"TriggerAuthentication: Secret {ref['name']} has no key {ref['key']}")
            if {r["parameter"] for r in auth["spec"].get("secretTargetRef", [])} != {"password"}:
                problems.append("TriggerAuthentication: the password must come from the Secret, nothing else")
        if topics != {settings.topics.turns, settings.topics.commands}:
            problems.append(
                f"ScaledObject {name}: lag of {sorted(map(str, topics))}, the workers consume turns and commands"
            )
    return problems  # fmt: skip


def _metrics_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every process is scraped where it serves: the annotations' port is a port the container names, the one the
    settings give that process (a projections pod running some stores: its own, projections/wiring.py)."""
    problems = []
    settings = Settings.from_env(_config(objects))
    routes = api_routes()
    for name, d in _by_kind(objects, "Deployment").items():
        (container,) = d["spec"]["template"]["spec"]["containers"]
        annotations = d["spec"]["template"]["metadata"].get("annotations", {})
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        component = _component(d)
        if not settings.metrics_enabled:
            if "prometheus.io/scrape" in annotations or "metrics" in ports:
                problems.append(f"{name}: scraped or a metrics port with metrics off")
            continue
        if component == "projections":
            serves = metrics_port(settings, container["command"][3:] or list(PROJECTION_NAMES))
        else:
            serves = settings.api_port if component == "api" else settings.streams_metrics_port
        if component != "api" and ports.get("metrics") != serves:
            problems.append(f"{name}: port 'metrics' is {ports.get('metrics')}, the process serves at {serves}")
        if annotations.get("prometheus.io/scrape") != "true":
            problems.append(f"{name}: not annotated for scraping")
        elif int(annotations.get("prometheus.io/port", "0")) != serves or serves not in ports.values():
            problems.append(f"{name}: scraped on {annotations.get('prometheus.io/port')}, it serves at {serves}")
        if annotations.get("prometheus.io/path") != "/metrics" or "/metrics" not in routes:
            problems.append(f"{name}: scraped at {annotations.get('prometheus.io/path')}")
    return problems


def _problems(objects: list[dict[str, Any]], existing_secret: str = "") -> list[str]:
    return (
        _workload_problems(objects)
        + _settings_problems(objects, existing_secret)
        + _autoscaling_problems(objects)
        + _metrics_problems(objects)
    )


# ------------------------------------------------------------------------------------------------ tests


def test_the_chart_renders_every_object_it_promises(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(o["kind"] for o in rendered)
    assert kinds == sorted(
        ["ConfigMap", "Secret", "Service", "HorizontalPodAutoscaler", "ScaledObject", "TriggerAuthentication"]
        + ["Deployment", "PodDisruptionBudget"] * 3
    )


def test_the_rendered_chart_passes_the_project_checks(rendered: list[dict[str, Any]]) -> None:
    assert not _problems(rendered)


def test_with_an_existing_secret_the_chart_makes_none_and_refers_to_it() -> None:
    objects = render("-set", "secrets.existingSecret=memstream-from-terraform")
    assert not _by_kind(objects, "Secret")
    assert not _problems(objects, existing_secret="memstream-from-terraform")
    text = json.dumps(objects)
    assert "memstream-secrets" not in text and "test-pepper" not in text


def test_a_dr_standby_runs_no_workers_and_projects_all_but_postgres() -> None:
    """What infra/terraform/modules/memstream_release sets for the DR region (standby = true)."""
    objects = render(
        "-set", "streams.replicas=0", "-set", "streams.keda.enabled=false",
        "-set", "projections.stores={milvus,neo4j,redis}",
    )  # fmt: skip
    assert not _by_kind(objects, "ScaledObject") and not _by_kind(objects, "TriggerAuthentication")
    deployments = {_component(d): d for d in _by_kind(objects, "Deployment").values()}
    assert deployments["streams"]["spec"]["replicas"] == 0
    (projector,) = deployments["projections"]["spec"]["template"]["spec"]["containers"]
    stores = projector["command"][3:]
    assert stores == ["milvus", "neo4j", "redis"] and set(stores) < set(PROJECTION_NAMES)
    assert not _workload_problems(objects) and not _settings_problems(objects) and not _metrics_problems(objects)
    # Its own metrics port (milvus is the second store), where the process serves and Prometheus scrapes.
    assert projector["ports"] == [{"name": "metrics", "containerPort": Settings().projections_metrics_port + 1}]


def test_every_process_is_scraped_where_it_serves_and_not_at_all_with_metrics_off(
    rendered: list[dict[str, Any]],
) -> None:
    assert {_component(d) for d in _by_kind(rendered, "Deployment").values()} == set(ENTRY_POINTS)
    assert not _metrics_problems(rendered)
    assert _metrics_problems(render("-set", "metrics.podAnnotations=false"))  # the check sees a pod left unscraped
    off = render("-set", "metrics.enabled=false")
    assert _config(off)["MEMSTREAM_METRICS_ENABLED"] == "false"
    assert not _metrics_problems(off) and not _workload_problems(off)


def test_missing_endpoints_and_secrets_fail_the_render_by_name(tmp_path: Path) -> None:
    empty = tmp_path / "values.yaml"
    empty.write_text("{}\n")
    done = run_tool("helmcheck", "-f", empty, CHART)
    assert done.returncode == 1 and "endpoints.kafkaBootstrap is required" in done.stderr
    done = run_tool("helmcheck", "-f", TEST_VALUES, "-set", "secrets.values.token-secret=", CHART)
    assert done.returncode == 1 and "secrets.values.token-secret is required" in done.stderr


def _broken_chart(tmp_path: Path, template: str, old: str, new: str) -> Path:
    chart = tmp_path / "memstream"
    shutil.copytree(CHART, chart)
    path = chart / "templates" / template
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return chart


@pytest.mark.parametrize(
    ("template", "old", "new", "expected"),
    [
        ("projections.yaml", "  replicas:", "  replica: 1\n  replicas:", 'unknown field "spec.replica"'),
        (
            "streams.yaml",
            "  minReplicaCount:",
            "  minReplicas: 1\n  minReplicaCount:",
            'unknown field "spec.minReplicas"',
        ),
        ("api.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", 'no kind "PodDisruptionBudgett"'),
        (
            "api.yaml",
            "  minAvailable: {{",
            "  minAvailable: [1]\n  maxUnavailable: {{",
            "cannot unmarshal array into Go struct field PodDisruptionBudgetSpec.spec.minAvailable",
        ),
        (
            "api.yaml",
            "              containerPort:",
            "              containerPort: 1\n              containerPort:",
            "containerPort",
        ),
    ],
    ids=["unknown-field", "unknown-keda-field", "unknown-kind", "wrong-type", "duplicate-field"],
)
def test_the_checker_refuses_what_kubernetes_would(
    tmp_path: Path, template: str, old: str, new: str, expected: str
) -> None:
    """Guards the guard: the strict decoding fails on each mistake, naming it."""
    chart = _broken_chart(tmp_path, template, old, new)
    done = run_tool("helmcheck", "-f", TEST_VALUES, chart)
    assert done.returncode == 1, done.stdout[:500]
    assert expected in done.stderr, done.stderr


def test_the_project_checks_catch_each_mistake(rendered: list[dict[str, Any]]) -> None:
    """Guards the guards: each mistake, made in a copy of the rendered objects, is reported."""

    def find(objects: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
        return next(o for o in objects if o["kind"] == kind and _component(o) == component)

    def container(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
        result: dict[str, Any] = find(objects, "Deployment", component)["spec"]["template"]["spec"]["containers"][0]
        return result

    def mistake(change: Any) -> list[str]:
        objects = copy.deepcopy(rendered)
        change(objects)
        return _problems(objects)

    def keda(o: list[dict[str, Any]]) -> dict[str, Any]:
        spec: dict[str, Any] = find(o, "ScaledObject", "streams")["spec"]
        return spec

    def selector(o: list[dict[str, Any]], kind: str, component: str) -> dict[str, str]:
        spec = find(o, kind, component)["spec"]
        result: dict[str, str] = spec["selector"].get("matchLabels", spec["selector"])
        return result

    cases = {
        "readiness on a missing route": lambda o: container(o, "api")["readinessProbe"]["httpGet"].update(path="/rdy"),
        "liveness on /ready": lambda o: container(o, "api")["livenessProbe"]["httpGet"].update(path="/ready"),
        "PDB selecting nothing": lambda o: selector(o, "PodDisruptionBudget", "streams").update(x="y"),
        "Service selecting the workers": lambda o: selector(o, "Service", "api").update(
            {"app.kubernetes.io/component": "streams"}
        ),
        "no memory limit": lambda o: container(o, "projections")["resources"]["limits"].clear(),
        "a misspelt setting": lambda o: _config(o).update(MEMSTREAM_KAFKA_BOOTSTRAPS="x:1"),
        "a password in the ConfigMap": lambda o: _config(o).update(MEMSTREAM_REDIS_PASSWORD="x"),
        "a missing Secret key": lambda o: container(o, "api")["env"][0]["valueFrom"]["secretKeyRef"].update(key="no"),
        "a KEDA group of no one": lambda o: keda(o)["triggers"][0]["metadata"].update(consumerGroup="memstream"),
        "a misspelt KEDA parameter": lambda o: keda(o)["triggers"][0]["metadata"].update(lagThreshhold="5"),
        "more workers than partitions": lambda o: keda(o).update(maxReplicaCount=40),
        "an HPA on the workers": lambda o: find(o, "HorizontalPodAutoscaler", "api")["spec"]["scaleTargetRef"].update(
            name="memstream-streams"
        ),
        "a wrong entry point": lambda o: container(o, "streams").update(command=["python", "-m", "api"]),
        "another process's heartbeat": lambda o: container(o, "projections")["livenessProbe"]["exec"].update(
            command=["python", "-m", "adapters.heartbeat", "streams", "300"]
        ),
        "no liveness for the workers": lambda o: container(o, "streams").pop("livenessProbe"),
    }  # fmt: skip
    for name, change in cases.items():
        assert mistake(change), name
