"""The worker's view of the topics: raw bytes in and out, decoded and encoded by the agents with the Avro codec."""

from __future__ import annotations

import faust


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
