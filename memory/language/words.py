"""Words: how a text is cut into words, the spellings words are compared in, stop words and content words.

A word is a run of letters and digits (any script), with inner apostrophes and hyphens kept: "don't",
"Alice's", "Jean-Luc" are one word each, as a reader sees them. Three spellings of a word, each for a job:

- the surface form (``words``): case kept, for names and for the extractor's entities;
- the folded form (``fold``): Unicode-compatibility folded, lower-cased, typographic apostrophes made
  ASCII, so "Don\u2019t" and "don't" are one word; stop words, content words and names are in this form, and it
  is what Neo4j's ``toLower`` of an entity name meets;
- the normalised form (``normalise``, of a word or a whole text): also apostrophes dropped and other
  punctuation made a space, for deciding whether two statements say the same thing ("don't" = "dont",
  "Coca-Cola" = "coca cola").
"""

from __future__ import annotations

import re
import unicodedata

from memory.language.sentences import split_speaker

_WORD = re.compile(r"[^\W_]+(?:['\u2019\u2018\-][^\W_]+)*")
_TYPOGRAPHIC_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NON_WORD = re.compile(r"[\W_]+")
_DIGIT = re.compile(r"\d")

# Function words plus the filler of casual talk (greetings, praise, hedges): words that make a remark
# sound relevant to anything. Folded form, apostrophes kept ("don't").
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each even ever every few for from further get gets getting got gotta had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
    i've if in into is isn't it it's its itself just let's like made make makes me might more most much must
    my myself no nor not now of off oh ok okay on once one only or other ought our ours ourselves out over own
    really same she she'd she'll she's should shouldn't so some something still such sure than that that's
    the their theirs them themselves then there there's these they they'd they'll they're they've thing
    things this those though through to too totally under until up us very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's will with
    won't would wouldn't yeah yep yes yet you you'd you'll you're you've your yours yourself yourselves
    hey hi hello wow thanks thank great good awesome amazing cool nice glad love lovely super fun sounds
    sound definitely absolutely always never lot lots stuff way kind bit pretty well gonna wanna know think
    feel mean means see say said tell told going go goes went let
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def word_set(words: str) -> frozenset[str]:
    """A vocabulary written as one space-separated string (easier to read and diff than a list literal)."""
    return frozenset(words.split())


def words(text: str) -> list[str]:
    """The words of ``text`` in order, surface form: ``"Alice's well-known café, 3.5"`` →
    ``["Alice's", "well-known", "café", "3", "5"]``."""
    return _WORD.findall(text)


def word_spans(text: str) -> list[re.Match[str]]:
    """``words`` with their positions (names need to know whether a word opens its sentence)."""
    return list(_WORD.finditer(text))


def fold(word: str) -> str:
    """The folded form: ``"Don\u2019t"`` → ``"don't"``, full-width ``"\uff21\uff22"`` → ``"ab"``."""
    return unicodedata.normalize("NFKC", word).lower().translate(_TYPOGRAPHIC_APOSTROPHES)


def without_possessive(word: str) -> str:
    """``"alice's"`` → ``"alice"``: a possessive is about its owner (folded or surface form)."""
    return word[:-2] if word[-2:] in ("'s", "'S", "\u2019s") else word


def normalise(text: str) -> str:
    """The normalised form of a word or a text: Unicode compatibility-folded, case-folded, apostrophes
    removed, other punctuation as spaces, whitespace collapsed (``"Don't stop-now!"`` → ``"dont stop now"``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHES.sub("", folded)).split())


def is_stop_word(word: str) -> bool:
    """A function word or small-talk filler, in any case or apostrophe style."""
    return fold(word) in STOPWORDS


def content_words(text: str) -> set[str]:
    """The distinct folded words of a line that carry content: its speaker label (``"Caroline: "``), stop
    words and words of one or two letters without a digit removed; a possessive counts as its owner, and a
    hyphenated word by its parts (as PostgreSQL's parser indexes "well-known" under "well" and "known")."""
    body = split_speaker(text)[1]
    found = set()
    for word in words(body):
        for part in without_possessive(fold(word)).split("-"):
            if (len(part) > 2 or _DIGIT.search(part)) and part not in STOPWORDS:
                found.add(part)
    return found
