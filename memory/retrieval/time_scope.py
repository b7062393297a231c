"""Time-scoped questions: when the time a question names decides what the answer is drawn from.

Three kinds of question name a time (the time already read, a session resolved by
``memory.retrieval.session_windows``):

- **time**: the time is all it asks about ("what did we discuss on May 8th?", "summarize our last session", "what
  did we talk about last Friday?"). The answer is what was said then, so hits come from that window only, every
  memory in it a candidate (read from the store, not only what the retrievers found: the query's other words,
  "what did we discuss", say nothing to rank by), ordered by how informative each memory is: ``informativeness``.
- **time and topic** ("what did I say about the dog last week?"): the window leans the order strongly, on top of
  the out-of-range prior every named time already has, but does not filter: the window's hits that match the topic
  get a bonus (``window_lean``), and a topic match said outside the window still ranks when it is much better.
  People name the time of the event, not of the conversation: "when did we go camping in June?" is often answered
  in a turn said in July. Putting every window hit first cost LoCoMo's temporal questions recall (see
  ``bench/RESULTS.md``).
- **none**: no time, or a vague one ("a few days ago", "recently"): a vague time stays a soft lean (the prior of
  ``memory.retrieval.scoring``), so a good match just outside the guessed range is not cut out.

The time may come from the conversation instead of the question (``carried_intent``): an agent passes the recent
turns (``messages``), and in "...on May 8th we talked about the move" then "can you summarize what we discussed?",
the last question is about May 8th. A time named in an earlier turn is carried to the question only when the
question names none itself and either asks about no topic (a recall request: "summarize what we discussed") or
points back at it ("what did I say then?", "that day"): "what's my dog's name?" after "I saw the vet yesterday"
is not about yesterday. The user's and the assistant's turns are read, latest first; system and tool messages are
not (a system prompt's "today is May 8th" is not a question about May 8th).

The order in which the memories of a time were said (``said_order``) is what ``POST /v1/context`` presents a
time question in: a session recalled in order reads as it happened.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from memory.language.time_expressions import TIME_WORDS, TemporalIntent, TimeRange, read_temporal_intent
from memory.language.words import content_words
from memory.retrieval.recipes import Retriever
from memory.retrieval.said_order import said_key
from memory.retrieval.scoring import CandidateRow, Scored
from memory.retrieval.specificity import specificity


class Scoping(enum.Enum):
    NONE = "none"
    TIME = "time"
    TIME_AND_TOPIC = "time_and_topic"


# Words that ask for a recollection without naming what about: with the time words, a question made only of these
# (and stop words) is about the time alone.
RECALL_WORDS = frozenset(
    {
        "discuss",
        "discussed",
        "discussing",
        "discussion",
        "discussions",
        "talk",
        "talked",
        "talking",
        "chat",
        "chatted",
        "chatting",
        "chats",
        "conversation",
        "conversations",
        "session",
        "sessions",
        "summarize",
        "summarise",
        "summary",
        "recap",
        "remind",
        "remember",
        "recall",
        "say",
        "said",
        "tell",
        "told",
        "mention",
        "mentioned",
        "cover",
        "covered",
        "happen",
        "happened",
        "come",
        "came",
        "going",
        "speak",
        "spoke",
        "spoken",
        "topics",
        "topic",
        "things",
        "stuff",
        "everything",
        "anything",
        "please",
        "first",
        "previous",
        "prior",
        "initial",
        "between",
        "through",
        "ago",
        "back",
        "earlier",
        "before",
    }
)
_BACK_REFERENCE = re.compile(r"\b(then|that (day|time|week|session|conversation|chat|morning|evening|night))\b", re.I)
_DIGITS = re.compile(r"\d")
TEMPORAL = Retriever.TEMPORAL.value
# Roles whose turns are the conversation (the rest are instructions and tool output).
CONVERSATION_ROLES = frozenset({"user", "assistant"})
# How much a memory's stored importance adds to its informativeness (its specificity counts fully).
IMPORTANCE_SHARE = 0.25


def topic_words(query: str, expression: str) -> set[str]:
    """What the query is about beyond its time: content words less the time phrase, time and recall words."""
    rest = query.replace(expression, " ") if expression else query
    words = content_words(rest) - TIME_WORDS - RECALL_WORDS
    return {w for w in words if not _DIGITS.search(w)}


def scoping(query: str, span: TimeRange | None) -> Scoping:
    """How the time the query names (``span``: read and resolved, None for none) scopes its answer."""
    if span is None or span.vague:
        return Scoping.NONE
    return Scoping.TIME_AND_TOPIC if topic_words(query, span.expression) else Scoping.TIME


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


def names_a_time(intent: TemporalIntent) -> bool:
    return intent.range is not None or intent.session is not None


def carried_intent(
    query: str, intent: TemporalIntent, turns: Sequence[Turn], reference: datetime
) -> TemporalIntent | None:
    """The question's intent with the time of the latest earlier turn that names one, when that time scopes the
    question (see the module's docstring); None when it does not."""
    if names_a_time(intent):
        return None
    if topic_words(query, "") and not _BACK_REFERENCE.search(query):
        return None
    for turn in reversed(turns):
        if turn.role not in CONVERSATION_ROLES:
            continue
        said = read_temporal_intent(turn.content, reference)
        if names_a_time(said):
            return replace(intent, range=said.range, session=said.session)
    return None


def informativeness(row: CandidateRow, speakers: Iterable[str] = ()) -> float:
    """How much a memory says, for a question about its time alone: its specificity (distinct content words and
    names, saturating; a question discounted: ``memory.retrieval.specificity``) plus a share of its importance."""
    return specificity(row.text, 1.0, tuple(speakers)) + IMPORTANCE_SHARE * row.importance


def informative_order(rows: Iterable[CandidateRow], fused: Mapping[str, Scored] | None = None) -> list[Scored]:
    """The window's memories, most informative first; equal ones said later first (``said_order``). ``fused``:
    what the retrievers made of some of them, kept in the hits' fused score and ranks."""
    known = list(rows)
    speakers = {row.speaker for row in known} - {""}
    worth = {row.memory_id: informativeness(row, speakers) for row in known}  # once each: it reads every word
    scored = sorted(known, key=lambda row: (worth[row.memory_id], row.said), reverse=True)
    fused = fused or {}
    return [
        Scored(
            row.memory_id,
            worth[row.memory_id],
            fused[row.memory_id].fused_score if row.memory_id in fused else 0.0,
            fused[row.memory_id].ranks if row.memory_id in fused else {},
        )
        for row in scored
    ]


def matched_topic(scored: Scored) -> bool:
    """Found by a retriever of what the query is about (dense, sparse, graph), not only listed by the temporal
    one, which inside a window returns its memories nearest the query with no floor: being there is no match."""
    return any(kind != TEMPORAL for kind in scored.ranks)


def window_lean(
    order: Sequence[Scored], rows: Mapping[str, CandidateRow], span: TimeRange, boost: float
) -> list[Scored]:
    """The window as a strong lean, not a filter: the window's hits that match the topic have their final score
    multiplied by ``boost`` (the recipe's ``window_boost``), then the list is sorted again; equal scores keep the
    order given (Python's sort is stable), so ties stay broken by the order things were said. A match from outside
    the window keeps its place above the window's hits when it is more than ``boost`` times better."""
    leaned = [
        replace(s, score=s.score * boost) if span.contains(rows[s.memory_id].valid_from) and matched_topic(s) else s
        for s in order
    ]
    return sorted(leaned, key=lambda s: s.score, reverse=True)


def said_order(memory_ids: Iterable[str], rows: Mapping[str, CandidateRow]) -> list[str]:
    """The memories in the order they were said: valid time, then log position (first said first)."""
    return sorted(memory_ids, key=lambda m: said_key(rows[m].valid_from, rows[m].log_offset, m))
