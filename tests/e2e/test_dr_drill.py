"""The disaster-recovery drill end to end on the real stack: region B's Kafka and MirrorMaker 2 started by the
stack's own script from Kafka's Maven Central jars, region A's pipeline ingesting, region A lost, region B's
stores rebuilt from region B's log alone, compared by memory id, and an API in region B answering A's searches."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from adapters.kafka_auth import client_config, region_b_bootstrap
from memory.settings import Settings
from memstream_cli.dr import region_b
from memstream_cli.dr.drill import WARM_UP_TURNS, run_drill, topics_exist
from tests.support import wait_until

TURNS = 20


def group_ids(settings: Settings) -> set[str]:
    admin = AdminClient(client_config(settings))
    listed = admin.list_consumer_groups(request_timeout=30).result()
    return {group.group_id for group in listed.valid}


@pytest.mark.skipif(
    os.environ.get("MEMSTREAM_TEST_STACK", "local") != "local",
    reason="region B and MirrorMaker 2 are processes of the local stack (infra/local/stack.py)",
)
def test_region_b_recovers_from_its_copy_of_the_log(stack_settings: Settings, tmp_path: Path) -> None:
    b_settings = replace(stack_settings, kafka_bootstrap=region_b_bootstrap(stack_settings))
    was_up = region_b.running(stack_settings)

    try:
        report = run_drill(stack_settings, tmp_path, TURNS, keep_region_b=True, keep_groups=True)
        rebuild_groups_in_b = {g for g in group_ids(b_settings) if g.endswith(f".{report.target}")}
    finally:
        if not was_up.get(region_b.KAFKA_B):
            region_b.stop(stack_settings, region_b.KAFKA_B)

    # B's stores equal A's, by memory id, in every store, and they hold every turn.
    assert {d.store for d in report.stores} == {"postgres", "postgres_turns", "milvus", "neo4j", "redis"}
    for diff in report.stores:
        assert diff.equal, diff
        assert diff.left_count == diff.right_count > 0
    counts = {d.store: d.right_count for d in report.stores}
    written = TURNS + WARM_UP_TURNS
    assert counts["postgres_turns"] == counts["milvus"] == counts["neo4j"] == written
    # PostgreSQL's rows are the memories and each user's one conversation session (the drill's users and the
    # warm-up user's; replay verify compares sessions too).
    sessions = len(report.probes) + 1
    assert counts["postgres"] == written + sessions
    assert report.rebuilt_events["postgres"] > TURNS  # the turns and their memories' events

    # The search from region B answers with the memories region A found.
    assert report.probes and all(p.found_in_a for p in report.probes)
    for probe in report.probes:
        assert set(probe.found_in_a) <= set(probe.found_in_b), probe
    assert report.passed

    # The recovery point: every record copied, and the lag sampled while they went in is sane.
    rp = report.replication
    turns_topic = next(t for t in rp.topics if t.topic.endswith(".turns"))
    memories_topic = next(t for t in rp.topics if t.topic.endswith(".memories"))
    assert turns_topic.source_records == turns_topic.copy_records == written
    assert memories_topic.copy_records >= memories_topic.source_records > TURNS
    assert rp.samples > 5
    assert 0 <= rp.max_records_behind <= memories_topic.source_records
    assert 0.0 < rp.max_seconds_behind < 60.0

    # The recovery time: from region A gone to region B answering, made of the phases it reports.
    assert 0.0 < report.recovery_seconds < 120.0
    assert set(report.phases) == {
        "rebuild from region B's log",
        "start region B's API",
        "region B's searches answered",
    }
    assert sum(report.phases.values()) <= report.recovery_seconds + 0.01
    as_json = report.as_dict()
    assert as_json["passed"] is True and as_json["recovery_time_seconds"] > 0
    assert as_json["recovery_point"]["max_seconds_behind"] == round(rp.max_seconds_behind, 3)
    assert "recovery time" in report.text() and "PASSED" in report.text()

    # Rebuilt from region B's log alone: the rebuild's consumer groups exist in region B and not in region A.
    assert {g.rsplit(".", 2)[-2] for g in rebuild_groups_in_b} == {"postgres", "milvus", "neo4j", "redis"}
    assert not {g for g in group_ids(stack_settings) if g.endswith(f".{report.target}")}

    # Cleaned up: the drill's topics are gone from region A; MirrorMaker 2 stopped with region A.
    tag = report.target.removeprefix("drb_")
    wait_until(lambda: not topics_exist(stack_settings, [f"dr.{tag}.turns"]), timeout=60, what="the topics deleted")
    assert region_b.running(stack_settings)[region_b.MIRROR_MAKER] is False
