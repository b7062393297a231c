"""LoCoMo, the pure parts: turns with their dates, lenient evidence, the audit, recall@k and the table.

No I/O beyond reading the data file in ``load_conversations``, so all of it is unit-tested on small inputs.
Recall is measured over dialog turns (``dia_id``), the unit LoCoMo's evidence cites, whatever the pipeline
made of a turn: several memories from one turn count as that one turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory.contract.events import ConversationTurnReceived, Envelope, Producer, Scope
from memory.contract.ids import turn_event_id_for

# Official LoCoMo numbering (the Mem0 paper swapped 1, 3 and 4). Category 5 (adversarial) has no evidence
# to retrieve: it is left out of recall.
CATEGORIES: dict[int, str] = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
TABLE_CATEGORIES = ("single-hop", "multi-hop", "temporal", "open-domain")  # the paper's column order
OVERALL = "overall"
KS = (5, 10, 25, 50)
TABLE_K = 10  # per-category columns show R@10, the only k the anchor gives for every category
SESSION_DATE_FORMAT = "%I:%M %p on %d %B, %Y"  # "1:56 pm on 8 May, 2023"

# LoCoMo paper, Table 3, DRAGON over dialog turns; "overall" re-weighted over categories 1-4 by question count.
DRAGON_ANCHOR: dict[str, dict[str, float]] = {
    OVERALL: {"R@5": 0.604, "R@10": 0.697, "R@25": 0.798, "R@50": 0.857},
    "single-hop": {"R@10": 0.777},
    "multi-hop": {"R@10": 0.466},
    "temporal": {"R@10": 0.773},
    "open-domain": {"R@10": 0.408},
}

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_EVIDENCE_ID = re.compile(r"^D:?(\d+):(\d+)$")  # "D:11:26" is a typo of "D11:26"
_EVIDENCE_SEPARATORS = re.compile(r"[;,\s]+")
_AUDIT_ID = re.compile(r"^locomo_(\d+)_qa(\d+)$")

QuestionKey = tuple[int, int]  # (sample index, qa index), both 0-based into the file, as the audit counts
Table = dict[str, dict[str, float]]  # category or "overall" -> {"questions": n, "R@5": ..., ...}


@dataclass(frozen=True)
class LocomoTurn:
    sample_id: str
    dia_id: str
    speaker: str
    text: str  # with the photo caption appended, since that is all a text pipeline can see of a photo
    occurred_at: datetime


@dataclass(frozen=True)
class Question:
    key: QuestionKey
    sample_id: str
    question: str
    category: int
    evidence: tuple[str, ...]  # as written in the file, possibly malformed


@dataclass(frozen=True)
class Conversation:
    index: int
    sample_id: str
    turns: tuple[LocomoTurn, ...]
    questions: tuple[Question, ...]
    last_session_at: datetime

    @property
    def dia_ids(self) -> frozenset[str]:
        return frozenset(t.dia_id for t in self.turns)


def parse_session_date(text: str) -> datetime:
    return datetime.strptime(text.strip(), SESSION_DATE_FORMAT).replace(tzinfo=UTC)


def turn_text(turn: Mapping[str, Any]) -> str:
    caption = turn.get("blip_caption")
    return str(turn["text"]) + (f" [shared a photo: {caption}]" if caption else "")


def session_numbers(conversation: Mapping[str, Any]) -> list[int]:
    # The session lists decide, not the date keys: some samples have dates for sessions that do not exist.
    return sorted(int(m.group(1)) for key in conversation if (m := _SESSION_KEY.match(key)))


def conversation_from(index: int, sample: Mapping[str, Any]) -> Conversation:
    raw = sample["conversation"]
    sample_id = str(sample["sample_id"])
    turns: list[LocomoTurn] = []
    session_starts: list[datetime] = []
    for number in session_numbers(raw):
        start = parse_session_date(raw[f"session_{number}_date_time"])
        session_starts.append(start)
        for position, turn in enumerate(raw[f"session_{number}"]):
            turns.append(
                LocomoTurn(
                    sample_id=sample_id,
                    dia_id=str(turn.get("dia_id") or f"D{number}:{position + 1}"),
                    speaker=str(turn["speaker"]),
                    text=turn_text(turn),
                    # Successive seconds keep the order of a session's turns in anything sorted by time.
                    occurred_at=start + timedelta(seconds=position),
                )
            )
    questions = tuple(
        Question((index, n), sample_id, str(qa["question"]), int(qa["category"]), tuple(qa.get("evidence") or ()))
        for n, qa in enumerate(sample.get("qa", ()))
    )
    return Conversation(index, sample_id, tuple(turns), questions, max(session_starts))


def conversations_from(samples: Sequence[Mapping[str, Any]]) -> list[Conversation]:
    return [conversation_from(index, sample) for index, sample in enumerate(samples)]


def load_conversations(path: Path) -> list[Conversation]:
    return conversations_from(json.loads(path.read_text()))


def turn_event(
    turn: LocomoTurn,
    app_id: str,
    component: str,
    infer: bool = True,
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> ConversationTurnReceived:
    """The turn as its conversation's user would send it. The event id derives from scope, conversation and
    dia_id, so producing the same conversation again is harmless."""
    scope = Scope(app_id, turn.sample_id)
    at = occurred_at or turn.occurred_at
    return ConversationTurnReceived(
        envelope=Envelope(
            turn_event_id_for(scope.key, turn.sample_id, turn.dia_id),
            "ConversationTurnReceived",
            1,
            scope,
            at,
            recorded_at or datetime.now(UTC),
            None,
            None,
            Producer(component),
        ),
        conversation_id=turn.sample_id,
        turn_id=turn.dia_id,
        role="user",
        speaker=turn.speaker,
        text=turn.text,
        infer=infer,
        metadata={"dia_id": turn.dia_id},
    )


# --- evidence -------------------------------------------------------------------------------------------


def normalise_evidence_id(token: str) -> str | None:
    """``D<session>:<turn>`` without leading zeros, or None when the token is no evidence id at all."""
    match = _EVIDENCE_ID.match(token.strip())
    if match is None:
        return None
    return f"D{int(match.group(1))}:{int(match.group(2))}"


@dataclass(frozen=True)
class CleanEvidence:
    ids: tuple[str, ...]
    malformed: tuple[str, ...] = ()  # tokens that are no id ("D")
    missing: tuple[str, ...] = ()  # well-formed ids of turns the conversation does not have


def clean_evidence(raw: Iterable[str], existing: Collection[str]) -> CleanEvidence:
    """Split joined entries ("D8:6; D9:17", "D9:1 D4:4"), normalise, drop what cites no turn, dedupe."""
    ids: list[str] = []
    malformed: list[str] = []
    missing: list[str] = []
    for entry in raw:
        for token in _EVIDENCE_SEPARATORS.split(str(entry)):
            if not token:
                continue
            normalised = normalise_evidence_id(token)
            if normalised is None:
                malformed.append(token)
            elif normalised not in existing:
                missing.append(token)
            elif normalised not in ids:
                ids.append(normalised)
    return CleanEvidence(tuple(ids), tuple(malformed), tuple(missing))


@dataclass
class DropReport:
    questions: int = 0  # questions of categories 1-4 considered
    questions_kept: int = 0
    questions_dropped: int = 0  # no evidence left
    ids_kept: int = 0
    ids_malformed: int = 0
    ids_missing_turn: int = 0
    dropped: list[str] = field(default_factory=list)  # "conv-26 qa37: D (malformed)", for the results file


@dataclass(frozen=True)
class EvidenceSet:
    evidence: dict[QuestionKey, tuple[str, ...]]  # only questions that kept some evidence
    report: DropReport


def build_evidence(
    conversations: Iterable[Conversation], overrides: Mapping[QuestionKey, Sequence[str]] | None = None
) -> EvidenceSet:
    """Cleaned evidence of every category 1-4 question; ``overrides`` replace a question's evidence (the audit)."""
    overrides = overrides or {}
    report = DropReport()
    evidence: dict[QuestionKey, tuple[str, ...]] = {}
    for conversation in conversations:
        existing = conversation.dia_ids
        for question in conversation.questions:
            if question.category not in CATEGORIES:
                continue
            report.questions += 1
            cleaned = clean_evidence(overrides.get(question.key, question.evidence), existing)
            label = f"{question.sample_id} qa{question.key[1]}"
            report.ids_malformed += len(cleaned.malformed)
            report.ids_missing_turn += len(cleaned.missing)
            report.dropped += [f"{label}: {t!r} (malformed)" for t in cleaned.malformed]
            report.dropped += [f"{label}: {t!r} (no such turn)" for t in cleaned.missing]
            if cleaned.ids:
                evidence[question.key] = cleaned.ids
                report.questions_kept += 1
                report.ids_kept += len(cleaned.ids)
            else:
                report.questions_dropped += 1
                report.dropped.append(f"{label}: question dropped, no evidence left")
    return EvidenceSet(evidence, report)


# --- the audit ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditMatch:
    overrides: dict[QuestionKey, tuple[str, ...]]
    by_id: int  # the question_id's question has the audit's text
    by_text: int  # the id pointed elsewhere; the text matched exactly one question of that sample
    unmatched: tuple[str, ...]
    outside_subset: int  # entries for conversations this run does not load (--conversations)


def _audit_target(
    entry: Mapping[str, Any], conversations: Mapping[int, Conversation]
) -> tuple[QuestionKey | None, str]:
    """Where an audit entry belongs and how it was found: "id", "text", "outside" or "unmatched"."""
    match = _AUDIT_ID.match(str(entry.get("question_id", "")))
    text = str(entry.get("question", "")).strip()
    candidates: Iterable[Conversation] = conversations.values()
    if match is not None:
        sample_index, qa_index = int(match.group(1)), int(match.group(2))
        conversation = conversations.get(sample_index)
        if conversation is None:
            return None, "outside"
        questions = conversation.questions
        if qa_index < len(questions) and questions[qa_index].question.strip() == text:
            return questions[qa_index].key, "id"
        candidates = (conversation,)
    # The id and the text disagree (or the id is unreadable): trust the text, but only if it is unambiguous —
    # some samples ask the same question twice.
    found = [q.key for c in candidates for q in c.questions if q.question.strip() == text]
    return (found[0], "text") if len(found) == 1 else (None, "unmatched")


def audit_overrides(entries: Iterable[Mapping[str, Any]], conversations: Iterable[Conversation]) -> AuditMatch:
    by_index = {c.index: c for c in conversations}
    overrides: dict[QuestionKey, tuple[str, ...]] = {}
    counts = {"id": 0, "text": 0, "outside": 0}
    unmatched: list[str] = []
    for entry in entries:
        key, how = _audit_target(entry, by_index)
        if key is None:
            if how == "outside":
                counts["outside"] += 1
            else:
                unmatched.append(str(entry.get("question_id")))
            continue
        counts[how] += 1
        overrides[key] = tuple(str(e) for e in entry.get("correct_evidence") or ())
    return AuditMatch(overrides, counts["id"], counts["text"], tuple(unmatched), counts["outside"])


# --- recall ---------------------------------------------------------------------------------------------


def recall_at_k(evidence: Collection[str], ranked: Sequence[str], k: int) -> float:
    """|evidence turns among the turns of the top-k hits| / |evidence turns|."""
    wanted = set(evidence)
    return len(wanted & set(ranked[:k])) / len(wanted)


def recall_scores(evidence: Collection[str], ranked: Sequence[str], ks: Sequence[int] = KS) -> dict[str, float]:
    return {f"R@{k}": recall_at_k(evidence, ranked, k) for k in ks}


def distinct(ranked: Iterable[str]) -> list[str]:
    """First occurrence of each turn: the ranking a turn-level retriever (like DRAGON) would have returned."""
    return list(dict.fromkeys(ranked))


def average_by_category(per_question: Iterable[tuple[int, Mapping[str, float]]]) -> Table:
    """Mean of each score per category and over all questions (so "overall" weighs categories by size)."""
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for category, scores in per_question:
        for group in (CATEGORIES[category], OVERALL):
            counts[group] = counts.get(group, 0) + 1
            bucket = sums.setdefault(group, {})
            for name, value in scores.items():
                bucket[name] = bucket.get(name, 0.0) + value
    return {
        group: {"questions": counts[group], **{name: total / counts[group] for name, total in bucket.items()}}
        for group, bucket in sums.items()
    }


# --- the table ------------------------------------------------------------------------------------------


def _cell(table: Mapping[str, Mapping[str, float]], group: str, score: str) -> str:
    value = table.get(group, {}).get(score)
    return "—" if value is None else f"{100 * value:.1f}"


def format_table(title: str, rows: Mapping[str, Mapping[str, Mapping[str, float]]], ks: Sequence[int] = KS) -> str:
    """One row per retriever: overall R@k for each k, then R@10 per category, in percent."""
    headers = ["", *(f"R@{k}" for k in ks), *(f"{c} R@{TABLE_K}" for c in TABLE_CATEGORIES)]
    body = [
        [name, *(_cell(t, OVERALL, f"R@{k}") for k in ks), *(_cell(t, c, f"R@{TABLE_K}") for c in TABLE_CATEGORIES)]
        for name, t in rows.items()
    ]
    widths = [max(len(row[i]) for row in [headers, *body]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        # Names left-aligned, figures right-aligned so the decimal points line up.
        padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded)

    return "\n".join([title, line(headers), *(line(row) for row in body)])
