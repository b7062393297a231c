"""JSON-line logs (adapters/logs.py) and the API's request ids (api/request_ids.py), without services."""

from __future__ import annotations

import json
import logging
import uuid

from adapters.logs import REQUEST_ID, JsonFormatter, log_batch
from api.request_ids import request_id_from


def formatted(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter("api").format(record)
    assert "\n" not in line  # one line per record, whatever the message holds
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_line_carries_the_request_being_served_and_its_extra_fields() -> None:
    record = logging.makeLogRecord({"name": "api.x", "levelname": "INFO", "msg": "a\nb %s", "args": ("c",)})
    record.__dict__["route"] = "/v1/memories"
    token = REQUEST_ID.set("req-1")
    try:
        line = formatted(record)
    finally:
        REQUEST_ID.reset(token)
    assert line["msg"] == "a\nb c" and line["request_id"] == "req-1" and line["route"] == "/v1/memories"
    assert line["process"] == "api" and line["logger"] == "api.x" and str(line["ts"]).endswith("+00:00")
    assert "request_id" not in formatted(record)  # outside a request: no id


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_batch_line_names_each_correlation_id_once() -> None:
    log = logging.getLogger("streams.test")
    handler = Kept()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log_batch(log, "streams.extraction", ["b", None, "a", "b"], 4, produced=6)
    finally:
        log.removeHandler(handler)
    line = formatted(handler.records[0])
    assert line["correlation_ids"] == ["a", "b"] and line["events"] == 4 and line["produced"] == 6


def headers(value: str) -> dict[str, object]:
    return {"type": "http", "headers": [(b"x-request-id", value.encode("latin-1"))]}


def test_a_sane_caller_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_from(headers("lb-7f3a:0001.2")) == "lb-7f3a:0001.2"  # type: ignore[arg-type]
    for unfit in ('x" "level": "ERROR', "a" * 129, "", "é"):
        replaced = request_id_from(headers(unfit))  # type: ignore[arg-type]
        assert replaced != unfit and uuid.UUID(replaced)
    assert uuid.UUID(request_id_from({"type": "http", "headers": []}))  # type: ignore[arg-type]
