"""Numbers as people write them in a time phrase: digits or words, cardinal ("twenty-one") or ordinal ("eighth").

"twenty sessions ago", "three weeks ago", "the eighth of May", "May twenty-first": words up to ninety-nine,
which is as far as anyone counts days, weeks or sessions in words. The regex fragments here are group-free
so that the patterns of the other modules can embed them under their own group names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_CARDINALS = {
    word: value
    for value, word in enumerate(
        (
            "zero",
            *_UNITS,
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        )
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {
    word: value
    for value, word in enumerate(
        (
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
        ),
        start=1,
    )
}
_ORDINAL_TENS = {word.removesuffix("y") + "ieth": value for word, value in _TENS.items()}  # twentieth, thirtieth...
# "a"/"an" count one ("a week ago"); "a couple of" two. Vague counts ("a few") are read in ``relative``.
_ARTICLES = {"a": 1, "an": 1, "couple": 2, "a couple": 2}


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so that "seventeen" is not read as "seven" and "eighteenth" not as "eighth".
    return "|".join(sorted(words, key=len, reverse=True))


_JOIN = r"[-\s]+"
CARDINAL_WORDS = rf"(?:(?:{_alternation(_TENS)})(?:{_JOIN}(?:{_alternation(_UNITS)}))?|{_alternation(_CARDINALS)})"
ORDINAL_WORDS = (
    rf"(?:(?:{_alternation(_TENS)}){_JOIN}(?:{_alternation(list(_ORDINALS)[:9])})"
    rf"|{_alternation(_ORDINAL_TENS)}|{_alternation(_ORDINALS)})"
)
# A count: digits, words, or an article ("a week ago", "a couple of days ago").
COUNT = rf"(?:\d+|{CARDINAL_WORDS}|a\s+couple(?:\s+of)?|couple(?:\s+of)?|an|a)"
# A day of the month or a position in a series: "8", "8th", "eighth", "twenty-first".
ORDINAL = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{ORDINAL_WORDS})"

# More digits than any count the time window can hold; int() of thousands of digits is slow, and refused past 4300.
MAX_DIGITS = 9
_SPACES = re.compile(r"[-\s]+")


def cardinal(text: str) -> int | None:
    """ "21", "twenty-one", "twenty one", "a", "a couple of" → the number; None for anything else."""
    folded = _SPACES.sub(" ", text.strip().lower()).removesuffix(" of")
    if folded.isdigit():
        return int(folded) if len(folded) <= MAX_DIGITS else 10**MAX_DIGITS
    if folded in _ARTICLES:
        return _ARTICLES[folded]
    if folded in _CARDINALS:
        return _CARDINALS[folded]
    tens, _, unit = folded.partition(" ")
    if tens in _TENS and (not unit or unit in _UNITS):
        return _TENS[tens] + (_CARDINALS[unit] if unit else 0)
    return None


def ordinal(text: str) -> int | None:
    """ "8", "8th", "eighth", "twenty-first", "thirtieth" → the number; None for anything else."""
    folded = _SPACES.sub(" ", text.strip().lower())
    digits = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", folded)
    if digits:
        return int(digits.group(1))
    if folded in _ORDINALS:
        return _ORDINALS[folded]
    if folded in _ORDINAL_TENS:
        return _ORDINAL_TENS[folded]
    tens, _, unit = folded.partition(" ")
    if tens in _TENS and unit in _ORDINALS and _ORDINALS[unit] < 10:
        return _TENS[tens] + _ORDINALS[unit]
    return None
