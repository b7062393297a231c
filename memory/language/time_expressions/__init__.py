"""Time expressions in a query, read relative to the query's reference time (part of ``memory.language``).

Pure and offline: ``read_temporal_intent(query, reference)`` turns the ways people name time into what the
temporal retriever needs (every form, with an example and its range, is in docs/temporal.md):
- a valid-time range (half-open ``[start, end)``, either side may be open), flagged ``vague`` for "a few
  days ago", "recently", "a while ago" (wide, and only leaning the ranking);
- an anchor phrase ("the move") when the range is relative to an event the retriever must locate first;
- the sessions named ("our first session", "3 sessions ago"), for the caller to resolve;
- a recency wish ("recently", "latest") and a "when" question (the answer is a time, so memories that
  carry time cues are the useful ones).

The modules: ``numbers`` (digits and words, cardinal and ordinal), ``calendar`` (``TimeRange`` and calendar
arithmetic), ``rules`` (a pattern and its resolution), ``dates`` (named dates, months, years), ``relative``
(times named from now, vague ones included), ``spans`` ("between X and Y"), ``sessions`` and ``reader``
(the order rules are tried in, and the whole intent).

Any count and any reference time give a range, never an error: ranges are cut to the window of
``memory.language.time_window`` (1900-01-01 .. 2999-12-31 UTC, where every stored time lies), so "100000 years ago"
is the empty range at 1900-01-01 and matches nothing.
"""

from memory.language.time_expressions.calendar import MONTHS, WEEKDAYS, TimeRange
from memory.language.time_expressions.reader import (
    TIME_CUE_PATTERN,
    TIME_WORDS,
    TemporalIntent,
    find_time_range,
    range_around_anchor,
    read_temporal_intent,
    without_time_words,
)
from memory.language.time_expressions.sessions import SessionRef, find_session

__all__ = [
    "MONTHS",
    "TIME_CUE_PATTERN",
    "TIME_WORDS",
    "WEEKDAYS",
    "SessionRef",
    "TemporalIntent",
    "TimeRange",
    "find_session",
    "find_time_range",
    "range_around_anchor",
    "read_temporal_intent",
    "without_time_words",
]
