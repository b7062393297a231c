"""Does a new fact contradict one the same user stated before? Offline rules, deterministic.

A contradiction makes the caller supersede the *older* memory (validity end, ``SUPERSEDES`` link, out of
default search), so the rules lean towards silence: a missed contradiction leaves two memories that
ranking by recency can still sort out, a false one hides a true fact.

What the rules read, in first-person statements ("I", and "we" for where one lives):

- Single-valued slots, where a different value replaces the old one: ``residence`` ("I live in", "I'm
  based in", "I moved to", "my home is in"), ``employer`` ("I work at/for", "I joined", "I started at"),
  ``favourite <thing>`` ("my favourite colour is", "pizza is my favourite food"), ``name``, ``age``.
  Values compare by normalised words; one being the start of the other ("New York" / "New York City")
  counts as the same value.
- Polarity, where the same thing flips between liked/done and stopped/disliked: "I love coffee" against
  "I stopped drinking coffee", "I don't play tennis anymore", "I used to drink coffee", "I hate coffee".
  The same negations on a slot ("I don't live in Paris anymore", "I quit my job at Google", "I moved
  away from Paris") contradict the same value stated positively.

Decisions where the issue is silent:

- Symmetric: ``detect(new, existing)`` also reports a new positive statement against an old stop ("I
  drink coffee again" after "I stopped drinking coffee"): the old memory is the one to supersede.
- Past and future do not count: "I lived in Paris" is history, not a claim about now, and "I'm moving
  to Berlin next month" is a plan. Questions, and clauses after "if", "would", "maybe", "want"... are
  hypothetical and ignored.
- Objects of "live in"/"work at" must look like names: in text that uses capitals they must be
  capitalised ("I live in a flat", "I work at home", "I moved here to study" say nothing about which
  city or company); in all-lowercase chat text any object not led by an article and not a known
  non-place ("home") is accepted. "I joined X" always needs a capitalised X ("I joined a gym").
- "I stopped drinking" (no object) is only compared with another statement about the bare activity
  ("I drink"), never with "I drink coffee": a stopped habit without an object is too vague to hide one.
- Speakers: texts with different "Speaker: " prefixes are about different people and never contradict;
  a text without a prefix (a verbatim memory) is in the user's own voice and compared with any speaker.

The LLM path plugs in through ``ContradictionDetector``: same call, same result type. The vocabulary and the
phrase patterns the rules read with live in ``contradiction_patterns``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from memory.language.names import uses_capitals
from memory.language.sentences import split_sentences, split_speaker
from memory.language.words import normalise, words
from memory.lifecycle.contradiction_patterns import (
    ACTIVITIES,
    DETERMINERS,
    FAVOURITE,
    FAVOURITE_INVERTED,
    FAVOURITE_PREFIX,
    HABIT_PREFIX,
    HABIT_RULES,
    HYPOTHETICAL,
    LEMMAS,
    LIST_SPLIT,
    MAX_OBJECT_WORDS,
    NON_PLACES,
    PREFERENCES,
    PRONOUNS,
    SLOT_EMPLOYER,
    SLOT_RESIDENCE,
    SLOT_RULES,
    SPELLINGS,
    TERMINATORS,
)
from memory.lifecycle.dedupe import same_speaker


@dataclass(frozen=True)
class Contradiction:
    """Why two statements cannot both hold now: the slot they compete for, and a one-line reason."""

    slot: str
    reason: str


class ContradictionDetector(Protocol):
    """Anything that can tell whether ``new_text`` contradicts ``existing_text`` (the rules, an LLM)."""

    def detect(self, new_text: str, existing_text: str) -> Contradiction | None: ...


@dataclass(frozen=True)
class Claim:
    """One thing a statement asserts about its speaker: ``slot`` holds ``value`` (or, negated, no longer)."""

    slot: str
    value: str
    positive: bool
    single_valued: bool


# --- reading statements -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Words with hyphens as spaces: an object compares word by word ("Coca-Cola" = "coca cola")."""
    return [part for word in words(text) for part in word.split("-")]


def _norm(text: str) -> str:
    return " ".join(SPELLINGS.get(w, w) for w in normalise(text).split())


def _cut(raw: str) -> str:
    """The object proper: up to the first terminator, without leading determiners."""
    match = TERMINATORS.search(raw)
    head = raw[: match.start()] if match else raw
    words = _words(head)
    while words and words[0].casefold() in DETERMINERS:
        words.pop(0)
    return " ".join(words)


def _named_object(raw: str, cased: bool, proper_only: bool) -> str | None:
    """The value of a slot, if it looks like a name (see the module docstring)."""
    stripped = raw.strip()
    words = _words(stripped)
    if words and words[0].casefold() == "the":  # "the Netherlands", "the BBC"; never "the city"
        words = words[1:]
        stripped = stripped.split(None, 1)[1] if " " in stripped else ""
        cased = True
    if not words:
        return None
    first = words[0]
    if (cased or proper_only) and not (first[0].isupper() or first[0].isdigit()):
        return None
    value = _cut(stripped)
    if not value or value.casefold() in DETERMINERS or value.casefold() in NON_PLACES:
        return None
    if first.casefold() in DETERMINERS or len(value.split()) > MAX_OBJECT_WORDS:
        return None
    return _norm(value)


def _things(raw: str) -> list[str]:
    """The things of a habit or preference: "coffee and tea, mostly" → ["coffee", "tea"]."""
    raw = re.sub(r"^\s*to\s+", "", raw, flags=re.IGNORECASE)  # "go to the gym"
    things = []
    for part in LIST_SPLIT.split(raw):
        thing = _cut(part)
        if not thing or thing.casefold() in PRONOUNS or len(thing.split()) > MAX_OBJECT_WORDS:
            continue
        things.append(_norm(thing))
        if TERMINATORS.search(part):  # "coffee but tea too": what follows the cut is another clause
            break
    return things


def _habit_claims(verb: str | None, raw: str, positive: bool, cased: bool) -> list[Claim]:
    """Claims of ``verb raw`` ("drinking coffee", "tennis", "to swim"): one per thing, or the bare activity."""
    words = raw.split()
    lead = words[0].casefold() if words else ""
    if verb is None or verb in PREFERENCES.values():
        # After "love"/"stopped": a gerund or infinitive names the activity ("playing tennis", "to swim").
        if lead == "to" and len(words) > 1 and words[1].casefold() in ACTIVITIES:
            verb, words = ACTIVITIES[words[1].casefold()], words[2:]
        elif lead in LEMMAS and (lead.endswith("ing") or lead not in ACTIVITIES):  # "liking", "living"
            verb, words = LEMMAS[lead], words[1:]
    elif verb == "go" and lead.endswith("ing") and lead in ACTIVITIES:  # "I go running"
        verb, words = ACTIVITIES[lead], words[1:]
    lead = words[0].casefold() if words else ""
    if verb == "live" and lead == "in":
        value = _named_object(" ".join(words[1:]), cased, proper_only=False)
        return [Claim(SLOT_RESIDENCE, value, positive, True)] if value else []
    if verb == "work" and lead in ("at", "for"):
        value = _named_object(" ".join(words[1:]), cased, proper_only=False)
        return [Claim(SLOT_EMPLOYER, value, positive, True)] if value else []
    things = _things(" ".join(words))
    if not things and verb is not None and verb in ACTIVITIES.values() and verb not in ("do", "go", "use", "visit"):
        things = [verb]  # "I quit smoking" / "I smoke": the activity itself
    return [Claim(HABIT_PREFIX + thing, thing, positive, False) for thing in things]


def _hypothetical(before: str) -> bool:
    return bool(HYPOTHETICAL.search(before))


def _sentence_claims(sentence: str, cased: bool) -> list[Claim]:
    claims: list[Claim] = []
    for pattern, slot, positive, proper_only in SLOT_RULES:
        for match in pattern.finditer(sentence):
            if _hypothetical(sentence[: match.start()]):
                continue
            if "num" in match.groupdict():
                claims.append(Claim(slot, str(int(match["num"])), positive, True))
                continue
            value = _named_object(match["obj"], cased, proper_only)
            if value:
                claims.append(Claim(slot, value, positive, True))
    for pattern in (FAVOURITE, FAVOURITE_INVERTED):
        for match in pattern.finditer(sentence):
            if _hypothetical(sentence[: match.start()]):
                continue
            value = _cut(match["obj"]) if pattern is FAVOURITE else match["obj"].strip()
            if value and value.casefold() not in PRONOUNS:
                claims.append(Claim(FAVOURITE_PREFIX + _norm(match["thing"]), _norm(value), True, True))
    for pattern, positive, kind in HABIT_RULES:
        for match in pattern.finditer(sentence):
            if _hypothetical(sentence[: match.start()]):
                continue
            groups = match.groupdict()
            verb = LEMMAS.get(groups["verb"].casefold()) if groups.get("verb") else None
            if kind == "verb" and verb is None:
                continue  # "I don't need X anymore": not a verb these rules know
            lead = [w.casefold() for w in _words(groups.get("obj") or "")[:1]]
            if kind == "activity" and verb == "do" and lead and (lead[0] == "not" or lead[0] in LEMMAS):
                continue  # "I do not like", "I do love": an auxiliary, not the activity "do"
            claims.extend(_habit_claims(verb, groups.get("obj") or "", positive, cased))
    return claims


def extract_claims(text: str) -> list[Claim]:
    """Every claim of ``text`` (speaker prefix ignored), in order, without repeats."""
    _, body = split_speaker(text)
    body = body.replace("\u2019", "'").replace("\u2018", "'")
    sentences = split_sentences(body, clauses=True)
    cased = any(uses_capitals(sentence) for sentence in sentences)
    claims: list[Claim] = []
    for sentence in sentences:
        if sentence.strip().endswith("?"):
            continue
        for claim in _sentence_claims(sentence, cased):
            if claim not in claims:
                claims.append(claim)
    return claims


# --- comparing ----------------------------------------------------------------------------------------


def _same_value(a: str, b: str) -> bool:
    """Equal, or one is the other's leading words ("new york" / "new york city")."""
    wa, wb = a.split(), b.split()
    shorter, longer = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return bool(shorter) and longer[: len(shorter)] == shorter


def _conflict(new: Claim, old: Claim) -> Contradiction | None:
    if new.slot != old.slot:
        return None
    if new.single_valued:
        same = _same_value(new.value, old.value)
        if new.positive and old.positive and not same:
            return Contradiction(new.slot, f"{new.slot} was {old.value!r}, now {new.value!r}")
        if new.positive != old.positive and same:
            if new.positive:
                return Contradiction(new.slot, f"{new.slot} is {new.value!r} again")
            return Contradiction(new.slot, f"{new.slot} is no longer {new.value!r}")
        return None
    if new.positive != old.positive:
        if new.positive:
            return Contradiction(new.slot, f"likes or does {new.value!r} again, after stopping or disliking it")
        return Contradiction(new.slot, f"no longer likes or does {new.value!r}")
    return None


class RuleContradictionDetector:
    """The offline detector: the rules of this module."""

    def detect(self, new_text: str, existing_text: str) -> Contradiction | None:
        new_speaker, _ = split_speaker(new_text)
        old_speaker, _ = split_speaker(existing_text)
        if not same_speaker(new_speaker, old_speaker):
            return None
        old_claims = extract_claims(existing_text)
        for new in extract_claims(new_text):
            for old in old_claims:
                found = _conflict(new, old)
                if found is not None:
                    return found
        return None


def detect_contradiction(new_text: str, existing_text: str) -> Contradiction | None:
    """``RuleContradictionDetector().detect``: the default when no LLM endpoint is configured."""
    return RuleContradictionDetector().detect(new_text, existing_text)
