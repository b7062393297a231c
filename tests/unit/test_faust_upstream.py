"""What streams.offsets and streams.table_store rely on in faust-streaming: these fail when an upgrade changes it.

Real faust objects throughout: the upstream consumer's method on the upstream state it reads, our app, consumer,
transport and RocksDB store as Faust builds them (nothing connects to a broker).
"""

from __future__ import annotations

import inspect
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import faust
import pytest
from aiokafka.structs import RecordMetadata, TopicPartition
from faust.tables.base import Collection
from faust.transport.consumer import Consumer as UpstreamConsumer
from faust.types import TP
from intervaltree import IntervalTree

from memory.settings import PROJECT_ROOT
from streams.offsets import (
    FAUST_VERSION,
    ContiguousCommitConsumer,
    ContiguousCommitTransport,
    StreamsApp,
    settlement_of,
)
from streams.table_store import PartitionedRocksDBStore

TOPIC_PARTITION = TP("memstream.turns.v1", 0)


def upstream_state(committed: int | None, acked: list[int], gap: tuple[int, int] | None = None) -> SimpleNamespace:
    """The bookkeeping ``Consumer._new_offset`` reads, shaped as ``Consumer.__init__`` makes it."""
    state = SimpleNamespace(
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _committed_offset=defaultdict(lambda: None),
        _gap=defaultdict(IntervalTree),
    )
    state._acked[TOPIC_PARTITION] = list(acked)
    state._acked_index[TOPIC_PARTITION] = set(acked)
    state._committed_offset[TOPIC_PARTITION] = committed
    if gap:
        state._gap[TOPIC_PARTITION].addi(*gap)
    return state


def test_the_installed_faust_is_the_pinned_one_the_workaround_was_written_for() -> None:
    assert version("faust-streaming") == FAUST_VERSION
    dependencies = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"faust-streaming=={FAUST_VERSION}" in dependencies


def test_upstream_new_offset_counts_gap_offsets_as_done() -> None:
    # 10 acknowledged, 11-14 a gap (skipped by the read position), 15 acknowledged: 11-14 were never handled.
    state = upstream_state(committed=10, acked=[10, 15], gap=(11, 15))
    assert UpstreamConsumer._new_offset(state, TOPIC_PARTITION) == 16  # type: ignore[arg-type]


def test_upstream_new_offset_commits_past_an_unacknowledged_committed_offset() -> None:
    # The event at the committed offset (10) was never acknowledged; 11 and 12 were: upstream reads them as
    # contiguous with the commit and moves it past 10.
    state = upstream_state(committed=10, acked=[11, 12])
    assert UpstreamConsumer._new_offset(state, TOPIC_PARTITION) == 13  # type: ignore[arg-type]


def test_the_upstream_names_the_override_uses_still_exist_with_their_shapes() -> None:
    assert list(inspect.signature(UpstreamConsumer._new_offset).parameters) == ["self", "tp"]
    consumer = StreamsApp("upstream-shapes", broker="kafka://127.0.0.1:1").consumer
    assert isinstance(consumer._acked[TOPIC_PARTITION], list)
    assert isinstance(consumer._acked_index[TOPIC_PARTITION], set)
    assert consumer._committed_offset[TOPIC_PARTITION] is None  # a defaultdict: nothing committed yet
    assert isinstance(consumer._gap[TOPIC_PARTITION], IntervalTree)
    assert hasattr(consumer, "unacked") and callable(consumer.seek) and callable(consumer.assignment)


def test_app_new_transport_is_still_where_the_transport_and_its_consumer_class_are_picked() -> None:
    assert "_new_transport" in vars(faust.App)
    app = StreamsApp("upstream-transport", broker="kafka://127.0.0.1:1")
    assert type(app.transport) is ContiguousCommitTransport
    assert type(app.consumer) is ContiguousCommitConsumer
    assert type(faust.App("upstream-plain", broker="kafka://127.0.0.1:1").consumer) is not ContiguousCommitConsumer


def finished(app: StreamsApp, *offsets: int) -> None:
    """Offsets the one agent reading the topic finished (streams.settlement)."""
    settlement = settlement_of(app)
    settlement.reads("streams.test", TOPIC_PARTITION.topic)
    batch = [SimpleNamespace(message=SimpleNamespace(tp=TOPIC_PARTITION, offset=o)) for o in offsets]
    settlement.take(batch)
    settlement.finish(batch, "streams.test")


@pytest.mark.parametrize(
    ("committed", "acked", "done", "gap", "expected"),
    [
        (10, [10, 15], [10, 15], (11, 15), 11),  # the gap holds the commit at 11: 11-14 are read again, not skipped
        (10, [11, 12], [11, 12], None, None),  # 10 never finished: no commit
        (10, [10, 11, 12], [10, 11, 12], None, 13),  # contiguous: committed through
        # Faust's stream acknowledges a message it skipped around a rebalance: 11 is acknowledged, never finished.
        (10, [10, 11, 12], [10, 12], None, 11),
    ],
)
def test_our_consumer_commits_only_contiguous_finished_offsets(
    committed: int, acked: list[int], done: list[int], gap: tuple[int, int] | None, expected: int | None
) -> None:
    app = StreamsApp("upstream-ours", broker="kafka://127.0.0.1:1")
    consumer = app.consumer
    assert isinstance(consumer, ContiguousCommitConsumer)
    consumer._committed_offset[TOPIC_PARTITION] = committed
    consumer._acked[TOPIC_PARTITION] = list(acked)
    consumer._acked_index[TOPIC_PARTITION] = set(acked)
    finished(app, *done)
    if gap:
        consumer._gap[TOPIC_PARTITION].addi(*gap)
    assert consumer._new_offset(TOPIC_PARTITION) == expected
    if expected is not None:  # the acknowledgements below the commit are dropped, the rest wait
        assert consumer._acked[TOPIC_PARTITION] == [o for o in acked if o >= expected]
        assert consumer._acked_index[TOPIC_PARTITION] == {o for o in acked if o >= expected}


def test_our_consumer_holds_the_commit_at_an_unsettled_offset() -> None:
    app = StreamsApp("upstream-settled", broker="kafka://127.0.0.1:1")
    consumer = app.consumer
    consumer._committed_offset[TOPIC_PARTITION] = 10
    consumer._acked[TOPIC_PARTITION] = [10, 11, 12]
    finished(app, 10, 11, 12)
    # Delivered again (a re-read), 11 is being worked on once more: the commit stops before it.
    settlement_of(app).take([SimpleNamespace(message=SimpleNamespace(tp=TOPIC_PARTITION, offset=11))])
    assert consumer._new_offset(TOPIC_PARTITION) == 11


def test_a_new_group_commits_from_the_partitions_first_offset_once_known() -> None:
    app = StreamsApp("upstream-new-group", broker="kafka://127.0.0.1:1")
    consumer = app.consumer
    consumer._acked[TOPIC_PARTITION] = [0, 1, 2]
    finished(app, 1, 2)  # 0 was skipped: acknowledged by Faust, finished by no agent
    assert consumer._new_offset(TOPIC_PARTITION) is None  # the first offset is not known: nothing committed
    settlement_of(app).set_start(TOPIC_PARTITION, 0)
    assert consumer._new_offset(TOPIC_PARTITION) is None  # 0 holds it back, whatever Faust acknowledged
    finished(app, 0)
    assert consumer._new_offset(TOPIC_PARTITION) == 3


def test_upstream_stream_acknowledges_the_messages_it_skips() -> None:
    """The reason the commit trusts finished batches, not acknowledgements (faust/streams.py, Stream.__aiter__)."""
    source = inspect.getsource(faust.Stream._py_aiter)
    assert "value is skipped_value" in source and "event.ack()" in source
    assert "generation_id != self.app.consumer_generation_id" in source


def test_upstream_wait_empty_and_what_ours_uses_of_it() -> None:
    upstream = inspect.getsource(UpstreamConsumer.wait_empty)
    assert "while not self.should_stop and self._unacked_messages" in upstream  # no limit upstream
    for name in ("_wait_for_ack", "_clean_unacked_messages", "commit_and_end_transactions"):
        assert callable(getattr(UpstreamConsumer, name))
    assert "wait_empty" in vars(ContiguousCommitConsumer)


# The RocksDB table store (streams/table_store.py).


@pytest.fixture
def rocksdb_app(tmp_path: Path) -> Iterator[faust.App]:
    yield faust.App(
        "upstream-rocksdb", broker="kafka://127.0.0.1:1", store="lifecycle-rocksdb://", datadir=str(tmp_path)
    )


def lifecycle_table(app: faust.App) -> faust.Table:
    app.conf.tabledir.mkdir(parents=True, exist_ok=True)
    return app.Table("lifecycle", default=None, key_type=bytes, value_type=bytes, partitions=4, use_partitioner=True)


def test_the_rocksdb_url_is_our_partitioned_store(rocksdb_app: faust.App) -> None:
    assert type(lifecycle_table(rocksdb_app).data) is PartitionedRocksDBStore


def test_upstream_changelog_callback_records_the_offset_as_persisted_on_the_acknowledgement(
    rocksdb_app: faust.App,
) -> None:
    """Why the lifecycle agent sends its entries without ``Table.send_changelog``'s callback: the offset would be
    recorded as held by the local database before the agent writes the entry there."""
    table = lifecycle_table(rocksdb_app)
    assert re.search(r"callback=self\._on_changelog_sent", inspect.getsource(Collection.send_changelog))
    tp = TP(table.changelog_topic_name, 2)
    sent: Future[RecordMetadata] = Future()
    sent.set_result(RecordMetadata(tp.topic, 2, TopicPartition(tp.topic, 2), 41, -1, 0, 0))
    table._on_changelog_sent(sent)  # type: ignore[arg-type]
    assert table.data.persisted_offset(tp) == 41  # with nothing written for it


def test_partitioned_writes_land_in_their_partition_with_their_offsets_and_survive_a_reopen(
    rocksdb_app: faust.App, tmp_path: Path
) -> None:
    table = lifecycle_table(rocksdb_app)
    store = table.data
    assert isinstance(store, PartitionedRocksDBStore)
    topic = table.changelog_topic_name
    entries = [(1, b"u1\x1fa", b"A"), (3, b"u3\x1fb", b"B"), (3, b"u3\x1fc", b"C")]
    store.write(entries, {TP(topic, 1): 7, TP(topic, 3): 9})
    store.write([(3, b"u3\x1fc", None)], {TP(topic, 3): 10})
    assert (store[b"u1\x1fa"], store[b"u3\x1fb"]) == (b"A", b"B")
    assert b"u3\x1fc" not in store
    assert store._db_for_partition(1).get(b"u1\x1fa") == b"A" and store._db_for_partition(3).get(b"u1\x1fa") is None
    assert (store.persisted_offset(TP(topic, 1)), store.persisted_offset(TP(topic, 3))) == (7, 10)
    store._dbs.clear()  # faust's own stop: the databases close when collected

    reopened = lifecycle_table(
        faust.App("upstream-rocksdb", broker="kafka://127.0.0.1:1", store="lifecycle-rocksdb://", datadir=str(tmp_path))
    ).data
    for partition in (1, 3):
        reopened._db_for_partition(partition)  # what assigning the partition does (Store.assign_partitions)
    assert reopened[b"u3\x1fb"] == b"B" and b"u3\x1fc" not in reopened
    assert reopened.persisted_offset(TP(topic, 3)) == 10


def test_our_consumer_offers_partitions_with_finished_offsets_faust_holds_no_acknowledgement_for() -> None:
    assert "_filter_tps_with_pending_acks" in vars(UpstreamConsumer)  # where Faust picks the partitions to commit
    app = StreamsApp("upstream-offered", broker="kafka://127.0.0.1:1")
    consumer = app.consumer
    finished(app, 4, 5)
    assert TOPIC_PARTITION not in consumer._acked
    assert list(consumer._filter_tps_with_pending_acks()) == []  # not assigned here: not offered
    consumer._acked[TOPIC_PARTITION] = []
    assert list(consumer._filter_tps_with_pending_acks()) == [TOPIC_PARTITION]
