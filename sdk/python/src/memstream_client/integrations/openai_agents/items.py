"""The Agents SDK's input items as turns of the conversation log, and back.

A message whose content is text (a string, or text parts) is conversation: it is written as a turn with its role
and text, and memstream draws memories from it. Everything else the SDK puts in a session (function calls and
their outputs, reasoning, images, files, refusals) is not kept: it is not conversation, and as a turn it would
be turned into memories too (every turn is). A message comes back in the SDK's short input form,
``{"role": ..., "content": "<text>"}``, which every model accepts as input; an output message's id, status and
annotations are not kept.

The log also holds the session's own markers (``pop_item``, ``clear_session``: it is append-only, so removing an
item is recorded, not done); ``SESSION_KEY`` in a turn's metadata says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from agents.items import TResponseInputItem

from memstream_client.models import LoggedTurn

# The metadata key of a turn this session wrote for itself (not conversation): its value says what it records.
SESSION_KEY = "openai_agents_session"
POPPED = "popped"  # the turn named by POPPED_TURN_KEY left the session
CLEARED = "cleared"  # every earlier turn left the session
POPPED_TURN_KEY = "openai_agents_popped_turn"
# The metadata key that keeps a role the API has no name for: the SDK's "developer" is written as "system".
ROLE_KEY = "openai_agents_role"
# The markers' text: a reader of the log sees what happened; too short to be taken for a fact to remember.
MARKER_TEXT = {POPPED: "[message withdrawn]", CLEARED: "[history cleared]"}

_TEXT_PARTS = ("input_text", "output_text", "text")
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


@dataclass(frozen=True)
class TurnToWrite:
    """One message as ``add`` takes it, and the metadata of the request that writes it."""

    role: str
    text: str
    metadata: dict[str, str]


def message_text(content: Any) -> str | None:
    """The text of a message's content (text parts joined by a line break); None if it holds anything else."""
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence) or not content:
        return None
    texts = []
    for part in content:
        is_text = isinstance(part, Mapping) and part.get("type") in _TEXT_PARTS and isinstance(part.get("text"), str)
        if not is_text:
            return None
        texts.append(part["text"])
    return "\n".join(texts)


def as_turn(item: TResponseInputItem | Mapping[str, Any]) -> TurnToWrite | None:
    """The turn a text message is written as; None for an item that is not kept (see the module's note)."""
    data = cast(Mapping[str, Any], item)
    role = data.get("role")
    if data.get("type", "message") != "message" or role not in _ROLES:
        return None
    text = message_text(data.get("content"))
    if text is None or not text.strip():
        return None  # the API keeps no empty turn; a message without text says nothing to remember
    metadata = {ROLE_KEY: role} if _ROLES[role] != role else {}
    return TurnToWrite(_ROLES[role], text, metadata)


def as_item(turn: LoggedTurn) -> TResponseInputItem:
    role = turn.metadata.get(ROLE_KEY, turn.role)
    return cast(TResponseInputItem, {"role": role, "content": turn.text})


def marker_of(turn: LoggedTurn) -> str | None:
    return turn.metadata.get(SESSION_KEY)
