"""``memstream produce FILE.jsonl``: conversation turns from a JSON-lines file to ``memstream.turns.v1``.

One JSON object a line: ``text`` and ``user_id`` are required (``user_id`` may come from ``--user-id``);
optional ``app_id``, ``agent_id``, ``run_id``, ``conversation_id``, ``turn_id`` (default: the line number),
``role`` (default user), ``speaker``, ``occurred_at`` (ISO 8601 with a time zone; default now),
``metadata`` (strings), ``infer`` (default true). Event ids derive from scope, conversation and turn id, so
producing the same file twice is harmless: the second copy of each turn is recognised downstream by its event id.

Every turn is held to the rule extraction applies (``memory.ingest.derivation.validate_turn``), so a bad line is
refused here, naming the line, instead of being dead-lettered after it was produced. A timestamp without a
time zone is refused too: it could be local time as well as UTC, and guessing would move it by hours.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory.contract.events import ConversationTurnReceived, Envelope, Producer, Scope
from memory.contract.ids import turn_event_id_for
from memory.errors import InvalidEventError
from memory.ingest.derivation import MAX_TURN_CHARS, validate_turn


class ProduceError(ValueError):
    pass


@dataclass(frozen=True)
class Defaults:
    app_id: str = "default"
    user_id: str | None = None
    conversation_id: str = "default"
    max_chars: int = MAX_TURN_CHARS  # Settings.max_content_chars: extraction's limit


def _parse_time(raw: Any, line_no: int, now: datetime) -> datetime:
    if raw is None:
        return now
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProduceError(f"line {line_no}: occurred_at {raw!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise ProduceError(f"line {line_no}: occurred_at {raw!r} has no time zone (add 'Z' or '+02:00')")
    return parsed


def turn_from_json(obj: dict[str, Any], line_no: int, defaults: Defaults, now: datetime) -> ConversationTurnReceived:
    user_id = obj.get("user_id") or defaults.user_id
    if not user_id:
        raise ProduceError(f"line {line_no}: no user_id (give it in the line or with --user-id)")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProduceError(f"line {line_no}: 'text' must be a non-empty string")
    agent_id, run_id = (None if obj.get(k) is None else str(obj[k]) for k in ("agent_id", "run_id"))
    scope = Scope(str(obj.get("app_id") or defaults.app_id), str(user_id), agent_id, run_id)
    conversation_id = str(obj.get("conversation_id") or defaults.conversation_id)
    turn_id = str(obj.get("turn_id") or line_no)
    metadata = {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}
    speaker, session_id = obj.get("speaker"), obj.get("session_id")
    turn = ConversationTurnReceived(
        envelope=Envelope(
            event_id=turn_event_id_for(scope.key, conversation_id, turn_id),
            event_type="ConversationTurnReceived",
            schema_version=1,
            scope=scope,
            occurred_at=_parse_time(obj.get("occurred_at"), line_no, now),
            recorded_at=now,
            causation_id=None,
            correlation_id=None,
            producer=Producer("cli.produce"),
        ),
        conversation_id=conversation_id,
        turn_id=turn_id,
        role=str(obj.get("role") or "user"),
        speaker=None if speaker is None else str(speaker),
        text=text,
        infer=bool(obj.get("infer", True)),
        metadata=metadata,
        session_id=None if session_id is None else str(session_id),
    )
    try:
        validate_turn(turn, defaults.max_chars)
    except InvalidEventError as exc:
        raise ProduceError(f"line {line_no}: {exc}") from None
    return turn


def read_turns(path: Path, defaults: Defaults) -> Iterator[ConversationTurnReceived]:
    now = datetime.now(UTC)
    with path.open() as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProduceError(f"line {line_no}: not JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise ProduceError(f"line {line_no}: expected a JSON object")
            yield turn_from_json(obj, line_no, defaults, now)
