"""The offline default extractor: deterministic rules that turn a conversation turn into facts.

No model and no network, so the pipeline works anywhere. It keeps the sentences worth a memory as facts
(``memory.ingest.worth``: facts, preferences, plans, events and what the assistant committed to; small talk
and the assistant's questions stay in the conversation log), each prefixed by the speaker's name so that a
fact stands alone. It recognises entities from capitalisation
(``memory.language.names``), dates and a few cue words, and reads a handful of relation patterns ("I live
in X", "my sister X").
"""

from __future__ import annotations

import re

from memory.ingest.extraction_types import ExtractedEntity, ExtractedFact, ExtractedRelation, TurnInput
from memory.ingest.worth import worth_remembering
from memory.language.names import name_runs
from memory.language.sentences import split_sentences
from memory.language.time_expressions import MONTHS, WEEKDAYS

_YEAR = re.compile(r"(19|20)\d\d")
_PLACE_CUES = {"in", "to", "from", "at", "near", "visited", "visit", "moved"}
_RELATION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:I|we)\s+(?:live|lived|am living)\s+in\s+([A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)*)"), "LIVES_IN"),
    (re.compile(r"\b(?:I|we)\s+(?:moved|am moving|relocated)\s+to\s+([A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)*)"), "MOVED_TO"),
    (re.compile(r"\bI\s+(?:work|worked|am working)\s+(?:at|for)\s+([A-Z][\w&\-]*(?:\s+[A-Z][\w&\-]*)*)"), "WORKS_AT"),
    (
        re.compile(
            r"\bmy\s+(sister|brother|mother|mom|father|dad|wife|husband|partner|friend|son|daughter|boss|"
            r"colleague|cousin|aunt|uncle|grandma|grandpa|dog|cat)(?:'s name is|,)?\s+([A-Z][\w\-]*)"
        ),
        "HAS_",
    ),
)
_PREFERENCE = re.compile(
    r"\b(love|loves|like|likes|enjoy|enjoys|prefer|prefers|favou?rite|hate|hates|can't stand)\b", re.I
)
_PLAN = re.compile(r"\b(will|going to|plan|planning|intend|next week|next month|tomorrow)\b", re.I)
_EVENT = re.compile(r"\b(yesterday|last (week|month|year|night|weekend)|ago|went|visited|attended|met)\b", re.I)
_MAX_FACT_CHARS = 600
EXTRACTOR_NAME = "rules-v2"  # v2: small talk and the assistant's questions are left to the log (memory.ingest.worth)


def _entity_kind(name: str, previous_word: str) -> str:
    first, *_ = name.lower().split()
    if first in MONTHS or first in WEEKDAYS or all(_YEAR.fullmatch(w) for w in name.split()):
        return "date"
    if previous_word.lower() in _PLACE_CUES:
        return "place"
    return "person" if len(name.split()) <= 2 else "thing"


def _is_year(word: str) -> bool:
    return bool(_YEAR.fullmatch(word))


def find_entities(sentence: str) -> list[ExtractedEntity]:
    """Runs of capitalised words (``memory.language.names.name_runs``: not sentence-initial common words,
    possessives as their owner), years, months and weekdays."""
    found: dict[str, ExtractedEntity] = {}
    for run in name_runs(sentence, extends=_is_year):
        found.setdefault(run.text.lower(), ExtractedEntity(name=run.text, kind=_entity_kind(run.text, run.previous)))
    return list(found.values())


def find_relations(sentence: str, speaker: str) -> list[ExtractedRelation]:
    relations = []
    for pattern, predicate in _RELATION_PATTERNS:
        for match in pattern.finditer(sentence):
            if predicate == "HAS_":
                relations.append(ExtractedRelation(speaker, f"HAS_{match.group(1).upper()}", match.group(2)))
            else:
                relations.append(ExtractedRelation(speaker, predicate, match.group(1)))
    return relations


def classify(sentence: str) -> str:
    if _PREFERENCE.search(sentence):
        return "preference"
    if _PLAN.search(sentence):
        return "plan"
    if _EVENT.search(sentence):
        return "event"
    return "fact"


def extract_facts(turn: TurnInput) -> list[ExtractedFact]:
    """Every sentence of the turn worth a memory (``memory.ingest.worth``) becomes one fact; the speaker
    becomes an entity of each."""
    speaker = turn.speaker or ("User" if turn.role == "user" else "Assistant")
    facts = []
    for sentence in split_sentences(turn.text):
        if not worth_remembering(sentence, turn.role):
            continue
        text = f"{speaker}: {sentence}"[:_MAX_FACT_CHARS]
        entities = [ExtractedEntity(speaker, "person"), *find_entities(sentence)]
        unique = list({e.name.lower(): e for e in entities}.values())
        relations = find_relations(sentence, speaker)
        for relation in relations:
            if relation.object.lower() not in {e.name.lower() for e in unique}:
                unique.append(ExtractedEntity(relation.object, "person" if "HAS_" in relation.predicate else "place"))
        facts.append(
            ExtractedFact(text=text, entities=tuple(unique), relations=tuple(relations), kind=classify(sentence))
        )
    return facts


def verbatim_fact(turn: TurnInput) -> ExtractedFact:
    """``infer=false``: the caller's text is the memory, unchanged, entities still recognised."""
    return ExtractedFact(text=turn.text.strip(), entities=tuple(find_entities(turn.text)), kind=classify(turn.text))
