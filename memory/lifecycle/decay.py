"""Importance over time, and what the decay timer should ask for.

``current_importance`` = (importance at creation + a boost for accesses) * 0.5 ** (time since the last
access, or since creation, / the half-life). Pure: ``now`` is an argument, never read from a clock.

Decisions where the issue is silent:

- Accesses raise importance by a fixed amount per *doubling* of the access count (log2), capped. The first
  few recalls say a lot about whether a memory is useful; the hundredth says little more, and a cap keeps
  one chatty topic from pinning itself above everything else.
- The clock restarts at the last access: a memory that keeps being found stays alive, whatever its age
  (use-it-or-lose-it, as in spaced-repetition models). The boost does not slow the decay itself; a
  slower half-life for often-used memories would be a second knob to tune with no benchmark yet.
- Time running backwards (an access recorded with a valid time later than the timer's ``now``, or clock
  skew between producers) counts as no time at all: importance never rises because of a clock.
- Pinned memories never decay (the user said so), but accesses still raise them.
- The result is clamped to [0, 1] like the creation score (``memory.ingest.importance``).

Threshold arithmetic, with no accesses (creation scores range 0.30..0.90, see ``memory.ingest.importance``):
small talk at 0.30 becomes Decaying after ~48 days and Forgotten after ~100; the most important facts at
0.90 after ~95 and ~147 days. Consolidation's age threshold should be well below these so old facts are
summarised (Archived memories do not decay) before they fade.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from memory.lifecycle.machine import MemoryState

# A month: conversational memory services see users come back on a weekly-to-monthly rhythm, so a fact
# untouched for a month is worth half as much, and one untouched for a season (3 half-lives) an eighth.
HALF_LIFE = timedelta(days=30)

# +0.05 per doubling of accesses: 1 access → +0.05, 3 → +0.10, 7 → +0.15 ... 63 → +0.30 (the cap).
# One access roughly equals one creation bonus's worth of evidence (``memory.ingest.importance`` bonuses are 0.05-0.20).
ACCESS_BOOST_PER_DOUBLING = 0.05
MAX_ACCESS_BOOST = 0.30

# Below this an Active memory is Decaying (ranked lower, still searchable): a third of the lowest creation
# score, i.e. even small talk gets more than one half-life (~48 days) before it starts to fade.
DECAYING_BELOW = 0.10
# Below this a Decaying memory is Forgotten (deleted everywhere): a tenth of the lowest creation score,
# ~3.3 half-lives for small talk, so a Decaying memory has weeks in which one access can rescue it.
FORGET_BELOW = 0.03


def access_boost(access_count: int) -> float:
    """How much ``access_count`` accesses add to a memory's importance (log-bounded, capped)."""
    if access_count < 0:
        raise ValueError(f"access_count must be >= 0, got {access_count}")
    return min(MAX_ACCESS_BOOST, ACCESS_BOOST_PER_DOUBLING * math.log2(1 + access_count))


def decay_factor(elapsed: timedelta) -> float:
    """0.5 ^ (elapsed / HALF_LIFE); 1.0 for no (or negative) elapsed time."""
    if elapsed <= timedelta(0):
        return 1.0
    return 0.5 ** (elapsed / HALF_LIFE)


def current_importance(
    initial: float, access_count: int, last_access_or_creation: datetime, now: datetime, pinned: bool
) -> float:
    """A memory's importance at ``now``.

    ``initial`` is the score at creation (``MemoryExtracted.importance``); ``last_access_or_creation`` is the
    valid time of its last access, or of its creation if never accessed. Both datetimes must be timezone-aware
    (or both naive): mixing them is a caller bug and raises ``TypeError``.
    """
    boosted = min(1.0, max(0.0, initial) + access_boost(access_count))
    if pinned:
        return boosted
    return max(0.0, boosted * decay_factor(now - last_access_or_creation))


def decay_decision(state: MemoryState, importance: float, pinned: bool) -> MemoryState | None:
    """The transition the decay timer should request for a memory in ``state`` at ``importance``, if any.

    - Active below ``DECAYING_BELOW`` (and not pinned) → Decaying.
    - Decaying below ``FORGET_BELOW`` → Forgotten; back at or above ``DECAYING_BELOW`` (after an access) →
      Active; pinned while Decaying → Active (pinning a fading memory rescues it).
    - Any other state → nothing: Consolidating/Archived/Recalled belong to
      consolidation (an archive is kept by its summary, not by decay), Forgotten is final, and the
      pre-activation states are not searchable yet.

    Every answer is a transition the lifecycle table allows from ``state``.
    """
    if state == MemoryState.ACTIVE:
        if not pinned and importance < DECAYING_BELOW:
            return MemoryState.DECAYING
        return None
    if state == MemoryState.DECAYING:
        if pinned or importance >= DECAYING_BELOW:
            return MemoryState.ACTIVE
        if importance < FORGET_BELOW:
            return MemoryState.FORGOTTEN
        return None
    return None
