"""The Milvus collection of memory vectors: one row per stored memory, with the fields search filters on."""

from __future__ import annotations

from pymilvus import DataType, MilvusClient

ID_MAX = 64
SCOPE_MAX = 256
# Every field of a row, in schema order: what the projector writes and reads back, and what snapshots compare.
FIELDS = ("memory_id", "app_id", "user_id", "agent_id", "run_id", "state", "occurred_at", "model", "vector")


def ensure_collection(client: MilvusClient, name: str, dim: int) -> None:
    """Create the collection and its index once; later calls only load it."""
    if not client.has_collection(name):
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("memory_id", DataType.VARCHAR, max_length=ID_MAX, is_primary=True)
        schema.add_field("app_id", DataType.VARCHAR, max_length=SCOPE_MAX)
        schema.add_field("user_id", DataType.VARCHAR, max_length=SCOPE_MAX)
        schema.add_field("agent_id", DataType.VARCHAR, max_length=SCOPE_MAX)
        schema.add_field("run_id", DataType.VARCHAR, max_length=SCOPE_MAX)
        schema.add_field("state", DataType.VARCHAR, max_length=32)
        schema.add_field("occurred_at", DataType.INT64)  # epoch milliseconds, valid time
        schema.add_field("model", DataType.VARCHAR, max_length=128)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = client.prepare_index_params()
        # Milvus Lite 2.5 offers FLAT/IVF_FLAT/AUTOINDEX; FLAT is exact and, filtered by user, fast enough.
        index.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
        client.create_collection(name, schema=schema, index_params=index)
    client.load_collection(name)
