"""bench.search's real-text corpus: LoCoMo's turns through the pipeline's own extractor and MiniLM."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from bench.locomo_data import load_conversations
from bench.search_corpus import DEFAULT_DATA, locomo_events, locomo_questions
from memory.contract.events import MemoryActivated, MemoryEmbedded, MemoryExtracted
from models.embedder import MiniLMOnnxEmbedder
from projections.base import Positioned

pytestmark = pytest.mark.skipif(not DEFAULT_DATA.exists(), reason="LoCoMo is not on this machine")


@pytest.fixture(scope="module")
def embedder() -> MiniLMOnnxEmbedder:
    return MiniLMOnnxEmbedder()


def test_each_memory_is_extracted_embedded_and_activated_in_log_order(
    embedder: MiniLMOnnxEmbedder, tmp_path: Path
) -> None:
    batches, users = locomo_events(60, embedder, tmp_path)
    events = [p.event for batch in batches for p in batch]
    offsets = [p.position.offset for batch in batches for p in batch]
    kinds = Counter(type(e) for e in events)
    assert users == 1
    assert kinds[MemoryExtracted] == kinds[MemoryEmbedded] == kinds[MemoryActivated] == 60
    assert offsets == sorted(set(offsets))  # one log, every position once, in order
    extracted = [e for e in events if isinstance(e, MemoryExtracted)]
    assert len({e.memory_id for e in extracted}) == 60
    assert {e.envelope.scope.user_id for e in extracted} == {"user-0"}
    turns = {t.dia_id: t for t in load_conversations(DEFAULT_DATA)[0].turns}
    said = turns[extracted[0].source_turn_ids[0]]  # small talk makes no memory: not always the first turn
    assert extracted[0].envelope.occurred_at == said.occurred_at  # dated at its session, not now
    vectors = [np.asarray(e.vector) for e in events if isinstance(e, MemoryEmbedded)]
    assert all(abs(float(np.linalg.norm(v)) - 1) < 1e-3 for v in vectors)


def vector_of(batch: list[Positioned]) -> list[tuple[str, tuple[float, ...]]]:
    return [(p.event.memory_id, p.event.vector) for p in batch if isinstance(p.event, MemoryEmbedded)]


def test_users_beyond_the_conversations_repeat_them_under_their_own_ids(
    embedder: MiniLMOnnxEmbedder, tmp_path: Path
) -> None:
    conversations = load_conversations(DEFAULT_DATA)
    batches, _ = locomo_events(60, embedder, tmp_path)
    cached = next(tmp_path.glob("*.npz"))  # the vectors were kept for the next run
    assert cached.stat().st_size > 0
    again, _ = locomo_events(60, embedder, tmp_path)  # read back from the cache: the same memories and vectors
    assert [vector_of(b) for b in again] == [vector_of(b) for b in batches]
    asked = locomo_questions(users=len(conversations) + 2, wanted=40)
    assert len(asked) == 40
    for question in asked:
        index = int(question.user_id.removeprefix("user-"))
        conversation = conversations[index % len(conversations)]
        assert question.query in {q.question for q in conversation.questions}
        assert datetime.fromisoformat(question.reference_time) > conversation.last_session_at
