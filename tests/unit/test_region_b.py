"""Region B of the disaster-recovery drill, without starting anything: its ports, its MirrorMaker 2
configuration, and how the replication lag is read from samples of both clusters."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.kafka_auth import region_b_bootstrap
from infra.local.services.common import StackError
from infra.local.services.kafka import Kafka
from infra.local.services.kafka_region_b import RegionBKafka
from infra.local.services.mirror_maker import MirrorMaker, topic_pattern
from memory.settings import Settings, Topics
from replay.replication_lag import Sample, summarise


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return replace(Settings(), data_dir=tmp_path, kafka_bootstrap="127.0.0.1:19892", kafka_password="pw", **overrides)


def test_region_b_listens_clear_of_region_a_and_keeps_its_own_state(tmp_path: Path) -> None:
    s = settings(tmp_path)
    a, b = Kafka(s), RegionBKafka(s)
    assert region_b_bootstrap(s) == "127.0.0.1:19902"
    assert not {port for _, port in a.ports()} & {port for _, port in b.ports()}
    assert b.storage != a.storage and b.config != a.config and b.pid_file != a.pid_file
    assert b.broker_password_file != a.broker_password_file
    assert b.jars == a.jars  # the same broker build, resolved once
    # The same doors: the pipeline's principal is a super user on both.
    assert "User:memstream-pipeline" in b._security_properties()["super.users"]
    assert region_b_bootstrap(replace(s, dr_kafka_bootstrap="10.0.0.9:9092")) == "10.0.0.9:9092"


def test_mirror_maker_copies_exactly_the_settings_topics_under_the_same_names(tmp_path: Path) -> None:
    topics = Topics(turns="dr.x1.turns", commands="dr.x1.commands", memories="dr.x1.memories", deadletter="dr.x1.dl")
    props = MirrorMaker(settings(tmp_path, topics=topics)).properties()
    assert props["replication.policy.class"].endswith("IdentityReplicationPolicy")
    assert props["A.bootstrap.servers"] == "127.0.0.1:19892" and props["B.bootstrap.servers"] == "127.0.0.1:19902"
    assert props["A->B.enabled"] == "true" and props["B->A.enabled"] == "false"
    assert props["offset-syncs.topic.location"] == "target"
    assert 'password="pw"' in props["A.sasl.jaas.config"] and props["B.security.protocol"] == "SASL_PLAINTEXT"
    patterns = [re.compile(p) for p in props["A->B.topics"].split(",")]

    def mirrored(name: str) -> bool:
        return any(p.fullmatch(name) for p in patterns)

    assert all(mirrored(t) for t in ("dr.x1.turns", "dr.x1.commands", "dr.x1.memories", "dr.x1.dl"))
    assert not any(mirrored(t) for t in ("drXx1.turns", "dr.x1.turns2", "heartbeats", "memstream.turns"))
    assert topic_pattern(["a.b"]) == "a[.]b"


def test_mirror_maker_restarts_for_other_topics_and_refuses_a_missing_password(tmp_path: Path) -> None:
    first = MirrorMaker(settings(tmp_path))
    first.prepare()
    assert not first.stale()
    other = MirrorMaker(settings(tmp_path, topics=Topics(turns="other.turns")))
    assert other.stale()
    assert (first.config.stat().st_mode & 0o777) == 0o600  # it holds the pipeline's password
    with pytest.raises(StackError, match="password"):
        MirrorMaker(replace(settings(tmp_path), kafka_password="")).properties()


def test_the_replication_lag_is_how_long_the_copy_took_to_reach_each_count() -> None:
    source = [Sample(0.0, {"t": 0}), Sample(1.0, {"t": 5}), Sample(2.0, {"t": 10}), Sample(3.0, {"t": 10})]
    copy = [Sample(0.1, {"t": 0}), Sample(1.1, {"t": 0}), Sample(2.1, {"t": 5}), Sample(3.1, {"t": 10})]
    report = summarise(source, copy, ["t"], period=1.0)
    (lag,) = report.topics
    assert lag.max_records_behind == 5  # 5 vs 0 at t=1, 10 vs 5 at t=2
    assert lag.source_records == lag.copy_records == 10
    # 5 records reached at 1.0 were copied by 2.1; 10 reached at 2.0 by 3.1.
    assert lag.max_seconds_behind == pytest.approx(1.1)
    assert report.as_dict()["topics"]["t"]["max_records_behind"] == lag.max_records_behind


def test_a_copy_that_never_catches_up_is_behind_until_the_last_sample() -> None:
    source = [Sample(0.0, {"t": 3}), Sample(1.0, {"t": 3})]
    copy = [Sample(0.1, {"t": 0}), Sample(1.1, {"t": 1})]
    (lag,) = summarise(source, copy, ["t"], period=1.0).topics
    assert lag.max_records_behind == 3 and lag.max_seconds_behind == pytest.approx(1.1)
