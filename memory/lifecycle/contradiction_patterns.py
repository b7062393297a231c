"""The vocabulary and phrase patterns the contradiction rules read statements with (``contradiction``).

Verb forms, the words that end an object or mark a clause as hypothetical, the slot names, and the regular
expressions of single-valued slots, favourites and habits. Kept apart from the reading and the comparing so
that a rule can be added or tuned here without wading through the logic, and the logic read without the
tables; what each pattern means for a decision is said in ``contradiction``'s docstring.
"""

from __future__ import annotations

import re

from memory.language.words import word_set

# Adverbs that may sit between "I" and the verb without changing what is claimed.
_ADV = (
    r"(?:(?:really|also|absolutely|still|now|currently|actually|just|totally|truly|definitely|recently|"
    r"finally|do|so|genuinely|honestly|even|already)\s+)*"
)
# "I've", "we have": the perfect says the same as the past here ("I've moved to Berlin").
_HAVE = r"(?:'ve|\s+have)?\s+"


def _forms(*rows: tuple[str, ...]) -> dict[str, str]:
    """Each row is a lemma followed by its other forms; returns form → lemma."""
    return {form: row[0] for row in rows for form in row}


# Lemma, third person, gerund: only present habits count ("I drank" is history). "read" is left out
# because "I read X" is as often yesterday as every day.
ACTIVITIES = _forms(
    ("drink", "drinks", "drinking"),
    ("eat", "eats", "eating"),
    ("play", "plays", "playing"),
    ("do", "does", "doing"),
    ("practise", "practises", "practising", "practice", "practices", "practicing"),
    ("smoke", "smokes", "smoking"),
    ("watch", "watches", "watching"),
    ("ride", "rides", "riding"),
    ("cook", "cooks", "cooking"),
    ("run", "runs", "running"),
    ("swim", "swims", "swimming"),
    ("study", "studies", "studying"),
    ("learn", "learns", "learning"),
    ("collect", "collects", "collecting"),
    ("paint", "paints", "painting"),
    ("bake", "bakes", "baking"),
    ("hike", "hikes", "hiking"),
    ("climb", "climbs", "climbing"),
    ("surf", "surfs", "surfing"),
    ("ski", "skis", "skiing"),
    ("dance", "dances", "dancing"),
    ("sing", "sings", "singing"),
    ("write", "writes", "writing"),
    ("go", "goes", "going"),
    ("visit", "visits", "visiting"),
    ("use", "uses", "using"),
)
PREFERENCES = _forms(
    ("love", "loves", "loving"),
    ("like", "likes", "liking"),
    ("enjoy", "enjoys", "enjoying"),
    ("adore", "adores", "adoring"),
)
_SLOT_VERBS = _forms(("live", "lives", "living"), ("work", "works", "working"))
LEMMAS = {**ACTIVITIES, **PREFERENCES, **_SLOT_VERBS}
# Base forms after "I" ("I practice" as well as "I practise"); longest first so no alternative shadows another.
_ACTIVITY_RE = "|".join(sorted({f for f in ACTIVITIES if not f.endswith(("ing", "s"))}, key=len, reverse=True))
_PREFERENCE_RE = "|".join(sorted(set(PREFERENCES.values()), key=len, reverse=True))

# Words that end an object: "I live in Paris now", "I play tennis every week", "I work at Acme as a ...".
TERMINATORS = re.compile(
    r"\b(?:now|anymore|any more|no more|these days|nowadays|lately|since|from|with|for|because|but|and|or|"
    r"as|when|while|whenever|if|though|although|last|this|next|every|each|on|at|in|near|by|after|before|"
    r"which|who|where|recently|currently|too|again|also|so|very|really|a lot|so much|very much|daily|weekly|"
    r"monthly|often|sometimes|always|usually|twice|once|all the time|than|that|to|anyway|then|instead|yesterday|"
    r"today|tomorrow|tonight|ago)\b",
    re.IGNORECASE,
)
LIST_SPLIT = re.compile(r"\s*,\s*|\s+(?:and|or|&)\s+", re.IGNORECASE)
DETERMINERS = word_set("a an the my our some his her their your any")
PRONOUNS = word_set("it that this them him her you one these those everything anything something things stuff me us")
# Compared after leading determiners are cut: "the weekend" → "weekend", "a living" → "living".
NON_PLACES = word_set("home here there night nights weekend weekends myself living remote remotely")
HYPOTHETICAL = re.compile(
    r"\b(?:if|would|'d|might|maybe|perhaps|wish|hope|want|wants|wanted|thinking|considering|planning|whether|"
    r"unless|should|could|will|'ll|going to|gonna)\b",
    re.IGNORECASE,
)
MAX_OBJECT_WORDS = 5

SLOT_RESIDENCE = "residence"
SLOT_EMPLOYER = "employer"
SLOT_NAME = "name"
SLOT_AGE = "age"
HABIT_PREFIX = "habit:"
FAVOURITE_PREFIX = "favourite "
SPELLINGS = {"colour": "color", "favorite": "favourite", "movies": "movie", "films": "film"}

_OBJ = r"(?P<obj>[^.;!?]+)"
_I_AM = r"I(?:'m|\s+am)\s+"
# Single-valued slots: (pattern, slot, positive, capitalised object required even in lowercase text).
SLOT_RULES: tuple[tuple[re.Pattern[str], str, bool, bool], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), slot, positive, proper_only)
    for pattern, slot, positive, proper_only in (
        (rf"\b(?:I|we)\s+{_ADV}live\s+in\s+{_OBJ}", SLOT_RESIDENCE, True, False),
        (
            rf"\b(?:I|we)(?:'m|'re|\s+am|\s+are)\s+{_ADV}(?:living|based|settled)\s+in\s+{_OBJ}",
            SLOT_RESIDENCE,
            True,
            False,
        ),
        (rf"\b(?:I|we){_HAVE}{_ADV}(?:moved|relocated)\s+(?:back\s+)?to\s+{_OBJ}", SLOT_RESIDENCE, True, False),
        (
            rf"\b(?:I|we){_HAVE}{_ADV}(?:moved|relocated)\s+(?:away\s+)?from\s+[^.;!?]+?\s+to\s+{_OBJ}",
            SLOT_RESIDENCE,
            True,
            True,
        ),
        (rf"\bmy\s+home\s+is\s+(?:now\s+)?in\s+{_OBJ}", SLOT_RESIDENCE, True, False),
        (
            rf"\b(?:I|we){_HAVE}{_ADV}(?:moved|relocated)\s+(?:away\s+from|out\s+of|from)\s+{_OBJ}",
            SLOT_RESIDENCE,
            False,
            False,
        ),
        (rf"\bI\s+{_ADV}work\s+(?:at|for)\s+{_OBJ}", SLOT_EMPLOYER, True, False),
        (rf"\b{_I_AM}{_ADV}(?:working|employed)\s+(?:at|for|by)\s+{_OBJ}", SLOT_EMPLOYER, True, False),
        (
            rf"\bI{_HAVE}{_ADV}(?:started\s+(?:working\s+)?at|started\s+a\s+(?:new\s+)?job\s+at|got\s+a\s+job\s+at)"
            rf"\s+{_OBJ}",
            SLOT_EMPLOYER,
            True,
            False,
        ),
        (rf"\bI{_HAVE}{_ADV}joined\s+{_OBJ}", SLOT_EMPLOYER, True, True),
        (rf"\bI{_HAVE}{_ADV}(?:quit|left|lost)\s+my\s+job\s+(?:at|with)\s+{_OBJ}", SLOT_EMPLOYER, False, False),
        (rf"\bmy\s+name(?:\s+is|'s)\s+{_OBJ}", SLOT_NAME, True, False),
        (rf"\b{_I_AM}(?P<num>\d{{1,3}})\s+(?:years?|yrs?)\s+old\b", SLOT_AGE, True, False),
        (rf"\bI{_HAVE}{_ADV}turned\s+(?P<num>\d{{1,3}})\b", SLOT_AGE, True, False),
    )
)
FAVOURITE = re.compile(
    r"\bmy\s+(?:new\s+|all[- ]time\s+|absolute\s+)?favou?rite\s+(?P<thing>[a-z][\w\-]*(?:\s+[a-z][\w\-]*){0,2}?)"
    rf"(?:\s+is|'s)\s+(?:now\s+|still\s+|definitely\s+|probably\s+)?{_OBJ}",
    re.IGNORECASE,
)
FAVOURITE_INVERTED = re.compile(
    r"^\s*(?P<obj>[\w'\- ]{1,40}?)\s+is\s+(?:now\s+|still\s+)?my\s+(?:new\s+|all[- ]time\s+)?favou?rite\s+"
    r"(?P<thing>[a-z][\w\-]*(?:\s+[a-z][\w\-]*)?)\s*[.!;]?\s*$",
    re.IGNORECASE,
)
# Habits and preferences: (pattern, positive, kind) where kind says how to read the captured text.
HABIT_RULES: tuple[tuple[re.Pattern[str], bool, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), positive, kind)
    for pattern, positive, kind in (
        (rf"\bI\s+{_ADV}(?:{_PREFERENCE_RE})s?\s+{_OBJ}", True, "preference"),
        (
            rf"\b{_I_AM}{_ADV}(?:into|(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|obsessed\s+with|addicted\s+to)\s+{_OBJ}",
            True,
            "preference",
        ),
        (rf"\bI\s+{_ADV}(?P<verb>{_ACTIVITY_RE})\s+{_OBJ}", True, "activity"),
        (rf"\bI\s+{_ADV}(?P<verb>{_ACTIVITY_RE})\s*(?:[.!;]|$)", True, "activity"),
        (
            rf"\bI\s+{_ADV}(?:hate|dislike|detest|(?:can't|cannot|can\s+not)\s+stand|"
            rf"(?:don't|dont|do\s+not)\s+{_ADV}(?:{_PREFERENCE_RE}))\s+{_OBJ}",
            False,
            "preference",
        ),
        (rf"\bI{_HAVE}{_ADV}(?:stopped|quit|quitted|ceased|gave\s+up|given\s+up)\s+{_OBJ}", False, "stopped"),
        (
            rf"\bI\s+{_ADV}(?:don't|dont|do\s+not|never)\s+{_ADV}(?P<verb>[a-z]+)\b(?P<obj>[^.;!?]*?)\s*"
            r"\b(?:anymore|any\s+more|no\s+more)\b",
            False,
            "verb",
        ),
        (rf"\bI\s+{_ADV}no\s+longer\s+{_ADV}(?P<verb>[a-z]+)\b(?P<obj>[^.;!?]*)", False, "verb"),
        (r"\bI\s+used\s+to\s+(?P<verb>[a-z]+)\b(?P<obj>[^.;!?]*)", False, "verb"),
    )
)
