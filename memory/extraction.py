"""The offline default extractor: deterministic rules that turn a conversation turn into facts.

No model and no network, so the pipeline works anywhere. It keeps informative sentences as facts
(prefixed by the speaker's name so that a fact stands alone), recognises entities from capitalisation,
dates and a few cue words, and reads a handful of relation patterns ("I live in X", "my sister X").
"""

from __future__ import annotations

import re

from memory.extraction_types import ExtractedEntity, ExtractedFact, ExtractedRelation, TurnInput
from memory.specificity import STOPWORDS

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_FILLER = re.compile(
    r"^(hi|hey|hello|thanks|thank you|ok|okay|cool|wow|great|nice|awesome|sure|yeah|yes|no|lol|haha|bye|"
    r"good (morning|night|evening)|see you|take care)\b([\s,]+\w+){0,3}[\s!.,]*$",
    re.IGNORECASE,
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
# Capitalised only because they open a sentence (with memory.specificity.STOPWORDS and contractions).
_COMMON_STARTERS = frozenset(
    [
        "congrats",
        "congratulations",
        "sorry",
        "please",
        "maybe",
        "anyway",
        "anyways",
        "haha",
        "lol",
        "omg",
        "yay",
        "aww",
        "awww",
        "ugh",
        "wish",
        "guess",
        "hope",
        "last",
        "next",
        "first",
        "keep",
        "appreciate",
        "any",
        "been",
        "seems",
        "seem",
        "looks",
        "look",
        "check",
        "take",
        "bring",
        "try",
        "let's",
        "agreed",
        "exactly",
        "true",
        "right",
        "same",
        "family",
        "art",
        "life",
        "music",
        "work",
        "home",
        "school",
    ]
)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Capitalised words that start sentences or are pronouns/greetings, never entities on their own.
_NOT_ENTITIES = set(
    [
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "im",
        "it",
        "it's",
        "its",
        "the",
        "a",
        "an",
        "and",
        "but",
        "or",
        "so",
        "if",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "when",
        "where",
        "why",
        "how",
        "who",
        "which",
        "yes",
        "no",
        "hi",
        "hey",
        "hello",
        "thanks",
        "thank",
        "oh",
        "wow",
        "ok",
        "okay",
        "well",
        "also",
        "just",
        "really",
        "very",
        "then",
        "now",
        "today",
        "yesterday",
        "tomorrow",
        "tonight",
        "lol",
        "haha",
        "sure",
        "yeah",
        "great",
        "nice",
        "cool",
        "good",
        "awesome",
        "amazing",
        "sorry",
        "please",
        "let",
        "did",
        "do",
        "does",
        "was",
        "were",
        "is",
        "are",
        "am",
        "have",
        "has",
        "had",
        "can",
        "could",
        "would",
        "should",
        "will",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "of",
        "on",
        "to",
        "with",
        "about",
        "after",
        "before",
        "during",
        "since",
        "until",
    ]
)
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
_MIN_WORDS = 3
_MAX_FACT_CHARS = 600
EXTRACTOR_NAME = "rules-v1"


def split_sentences(text: str) -> list[str]:
    parts = _SENTENCE_SPLIT.split(text.strip())
    return [p.strip() for p in parts if p.strip()]


def is_informative(sentence: str) -> bool:
    words = _WORD.findall(sentence)
    if len(words) < _MIN_WORDS or _FILLER.match(sentence):
        return False
    # Short questions ("How are you?") carry nothing to remember; long ones often do ("Did you know I ...?").
    return not (sentence.endswith("?") and len(words) < 6)


def _entity_kind(name: str, previous_word: str) -> str:
    words = name.lower().split()
    if words[0] in _MONTHS or words[0] in _WEEKDAYS or all(re.fullmatch(r"(19|20)\d\d", w) for w in words):
        return "date"
    if previous_word.lower() in _PLACE_CUES:
        return "place"
    return "person" if len(name.split()) <= 2 else "thing"


def is_sentence_starter(word: str) -> bool:
    """A capitalised first word that is just a common word: "That's", "Glad", "Seeing", "Sounds", "Really"."""
    lowered = word.lower()
    return lowered in STOPWORDS or lowered in _COMMON_STARTERS or "'" in lowered or lowered.endswith(("ing", "ly"))


def find_entities(sentence: str) -> list[ExtractedEntity]:
    """Capitalised word runs (not sentence-initial common words), years, months and weekdays."""
    tokens = _WORD.findall(sentence)
    found: dict[str, ExtractedEntity] = {}
    run: list[str] = []
    previous = ""

    def flush(prev: str) -> None:
        if run:
            if run[0] is tokens[0] and is_sentence_starter(run[0]):
                del run[0]  # "Seeing Toby run..." names Toby
                if not run:
                    return
            name = " ".join(run)
            if name.lower() not in _NOT_ENTITIES:
                found.setdefault(name.lower(), ExtractedEntity(name=name, kind=_entity_kind(name, prev)))
            run.clear()

    run_prev = ""
    for token in tokens:
        is_name = token[0].isupper() and token.lower() not in _NOT_ENTITIES
        is_year = bool(re.fullmatch(r"(19|20)\d\d", token))
        if is_name or is_year:
            if not run:
                run_prev = previous
            run.append(token)
        else:
            flush(run_prev)
        previous = token
    flush(run_prev)
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
    """Every informative sentence of the turn becomes one fact; the speaker becomes an entity of each."""
    speaker = turn.speaker or ("User" if turn.role == "user" else "Assistant")
    facts = []
    for sentence in split_sentences(turn.text):
        if not is_informative(sentence):
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
