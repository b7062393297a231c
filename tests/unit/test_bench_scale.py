"""bench/scale.py's workload: LoCoMo turns cut into users of ``chunk`` turns, interleaved across conversations, so a
short run still spans many users (and with them, partitions); each question is asked of an ingested user."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.ingest import DEFAULT_LOCOMO
from bench.scale import workload

pytestmark = pytest.mark.skipif(not DEFAULT_LOCOMO.exists(), reason=f"{DEFAULT_LOCOMO} (LoCoMo) is not on this machine")


def test_turns_are_cut_into_users_of_chunk_turns_across_every_conversation() -> None:
    work = workload(DEFAULT_LOCOMO, limit=600, chunk=30, app_id="scale-test")
    assert len(work.turns) == 600
    per_user = Counter(t.scope.user_id for t in work.turns)
    assert work.users == len(per_user) == 20 and set(per_user.values()) == {30}
    # Interleaved: the first 300 turns are the first chunk of each of the ten conversations.
    assert len({t.conversation_id.rsplit("-u", 1)[0] for t in work.turns[:300]}) == 10
    assert {t.scope.app_id for t in work.turns} == {"scale-test"}


def test_every_question_is_asked_of_a_user_that_was_ingested() -> None:
    work = workload(DEFAULT_LOCOMO, limit=90, chunk=15, app_id="scale-test")
    users = {t.scope.user_id for t in work.turns}
    assert work.questions and {user for user, _ in work.questions} <= users
    assert len(users) == 6 and work.users == 6
