"""Structured logs: every process writes JSON lines, and a request's id follows it through every process.

The API gives each request an id (the caller's ``X-Request-Id`` when it is a sane one, else a new one:
``api/request_ids.py``), holds it in ``REQUEST_ID`` while the request runs, and writes it into the events the request
produces as their ``correlation_id``; every event derived from them keeps it (``memory.ingest.derivation``,
``memory.lifecycle.decisions``). The worker's agents and the projectors log each batch they handle with the
correlation ids of its events (``log_batch``), so ``grep <request id>`` over the logs of the API, the worker and the
projectors follows one write through all of them.

*Why one line per batch, not per event*: the pipeline handles thousands of events a second; a batch line names every
correlation id in it, which is what following a request needs, at a small fraction of the volume.
"""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The request being served on this task (the API); None elsewhere.
REQUEST_ID: ContextVar[str | None] = ContextVar("memstream_request_id", default=None)

# What every LogRecord has; anything else on a record came from ``extra=`` and is written as a field of its own.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# The project's own loggers, at the settings' level; libraries' (Faust, Kafka, drivers) at WARNING.
OWN_LOGGERS = ("memory", "models", "adapters", "streams", "projections", "api", "replay", "memstream_cli")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, process, message, the request id when one is
    being served, the record's ``extra`` fields and, on errors, the traceback."""

    def __init__(self, process: str = "") -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": self._process,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(process: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` of JSON lines on stderr (Faust's worker takes it as its ``logging_config``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "process": process}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {name: {"level": level.upper()} for name in OWN_LOGGERS},
    }


def configure_logging(process: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(process, level))


def log_batch(
    log: logging.Logger, component: str, correlation_ids: Iterable[str | None], events: int, **fields: Any
) -> None:
    """The one line a handled batch writes: its component, size and the correlation ids of its events."""
    ids = sorted({c for c in correlation_ids if c})
    log.info(
        "%s handled %d events", component, events,
        extra={"component": component, "events": events, "correlation_ids": ids, **fields},
    )
