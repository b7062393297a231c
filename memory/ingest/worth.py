"""Worth a memory: which sentences of a conversation the offline extractor keeps as memories.

A person who remembers a conversation keeps what was said about the world and the people in it — facts,
preferences, plans, events — and what the assistant promised or did ("I'll remind you on Friday", "I've
booked the table"). Small talk is the rest: greetings and farewells, thanks and apologies, reactions to what
the other said ("That's amazing!"), well-wishes, acknowledgements ("Got it."), and the assistant's questions
and pleasantries. Small talk stays in the conversation log (every turn is logged); only memory extraction
leaves it out. Each rule below is one named predicate; ``judge`` applies them in order and says which one
decided, so a wrong verdict points at its rule (bench/worth.py prints them per rule).

The rules read one sentence, cut into clauses at commas, semicolons and colons: a sentence is small talk only
when every clause is ("That's awful, I'm sorry." is; "Thanks, I'll try the bakery on Rue Lepic." is not).
They never see the turn before, so a short answer is kept by what it carries itself ("Yes, every Sunday"
keeps "every Sunday"; a bare "Yes." says nothing on its own). Measured on tests/data/worth_a_memory.jsonl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.language.names import NOT_NAMES, inner_names, is_sentence_starter
from memory.language.time_expressions.calendar import MONTHS, WEEKDAYS
from memory.language.time_expressions.numbers import CARDINAL_WORDS, ORDINAL_WORDS
from memory.language.words import content_words, fold, word_set, words

# Words that carry no memory on their own, beyond the stop words (memory.language.words, which already
# hold "hi", "thanks", "great", "love"...): the vocabulary of greetings, thanks, sympathy, reactions, offers
# of help and time fillers. A sentence made only of these and stop words says nothing worth remembering;
# one more word ("I love *hiking*", "I'm *vegetarian*") and it may.
SMALL_TALK_WORDS = word_set(
    # greetings, farewells, thanks, apologies
    "hiya howdy bye goodbye cheers welcome morning afternoon evening night meet meeting talking chatting "
    "appreciate appreciated worries problem sorry apologies apologise apologize pleasure anytime thx pls np "
    # reactions and sympathy
    "omg aww awww haha hahaha lol hmm hmmm ugh oops yay woah whoa gosh exciting excited interesting fascinating "
    "impressive wonderful fantastic incredible beautiful adorable cute sweet perfect exactly indeed agree "
    "agreed true right sense makes congrats congratulations luck fun happy glad proud jealous shame pity "
    "tough rough awful terrible bad best better okay alright fine idea choice noted understood understand "
    "hear heard listening hang done wish wishing hope hoping enjoy care safe "
    # offers of help and requests without a subject
    "help helps helped helpful anything everything nothing else ask asking question please need assist "
    "whatever enough "
    # time fillers
    "today tonight later soon maybe anyway anyways actually honestly seriously basically literally time day "
    "week weekend moment second "
    # contractions the stop words lack
    "that'd that'll it'd it'll"
)
_FIRST_PERSON = word_set("i i'm i've i'd i'll im me my mine myself we we're we've we'd we'll us our ours")
# The speaker as subject or owner: "Keep me posted", "Join us" ask; "I", "my", "we" tell.
_SPEAKER_TELLS = _FIRST_PERSON - {"me", "us"}
# An exclamation that opens with one of these has left out its subject, the speaker: "Love that purple color!",
# "Gonna keep believing in it!", "Can't wait for the trip!" tell what the speaker likes or means to do.
_SPEAKER_LEFT_OUT = word_set("love loved loving gonna can't cannot")
_SECOND_PERSON = word_set("you you're you've you'll you'd your yours yourself u ur")
# A question can be put to the listener with "you" left out. An invitation ("Wanna meet up at the cafe on
# Monday?") is a plan when it says when or where; "How's the new job at the bakery going?" asks after the other's
# affairs as "How is your ..." would, when it names them (two content words: "How are the kids?" names nothing).
_INVITATION = re.compile(r"^(?:\w+[,!]?\s+)?(?:wanna|want to)\b", re.IGNORECASE)
_ASKS_AFTER = re.compile(r"^(?:\w+[,!]?\s+)?(?:how's|how is|how was|how're|how are|how were)\b", re.IGNORECASE)
# "you" after these is anyone, not the listener: "Is coffee bad for you?", "What's new with you?".
_GENERIC_YOU_BEFORE = word_set("for to with than like about")
# A question that opens like this asks the listener to do something for the asker ("Can you write that more
# formally?", "Could you recommend a laptop?"): a request, not a question about the listener's life.
_REQUEST = re.compile(r"^(?:\w+,?\s+)?(?:can|could|would|will|won't|wouldn't|pls|please)\s+(?:you|u)\b", re.IGNORECASE)
# Content words that ask about nothing in particular: "What are your plans?", "What's new?".
_VAGUE_ASK_WORDS = word_set("new plans plan stuff things thing lately recently going up days")
# After these, "I" is asking ("how do I", "can I", "should I"), not telling.
_AUXILIARIES = word_set("do does did can could should would will shall may might must am")
_DATE_WORDS = frozenset(MONTHS) | frozenset(WEEKDAYS)
# Verbs of a commitment that promise nothing concrete ("I'll keep that in mind", "I'll take a look").
_EMPTY_PROMISE_WORDS = word_set("keep mind check look try see take")
_PROMISE_OR_DONE = word_set("will won't shall have had found made set sent put got took wrote built left told")
_CLAUSE_BREAK = re.compile(r"[,;:\u2014]|\s-\s|[!?]+\s")  # "hey sam!! long time no see": two clauses
_NUMBER_WORD = re.compile(rf"(?:{CARDINAL_WORDS}|{ORDINAL_WORDS})", re.IGNORECASE)
# A statement ahead of an assistant's question: "I found a seat at 02:10; shall I book it?"
_BEFORE_QUESTION = re.compile(r"[;\u2014]|\s-\s")
_GREETING = re.compile(
    r"^(?:hi|hey|hello|hiya|howdy|yo|greetings|dear|welcome(?: back)?|good (?:morning|afternoon|evening|day)|"
    r"morning|evening|long time no see)\b",
    re.IGNORECASE,
)
_THANKS_OR_APOLOGY = re.compile(
    r"^(?:thanks|thank you|thx|many thanks|much appreciated|(?:i )?appreciate (?:it|that|you|your)|"
    r"(?:i'm |i am )?(?:so |very |really |truly )?sorry (?:to hear|about|for|you|that)|(?:i )?apologi[sz]e|"
    r"my apologies|no (?:worries|problem)|you're welcome|you are welcome|(?:my|the) pleasure|anytime|"
    r"don't mention it)\b",
    re.IGNORECASE,
)
_FAREWELL_OR_WISH = re.compile(
    r"^(?:good ?bye|bye|see you|see ya|(?:talk|chat|speak) (?:to you )?(?:soon|later|tomorrow)|catch you|"
    r"take care|sleep well|"
    r"sweet dreams|good ?night|have (?:a|an|fun)\b|enjoy (?:your|the|it)\b|good luck|best of luck|wishing you|"
    r"safe travels|stay \w+[.!]*$|happy (?:birthday|anniversary|holidays|new year|\w+ing)\b|get well|"
    r"(?:gotta|got to|have to|need to|must) (?:go|run|dash)[.!]*$|congrat)",
    re.IGNORECASE,
)
# A remark about what the other just said opens by pointing back at it: "That's...", "How exciting",
# "Sounds...", "You're a lifesaver".
_REACTION_OPENERS = word_set(
    "that that's that'd that'll this it it's what how sounds sound seems looks such so you you're you'll you'd must"
)
_LOCATIVES = word_set("in at on from near under behind inside outside")
# "That's such an important job" is a reaction; "It's a painting of a sunset over the lake" is not.
_MAX_REACTION_CONTENT = 2
_MAX_EXCLAMATION_WORDS = 5  # "Swimming is great exercise!"; longer exclamations usually tell something
_MIN_QUESTION_CONTENT = 2  # "Did you know I moved to Lyon?" tells; "Can we plan my week?" asks
_MAX_BARE_WORDS = 2  # "Yum", "Well deserved", "another bug": too short to tell anything without a name or number
_MAX_GREETED_WORDS = 1  # "hey sam", "Good morning sunshine": whom the greeting greets
# After a named subject, these make the sentence a statement about it: "Max is a real go-getter!".
_ABOUT_THE_SUBJECT = word_set("is was has had")


@dataclass(frozen=True)
class Verdict:
    keep: bool
    rule: str  # the predicate that decided


# --- what a clause or sentence carries ---------------------------------------------------------------------


def chat_content(text: str) -> set[str]:
    """The content words of ``text`` (memory.language.words.content_words) that are not small talk."""
    return {word for word in content_words(text) if word not in SMALL_TALK_WORDS}


def _folded(text: str) -> list[str]:
    return [fold(word) for word in words(text)]


def has_specifics(text: str) -> bool:
    """A number (digits or words), a name inside the sentence, a month or a weekday: something a memory could
    be asked about ("Three months.", "The 3rd.", "Firefox on a Linux laptop.")."""
    return has_count_or_date(text) or bool(inner_names(text))


def has_count_or_date(text: str) -> bool:
    """A digit, a number word ("three", "eighth"), a month or a weekday."""
    return any(ch.isdigit() for ch in text) or any(
        w in _DATE_WORDS or _NUMBER_WORD.fullmatch(w) for w in _folded(text)
    )


def clauses(sentence: str) -> list[str]:
    """The sentence cut at commas, semicolons, colons and dashes, stripped, empty ones dropped."""
    return [part.strip(" .!?\"'") for part in _CLAUSE_BREAK.split(sentence) if part.strip(" .!?\"'")]


# --- small talk, one clause at a time ------------------------------------------------------------------------


def says_nothing(clause: str) -> bool:
    """Only stop words and small-talk words: "Sounds good", "Oh good idea", "I'm so happy for you"."""
    return not chat_content(clause)


def is_greeting(clause: str) -> bool:
    """A greeting, perhaps with whom it greets: "Hi Bea", "hey sam", "Good morning sunshine", "Hey there"."""
    folded = fold(clause)  # typographic apostrophes and full-width letters as the patterns spell them
    match = _GREETING.match(folded)
    if match is None:
        return False
    rest = folded[match.end() :]
    return len(chat_content(rest)) <= _MAX_GREETED_WORDS


def is_thanks_or_apology(clause: str) -> bool:
    """Thanks, apologies, sympathy and their answers, whatever they are for: "Thanks for sharing that",
    "Sorry to hear that", "No worries", "You're welcome". "Sorry I'm late" is not one: it tells something."""
    return _THANKS_OR_APOLOGY.match(fold(clause)) is not None


def is_farewell_or_wish(clause: str) -> bool:
    """A farewell or a well-wish: "See you next time", "Good luck with the demo", "Have fun tomorrow",
    "Gotta run". A wish points at the other's plan, which their own words state. One that names a place, a
    person or a date is a plan itself: "See you tomorrow at McGee's Pub"."""
    return _FAREWELL_OR_WISH.match(fold(clause)) is not None and not has_specifics(clause)


def is_reaction(clause: str) -> bool:
    """A remark on what the other said: opens by pointing back ("That's", "How", "Sounds", "You'd"), says
    nothing about the speaker, names nothing, has no place ("It's in the garage" answers) and at most two
    content words: "That's such an important job", "It's so hot today", "You're a lifesaver"."""
    folded = _folded(clause)
    return (
        bool(folded)
        and folded[0] in _REACTION_OPENERS
        and not _FIRST_PERSON.intersection(folded)
        and not _LOCATIVES.intersection(folded)
        and not has_specifics(clause)
        and len(chat_content(clause)) <= _MAX_REACTION_CONTENT
    )


def is_bare(clause: str) -> bool:
    """One or two words that name nothing, count nothing and are not the speaker's: "Yum", "Respect", "Well
    deserved", "another bug", "quick question". A short answer with a name or number stays ("Three months")."""
    found = _folded(clause)
    return len(found) <= _MAX_BARE_WORDS and not _SPEAKER_TELLS.intersection(found) and not has_specifics(clause)


def is_vocative(clause: str, among: int) -> bool:
    """Only a name or two, beside other clauses: the person addressed ("That's so cool, Alice"). A month or
    weekday is no one ("Deadline: June")."""
    found = words(clause)
    return among > 1 and 0 < len(found) <= 2 and all(w[0].isupper() for w in found) and not has_count_or_date(clause)


def is_small_talk_clause(clause: str, among: int) -> bool:
    return (
        says_nothing(clause)
        or is_greeting(clause)
        or is_thanks_or_apology(clause)
        or is_farewell_or_wish(clause)
        or is_reaction(clause)
        or is_bare(clause)
        or is_vocative(clause, among)
    )


# --- whole sentences -----------------------------------------------------------------------------------------


def is_small_talk(sentence: str) -> bool:
    """Every clause is small talk (``is_small_talk_clause``)."""
    parts = clauses(sentence)
    return all(is_small_talk_clause(part, len(parts)) for part in parts)


def is_short_exclamation(sentence: str) -> bool:
    """A short exclamation about nothing of the speaker's and naming nothing: "Swimming is great exercise!",
    "Send pictures!", "Keep me posted!". "We got a puppy!", "Love that purple color!" (the speaker left out),
    "Max loved the Alps!" and "Barcelona is a must-visit city!" (``names_its_subject``) tell."""
    found = _folded(sentence)
    return (
        sentence.rstrip().endswith("!")
        and len(found) <= _MAX_EXCLAMATION_WORDS
        and not _SPEAKER_TELLS.intersection(found)
        and found[0] not in _SPEAKER_LEFT_OUT
        and not has_specifics(sentence)
        and not names_its_subject(sentence)
    )


def names_its_subject(sentence: str) -> bool:
    """The sentence opens with a name and says what it is or was: "Max is a real go-getter!", "Barcelona is a
    must-visit city!". A capitalised first word is usually just the sentence's start (memory.language.names), so
    it counts only when it is no common opener and "is", "was", "has" or "had" follows it ("Send pictures!",
    "Swimming is great exercise!" name nothing)."""
    found = words(sentence)
    return (
        len(found) > 1
        and found[0][0].isupper()
        and fold(found[0]) not in NOT_NAMES
        and not is_sentence_starter(found[0])
        and fold(found[1]) in _ABOUT_THE_SUBJECT
    )


def asks_about_listener(sentence: str) -> bool:
    """A question to the other person about their own life that names something: a thing, place, event, time
    or plan ("Did you see that band?", "How did you get into watercolor painting?", "Did you take advantage of
    the skiing in Banff?"). In a conversation between people the question often carries the fact the answer
    only confirms. "How are you?", "What do you do?", "What are your plans?" name nothing; "Can you write that
    more formally?" is a request and "Is coffee bad for you?" a general question, neither about the listener."""
    if not is_question(sentence) or _REQUEST.match(fold(sentence.strip())):
        return False
    found = _folded(sentence)
    named = chat_content(sentence) - _VAGUE_ASK_WORDS
    if any(
        word in _SECOND_PERSON and (i == 0 or word != "you" or found[i - 1] not in _GENERIC_YOU_BEFORE)
        for i, word in enumerate(found)
    ):
        return bool(named)
    opening = fold(sentence.strip())
    if _INVITATION.match(opening):
        return bool(named) and (has_count_or_date(sentence) or bool(_LOCATIVES.intersection(found)))
    return _ASKS_AFTER.match(opening) is not None and len(named) >= _MIN_QUESTION_CONTENT


def is_question(sentence: str) -> bool:
    return sentence.rstrip(" \"')").endswith("?")


def discloses_self(sentence: str) -> bool:
    """The speaker tells something about themself: "my"/"our"/"we", or "I" that is not asking ("how do I",
    "can I"), with at least two content words: "Did you know I moved to Lyon?", not "Can we plan my week?"."""
    found = _folded(sentence)
    telling = any(
        (word in _SPEAKER_TELLS and word != "i") or (word == "i" and (i == 0 or found[i - 1] not in _AUXILIARIES))
        for i, word in enumerate(found)
    )
    return telling and len(chat_content(sentence)) >= _MIN_QUESTION_CONTENT


def commits(sentence: str) -> bool:
    """The speaker promises or reports an action: "I'll remind you on Friday", "I won't schedule anything
    between 9 and 11", "I've booked a technician", "I moved the gym slot to 6pm" — with something concrete in
    it ("I'll keep that in mind" promises nothing)."""
    found = _folded(sentence)
    acting = any(
        word in {"i'll", "we'll", "i've", "we've"}
        or (word in {"i", "we"} and i + 1 < len(found) and _is_action_after_subject(found[i + 1]))
        for i, word in enumerate(found)
    )
    return acting and bool(chat_content(sentence) - _EMPTY_PROMISE_WORDS)


def _is_action_after_subject(word: str) -> bool:
    """The word after "I"/"we" that makes a promise ("will", "won't") or reports something done (a past tense:
    regular "-ed", or one of the irregular verbs of getting things done)."""
    return word in _PROMISE_OR_DONE or (word.endswith("ed") and len(word) > len("need"))


def tells_specifics(sentence: str) -> bool:
    """Addressed to the listener and specific ("Your flight LH716 leaves at 11:50", "You told me your favourite
    singer is Barbara"), or with a number, time or date, which is what people ask again ("The parcel will
    arrive on Wednesday between 2 and 6pm", "Booked: seat 34C"). Generic advice ("You can reverse a list",
    "Tuples are immutable") has neither; a name alone ("Paris is lovely") is not enough without "you"."""
    if _SECOND_PERSON.intersection(_folded(sentence)):
        return has_specifics(sentence)
    return has_count_or_date(sentence)


# --- the verdict ----------------------------------------------------------------------------------------------


def judge(sentence: str, role: str) -> Verdict:
    """Whether ``sentence``, said by ``role``, is worth a memory, and the rule that decided."""
    if role != "assistant" and asks_about_listener(sentence):
        # Before small talk: "How did you get into painting?" opens like a reaction ("How exciting!"). "Did you
        # know I moved to Lyon?" asks the listener but tells about its asker: that rule names it.
        return Verdict(True, "discloses_self" if discloses_self(sentence) else "asks_about_listener")
    if is_small_talk(sentence):
        return Verdict(False, "small_talk")
    if is_short_exclamation(sentence):
        return Verdict(False, "short_exclamation")
    if is_question(sentence):
        # The assistant's questions ask for facts; the answer holds them. A user's question holds one only
        # when it tells something about its asker.
        if role == "assistant":
            return _assistant_statement(_statement_before_question(sentence), "assistant_question")
        return Verdict(True, "discloses_self") if discloses_self(sentence) else Verdict(False, "question")
    if role == "assistant":
        return _assistant_statement(sentence, "assistant_remark")
    return Verdict(True, "statement")


def _assistant_statement(sentence: str, otherwise: str) -> Verdict:
    """What the assistant explains or suggests stays in the log; what it promised, did, or told the user about
    the user's own affairs (times, numbers, dates) is remembered."""
    if sentence and commits(sentence):
        return Verdict(True, "assistant_commitment")
    if sentence and tells_specifics(sentence):
        return Verdict(True, "assistant_tells_specifics")
    return Verdict(False, otherwise)


def _statement_before_question(sentence: str) -> str:
    """The statement an assistant's question follows within one sentence ("I found a seat on the 02:10 flight;
    shall I book it?" reports a find), or "" when the sentence is only a question."""
    parts = _BEFORE_QUESTION.split(sentence)
    return " ".join(parts[:-1]).strip()


def worth_remembering(sentence: str, role: str) -> bool:
    return judge(sentence, role).keep
