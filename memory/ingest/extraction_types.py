"""What an extractor returns for one conversation turn. Shared by the offline rules and the LLM extractor."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExtractedEntity:
    name: str
    kind: str  # person, place, organisation, date, thing


@dataclass(frozen=True)
class ExtractedRelation:
    subject: str
    predicate: str
    object: str


@dataclass(frozen=True)
class ExtractedFact:
    """One memory candidate: a self-contained statement plus the entities and relations it mentions."""

    text: str
    entities: tuple[ExtractedEntity, ...] = field(default_factory=tuple)
    relations: tuple[ExtractedRelation, ...] = field(default_factory=tuple)
    kind: str = "fact"  # fact, preference, event, plan


@dataclass(frozen=True)
class TurnInput:
    """The part of a conversation turn an extractor reads."""

    role: str
    speaker: str
    text: str
