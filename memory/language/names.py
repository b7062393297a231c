"""Names: the capitalised words that name something (a person, a place, a pet, a product).

Without a dictionary, a name is a capitalised word that is not capitalised for another reason: not the
first word of its sentence, not "I" or one of its contractions, not a stop word ("The Lord Of The Rings"
names "lord" and "rings"). One rule, several readings of it, each for the caller that needs it:

- ``inner_names``: the distinct names of a text, folded, possessives as their owner, known speakers left
  out. The duplicate check (two facts naming different places are two facts), the specificity prior (a
  name makes a fact specific) and the topics (a name is kept whole, never stemmed) use it.
- ``uses_capitals``: whether a text capitalises anything past its sentence starts at all (so that a
  lower-case object of "I live in ..." in such a text is not a name). The contradiction rules use it; it
  counts capitalised stop words too, since they also show that the writer uses capitals.
- ``name_runs``: runs of consecutive capitalised words ("Sarah Connor") and the word before each ("in"
  Paris), where a sentence's first word only counts when it is not a common word capitalised for opening
  the sentence (``is_sentence_starter``). The extractor makes entities of them.
- ``candidate_names``: for a query, which is often all lower case, every 1-3 word span that could be an
  entity's name (lone stop words and time words cannot), also with its last word in singular. The graph
  retriever looks them up among the user's entities.

Sentence-initial capitals are not names for ``inner_names``: measured on LoCoMo, 521 of 545 capitalised
sentence-initial words that a stemmer would change are common words ("Nature", "Pets", "Books").
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from memory.language.sentences import opens_sentence
from memory.language.time_expressions import TIME_WORDS
from memory.language.words import STOPWORDS, fold, without_possessive, word_set, word_spans, words

I_FORMS = word_set("i i'm i've i'd i'll im")

# Capitalised only because they open a sentence (besides stop words, contractions and -ing/-ly words).
_COMMON_STARTERS = word_set(
    "congrats congratulations sorry please maybe anyway anyways haha lol omg yay aww awww ugh wish guess "
    "hope last next first keep appreciate any been seems seem looks look check take bring try let's agreed "
    "exactly true right same family art life music work home school"
)
# Capitalised words that are pronouns, greetings, auxiliaries, prepositions or days relative to now: never a
# name, wherever they stand (they also break a run: "Paris and Rome" are two names).
NOT_NAMES = I_FORMS | word_set(
    "it it's its the a an and but or so if my me we our you your he she they them his her their this that "
    "these those there here what when where why how who which yes no hi hey hello thanks thank oh wow ok okay "
    "well also just really very then now today yesterday tomorrow tonight lol haha sure yeah great nice cool "
    "good awesome amazing sorry please let did do does was were is are am have has had can could would "
    "should will as at by for from in of on to with about after before during since until"
)
MAX_NAME_WORDS = 3  # in a query: "Sarah Connor", "Lumen Labs", "New York City"


@dataclass(frozen=True)
class NameRun:
    """Consecutive capitalised words, as written ("Sarah Connor"), and the word before them ("with")."""

    words: tuple[str, ...]
    previous: str

    @property
    def text(self) -> str:
        return " ".join(self.words)


def is_sentence_starter(word: str) -> bool:
    """A capitalised first word that is just a common word: "That's", "Glad", "Seeing", "Sounds", "Really"."""
    lowered = fold(word)
    return lowered in STOPWORDS or lowered in _COMMON_STARTERS or "'" in lowered or lowered.endswith(("ing", "ly"))


def _capitalised_inner_words(text: str) -> list[str]:
    """Capitalised words of ``text`` that do not open a sentence, folded, "I" and its contractions aside."""
    found = []
    for match in word_spans(text):
        word = match.group()
        if word[0].isupper() and not opens_sentence(text, match.start()) and fold(word) not in I_FORMS:
            found.append(fold(word))
    return found


def inner_names(text: str, ignore: Collection[str] = ()) -> frozenset[str]:
    """The names inside ``text``'s sentences, folded, possessives as their owner, stop words and the names in
    ``ignore`` (a conversation's speakers, whom small talk names all the time) left out."""
    ignored = {fold(name) for name in ignore}
    names = (without_possessive(word) for word in _capitalised_inner_words(text))
    return frozenset(name for name in names if name not in STOPWORDS and name not in ignored)


def opening_capitals(text: str) -> frozenset[str]:
    """Capitalised words that open a sentence, folded, possessives as their owner, stop words and "I" left
    out: "Alice plays chess" gives "alice". Whether such a word is a name cannot be told from the sentence."""
    found = set()
    for match in word_spans(text):
        word = match.group()
        if word[0].isupper() and opens_sentence(text, match.start()) and fold(word) not in I_FORMS:
            found.add(without_possessive(fold(word)))
    return frozenset(word for word in found if word not in STOPWORDS)


def uses_capitals(text: str) -> bool:
    """Whether the writer capitalises words past a sentence's first ("I" and its contractions aside)."""
    return bool(_capitalised_inner_words(text))


def name_runs(sentence: str, extends: Callable[[str], bool] = lambda word: False) -> list[NameRun]:
    """Runs of capitalised words that are not ``NOT_NAMES`` (possessives as their owner), plus words for
    which ``extends`` is true (the extractor's years: "May 2023"); a run opening the sentence loses a first
    word that is a sentence starter ("Seeing Toby run..." names Toby)."""
    tokens = words(sentence)
    runs: list[NameRun] = []
    run: list[str] = []
    before = previous = ""
    for index, token in enumerate([*tokens, ""]):  # "" ends the last run
        if token and ((token[0].isupper() and fold(token) not in NOT_NAMES) or extends(token)):
            if not run:
                before = previous
                if index == 0 and is_sentence_starter(token):
                    previous = token
                    continue
            run.append(without_possessive(token))
        elif run:
            if fold(" ".join(run)) not in NOT_NAMES:
                runs.append(NameRun(tuple(run), before))
            run = []
        previous = token
    return runs


def singulars(word: str) -> list[str]:
    """The forms a plural in a query may have as an entity name: "Ferraris" -> "ferrari", "Boxes" -> "box".
    Deliberately not the stemmer: names are not stemmed ("Porsches" must find "Porsche", not "porsch")."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith("ss"):
        return []
    forms = [word[:-1]]
    if word.endswith("es"):
        forms.append(word[:-2])
    return forms


def candidate_names(query_words: list[str], max_words: int = MAX_NAME_WORDS) -> list[str]:
    """Folded 1-``max_words`` word spans of a query that could name an entity (lone stop words, time words and
    single letters cannot; possessives as their owner), each also with its last word in singular ("How many
    Ferraris..." finds the entity "Ferrari"). In order of size, then position, without repeats."""
    folded = [without_possessive(fold(w)) for w in query_words]
    names: dict[str, None] = {}
    for size in range(1, max_words + 1):
        for i in range(len(folded) - size + 1):
            span = folded[i : i + size]
            if size == 1 and (span[0] in STOPWORDS or span[0] in TIME_WORDS or len(span[0]) < 2):
                continue
            names[" ".join(span)] = None
            for singular in singulars(span[-1]):
                names[" ".join([*span[:-1], singular])] = None
    return list(names)
