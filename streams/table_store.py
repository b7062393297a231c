"""Where the worker keeps its Faust table (setting ``table_store``) and on which part of the local disk.

- ``memory``: faust's in-memory store. Every start, and every partition a rebalance assigns, reads the table's
  whole changelog partition again: recovery grows with the number of memories.
- ``rocksdb``: faust-streaming's RocksDB store (``faust/stores/rocksdb.py``, bound through ``rocksdict``). Each
  changelog partition is a RocksDB database under the worker's data directory holding, beside the entries, the
  changelog offset it holds them through; recovery reads the changelog only from there. A worker killed with
  ``kill -9`` loses nothing RocksDB had written (its write-ahead log is in the OS's page cache); a host that
  loses its disk reads the whole changelog, as the memory store does.

The lifecycle agent (``streams/agents/lifecycle_store.py``) writes its table differently from how faust 0.15.3's
RocksDB store expects a table to be written (``table[key] = value`` inside the event's own partition), in two
ways the store gets wrong; ``PartitionedRocksDBStore`` writes them its way:

1. ``Store._set`` files a key under the database of the *current event's* partition (``current_event()``). The
   agent's batches span partitions and it writes each entry to its user's partition, after the batch: through
   ``table.data[key] = value`` an entry could land in another partition's database and be dropped with it.
   ``write`` files every entry under the partition whose changelog it was sent to.
2. ``Collection._on_changelog_sent`` (``faust/tables/base.py``), the callback ``Table.send_changelog`` attaches,
   records the sent offset as persisted as soon as the broker acknowledges it, before the agent writes the value
   locally: a worker killed in between would restart believing its database holds an entry it never got, and
   recovery would skip it. The agent sends its entries without that callback, and ``write`` records the offset
   in the same RocksDB write batch as the entries, so the database never claims an entry it does not hold.

Reads: the table is created with ``use_partitioner=True`` (streams/agents/lifecycle.py), with which faust's
RocksDB store looks a key up in the database that holds it rather than in the current event's partition's.
What ``tests/unit/test_faust_upstream.py`` checks of faust itself covers these points too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP

from memory.settings import Settings

# Faust finds a table store by its URL's scheme in the "faust.stores" entry points (pyproject.toml).
STORE_URLS = {"memory": "memory://", "rocksdb": "lifecycle-rocksdb://"}


def table_store_url(settings: Settings) -> str:
    try:
        return STORE_URLS[settings.table_store]
    except KeyError:
        raise ValueError(f"table_store must be one of {sorted(STORE_URLS)}, not {settings.table_store!r}") from None


def worker_data_dir(settings: Settings) -> Path:
    """``<data_dir>/faust/<app id>/<worker instance>``, created: two workers on one host never share a RocksDB
    database (RocksDB locks it, and the second would wait and then fail), and systems with their own app ids keep
    their tables apart. Faust itself creates only the last level of its data directory."""
    path = settings.data_dir / "faust" / settings.faust_app_id / settings.worker_instance
    path.mkdir(parents=True, exist_ok=True)
    return path


# (partition, key, value): value None deletes the key.
LocalEntry = tuple[int, bytes, bytes | None]


class PartitionedRocksDBStore(faust_rocksdb.Store):
    """faust's RocksDB store, written per changelog partition with the offsets sent (see the module's text)."""

    def write(self, entries: Iterable[LocalEntry], sent: dict[TP, int]) -> None:
        """Write ``entries`` into their partitions' databases, each with the highest changelog offset ``sent``
        to its partition, atomically per partition (one RocksDB write batch)."""
        assert self.use_rocksdict  # rocksdict's write batches; faust would pick python-rocksdb were it installed
        batches: dict[int, rocksdict.WriteBatch] = defaultdict(lambda: rocksdict.WriteBatch(raw_mode=True))
        for partition, key, value in entries:
            if value is None:
                batches[partition].delete(key)
                self._key_index.pop(key, None)
            else:
                batches[partition].put(key, value)
                self._key_index[key] = partition
        for tp, offset in sent.items():
            batches[tp.partition].put(self.offset_key, str(offset).encode())
        for partition, batch in batches.items():
            self._db_for_partition(partition).write(batch)
