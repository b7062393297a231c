"""The worker's table directory and store settings (streams/table_store.py); the store itself: test_faust_upstream."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.settings import Settings
from streams.table_store import table_store_url, worker_data_dir


def test_two_worker_instances_of_one_app_keep_their_tables_apart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, faust_app_id="memstream-a")
    first, second = worker_data_dir(settings), worker_data_dir(Settings(data_dir=tmp_path, worker_instance="worker-2"))
    assert first == tmp_path / "faust" / "memstream-a" / "worker-1" and first.is_dir()
    assert second == tmp_path / "faust" / "memstream-streams" / "worker-2" and second.is_dir()


def test_the_table_store_setting_names_a_faust_store_url() -> None:
    assert table_store_url(Settings.from_env({"MEMSTREAM_TABLE_STORE": "memory"})) == "memory://"
    assert table_store_url(Settings()) == "lifecycle-rocksdb://"
    with pytest.raises(ValueError, match="table_store"):
        table_store_url(Settings(table_store="redis"))
