"""Avro single-object encoding for every record on memstream topics.

Wire format (Avro specification, "Single object encoding"): two marker bytes ``C3 01``, the 8-byte
little-endian CRC-64-AVRO (Rabin) fingerprint of the writer schema's parsing canonical form, then the
Avro binary body. A consumer looks the fingerprint up among the schemas it knows — current ones and
every earlier version kept under ``schemas/avro/history/`` — and resolves writer against reader, so
events written by an older producer stay readable after a schema evolves.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form

from memory.contract.events import ALL_RECORD_TYPES
from memory.contract.records import from_record, to_record
from memory.errors import DecodeError

MARKER = b"\xc3\x01"
HEADER_LEN = len(MARKER) + 8
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
_ENVELOPE_NAME = "memstream.Envelope"

_RABIN_EMPTY = 0xC15D213AA4D7A795


def _rabin_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_RABIN_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_RABIN_TABLE = _rabin_table()


def rabin_fingerprint(data: bytes) -> bytes:
    """CRC-64-AVRO of ``data``, as the 8 little-endian bytes the single-object header carries."""
    fp = _RABIN_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _RABIN_TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


def _inline_envelope(schema: Any, envelope: dict[str, Any]) -> Any:
    """Replace the reference to the envelope by its definition so each schema stands alone."""
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        return schema
    fields = [{**fld, "type": envelope} if fld["type"] == _ENVELOPE_NAME else fld for fld in schema["fields"]]
    return {**schema, "fields": fields}


def load_schema_file(path: Path, envelope: dict[str, Any]) -> dict[str, Any]:
    raw = json.loads(path.read_text())
    inlined: dict[str, Any] = _inline_envelope(raw, envelope)
    return inlined


@dataclass(frozen=True)
class _Writer:
    fullname: str
    parsed: dict[str, Any]
    fingerprint: bytes


class Codec:
    """Encodes the current schema version of each record type; decodes any known version."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR, extra_writer_schemas: Iterable[dict[str, Any]] = ()):
        envelope = json.loads((schema_dir / "envelope.avsc").read_text())
        current = [
            load_schema_file(p, envelope) for p in sorted(schema_dir.glob("*.avsc")) if p.name != "envelope.avsc"
        ]
        history_dir = schema_dir / "history"
        history = [load_schema_file(p, envelope) for p in sorted(history_dir.glob("*.avsc"))]
        self._readers: dict[str, _Writer] = {}
        self._by_fingerprint: dict[bytes, _Writer] = {}
        for schema in current:
            writer = self._register(schema)
            self._readers[writer.fullname] = writer
        for schema in [*history, *extra_writer_schemas]:
            self._register(schema)
        self._classes: dict[str, type] = {cls.SCHEMA_NAME: cls for cls in ALL_RECORD_TYPES}  # type: ignore[attr-defined]
        missing = set(self._classes) - set(self._readers)
        if missing:
            raise ValueError(f"no schema file for record types {sorted(missing)}")

    def _register(self, schema: dict[str, Any]) -> _Writer:
        parsed: dict[str, Any] = parse_schema(schema, _write_hint=False)  # type: ignore[assignment]
        canonical = to_parsing_canonical_form(parsed)
        writer = _Writer(parsed["name"], parsed, rabin_fingerprint(canonical.encode()))
        self._by_fingerprint[writer.fingerprint] = writer
        return writer

    def fingerprint_of(self, fullname: str) -> bytes:
        return self._readers[fullname].fingerprint

    def encode(self, record: Any) -> bytes:
        writer = self._readers[type(record).SCHEMA_NAME]  # every record class declares it
        return self.encode_dict(writer.fullname, to_record(record))

    def encode_dict(self, fullname: str, record: dict[str, Any], schema: dict[str, Any] | None = None) -> bytes:
        """Encode a plain dict; with ``schema``, as that (possibly older) writer schema."""
        writer = self._readers[fullname] if schema is None else self._register(schema)
        buf = io.BytesIO()
        buf.write(MARKER)
        buf.write(writer.fingerprint)
        schemaless_writer(buf, writer.parsed, record)
        return buf.getvalue()

    def record_name(self, data: bytes | None) -> str | None:
        """The record type a message holds, from its header alone (None if not a known record)."""
        if not data or len(data) < HEADER_LEN or data[:2] != MARKER:
            return None
        writer = self._by_fingerprint.get(data[2:HEADER_LEN])
        return writer.fullname if writer else None

    def decode(self, data: bytes | None) -> Any:
        """Bytes → event dataclass. Raises ``DecodeError`` with a reason a human can act on."""
        if not data or len(data) < HEADER_LEN:
            raise DecodeError(f"message too short for Avro single-object encoding ({len(data or b'')} bytes)")
        if data[:2] != MARKER:
            raise DecodeError(f"missing Avro single-object marker (first bytes {data[:2].hex()})")
        writer = self._by_fingerprint.get(data[2:HEADER_LEN])
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {data[2:HEADER_LEN].hex()}")
        reader = self._readers.get(writer.fullname)
        if reader is None:
            raise DecodeError(f"no current schema for record type {writer.fullname}")
        try:
            record = schemaless_reader(io.BytesIO(data[HEADER_LEN:]), writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises several types for corrupt bodies
            raise DecodeError(f"corrupt Avro body for {writer.fullname}: {exc!r}") from exc
        cls = self._classes[writer.fullname]
        try:
            return from_record(cls, record)  # type: ignore[arg-type]
        except (TypeError, KeyError, ValueError) as exc:
            raise DecodeError(f"record does not fit {writer.fullname}: {exc}") from exc
