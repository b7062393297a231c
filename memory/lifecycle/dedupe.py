"""Is a new fact a repeat of one the user already has? By normalised text, or by embedding similarity.

A repeat reinforces the existing memory instead of adding a copy (issue 3), so a false "duplicate" loses a
fact while a missed one only stores a near-copy: every rule below leans towards "not a duplicate".

Decisions where the issue is silent:

- The "Speaker: " prefix the extractor adds is not part of what a fact says, but who said it is: two
  speakers stating the same thing are two facts ("Caroline: I love coffee" and "Melanie: I love coffee" in
  one user's conversation). Texts with different speakers are never duplicates; a text without a prefix
  (a verbatim memory added through the API) is compared with any speaker's.
- Embeddings are nearly blind to numbers (and codes with digits in them), months, weekdays and negation.
  Measured with the project's all-MiniLM-L6-v2 (int8 ONNX, L2-normalised): "I am 30 years old" / "I am 31
  years old" 0.980, "I went to Rome in May" / "... in June" 0.977, "I love coffee" / "I don't love coffee"
  0.923. So the similarity path only applies when both texts carry the same numbers, words with digits,
  month and weekday names, and both or neither are negated; otherwise only identical normalised text
  counts. (Such pairs are contradiction candidates, see ``memory.lifecycle.contradiction``, which the caller should
  run first.) "may" counts as a month even when it is the verb: that only ever turns a duplicate into a
  near-copy.
- A speaker prefix is up to four capitalised words before ": " that do not start like a sentence ("I",
  "My", "The"...): "Mary Ann: ..." is a speaker, "My plan: ..." and "note: ..." are text
  (``memory.language.sentences.split_speaker``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from memory.language.names import inner_names
from memory.language.sentences import split_speaker
from memory.language.time_expressions import MONTHS, WEEKDAYS
from memory.language.words import normalise as normalise_text
from memory.language.words import word_set

# Same measurements: paraphrases of one fact score 0.935-0.997 ("I work at Google" / "I work for Google"
# 0.988, "I play tennis every week" / "... weekly" 0.970, a reworded event with an extra clause 0.935);
# different facts about the same thing reach 0.91 ("my favourite colour is blue" / "... green" 0.910,
# "my sister Anna lives in Rome" / "... in Milan" 0.905). 0.92 sits just above the highest different pair;
# it misses some paraphrases ("I live in Paris" / "My home is in Paris" 0.910), the cheap kind of error.
# A different embedding model needs its own threshold.
DEFAULT_SIMILARITY_THRESHOLD = 0.92

_DIGIT = re.compile(r"\d")
_MONTHS_AND_DAYS = frozenset(MONTHS) | frozenset(WEEKDAYS)
# After apostrophes are dropped: "don't" → "dont", "isn't" → "isnt".
_NEGATIONS = word_set(
    "not no never nothing nobody none nor neither cannot cant dont doesnt didnt isnt arent wasnt werent "
    "wont wouldnt shouldnt couldnt havent hasnt hadnt anymore longer stopped quit"
)


def same_speaker(a: str | None, b: str | None) -> bool:
    """Speakers compare case-insensitively; a missing one (a verbatim memory) matches any speaker."""
    return a is None or b is None or a.casefold() == b.casefold()


def normalise(text: str) -> str:
    """What a fact says, for exact comparison: speaker prefix dropped, then ``memory.language.words.normalise``
    (Unicode compatibility-folded, case-folded, apostrophes removed so "don't" = "dont", other punctuation as
    spaces, whitespace collapsed)."""
    return normalise_text(split_speaker(text)[1])


def _markers(normalised: str) -> tuple[frozenset[str], bool]:
    """What an embedding cannot be trusted to tell apart: the numbers and words with digits in them (codes,
    flight numbers, "iphone15"), month and weekday names, and whether the text is negated at all (so "I no
    longer ..." and "I don't ... anymore" still agree)."""
    words = normalised.split()
    exact = frozenset(w for w in words if _DIGIT.search(w) or w in _MONTHS_AND_DAYS)
    return exact, any(w in _NEGATIONS for w in words)


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors (L2-normalised vectors make this a dot product, but don't rely on it).

    A zero vector is similar to nothing (0.0). Vectors of different lengths come from different models and
    cannot be compared: ``ValueError``.
    """
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.ndim != 1 or va.shape != vb.shape:
        raise ValueError(f"cannot compare vectors of shapes {va.shape} and {vb.shape}")
    norms = float(np.linalg.norm(va) * np.linalg.norm(vb))
    if norms == 0.0:
        return 0.0
    return float(np.dot(va, vb) / norms)


def is_duplicate(
    new_text: str,
    new_vector: Sequence[float] | None,
    existing_text: str,
    existing_vector: Sequence[float] | None,
    threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
) -> bool:
    """True if the new fact repeats the existing one: same speaker, and the same normalised text or
    (when both vectors are given and the texts carry the same numbers, dates and negations) a cosine
    similarity of at least ``threshold``. Vectors must come from the same model."""
    new_speaker, _ = split_speaker(new_text)
    old_speaker, _ = split_speaker(existing_text)
    if not same_speaker(new_speaker, old_speaker):
        return False
    new_norm, old_norm = normalise(new_text), normalise(existing_text)
    if new_norm == old_norm:
        return bool(new_norm)  # two empty texts say nothing, so they repeat nothing
    if new_vector is None or existing_vector is None:
        return False
    if _markers(new_norm) != _markers(old_norm) or _names(new_text) != _names(existing_text):
        return False
    return cosine_similarity(new_vector, existing_vector) >= threshold


def is_duplicate_at(new_text: str, existing_text: str, similarity: float, threshold: float) -> bool:
    """``is_duplicate`` when the similarity is already known (from the dense index): same speaker, and the
    same normalised text or, with the same numbers, dates and negations, a similarity of at least
    ``threshold``."""
    new_speaker, _ = split_speaker(new_text)
    old_speaker, _ = split_speaker(existing_text)
    if not same_speaker(new_speaker, old_speaker):
        return False
    new_norm, old_norm = normalise(new_text), normalise(existing_text)
    if new_norm == old_norm:
        return bool(new_norm)
    same_details = _markers(new_norm) == _markers(old_norm) and _names(new_text) == _names(existing_text)
    return same_details and similarity >= threshold


def _names(text: str) -> frozenset[str]:
    """The names a fact mentions (``memory.language.names.inner_names``): embeddings barely tell "a garden in
    Lisbon" from "a garden in Oslo" (cosine ~0.95), but they are two facts."""
    return inner_names(split_speaker(text)[1])
