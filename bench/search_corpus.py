"""The memories ``bench.search`` loads: synthetic sentences, or real conversation text (LoCoMo).

Real text (``--text locomo``) is what a production user's store holds: each user is one LoCoMo conversation
(users beyond ten repeat a conversation under another id), its turns read by the pipeline's own offline
extractor (``memory.ingest``: the same facts, entities, context and importance the extraction agent makes), dated
at their sessions, and embedded with the pipeline's MiniLM. About 1,360 memories per user, as the held-out
conversations of issue 18 had (1.3k-1.8k). Each distinct text is embedded once and its vector reused by every user
holding it, so 100k memories take the model's time for one LoCoMo, not seven. Queries are LoCoMo's questions
(categories 1-4) asked by the user holding their conversation, the day after its last session.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.locomo_data import Conversation, load_conversations, turn_event
from memory.contract.events import Event, MemoryExtracted
from memory.contract.positions import LogPosition
from memory.ingest.conversation_context import RECENT_CONVERSATIONS, RecentConversations
from memory.ingest.derivation import activation_event, embedding_events, embedding_text, extraction_events, turn_input
from memory.ingest.extraction import EXTRACTOR_NAME, extract_facts
from models.embedder import Embedder
from projections.base import Positioned

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo10.json"
APP_ID = "bench"
BATCH = 3000  # events per projector batch, as the synthetic loader
EMBED_BATCH = 64


@dataclass(frozen=True)
class AskedQuestion:
    user_id: str
    query: str
    reference_time: str  # ISO


def user_id(index: int) -> str:
    return f"user-{index}"


def _user_memories(conversation: Conversation, user: str, recorded_at: datetime) -> Iterator[Event]:
    """What extraction makes of one conversation for ``user``: MemoryExtracted and EntitiesLinked per fact."""
    recent = RecentConversations(RECENT_CONVERSATIONS)
    for turn in conversation.turns:
        event = turn_event(replace(turn, sample_id=user), APP_ID, "bench.search", recorded_at=recorded_at)
        facts = extract_facts(turn_input(event))
        yield from extraction_events(event, facts, EXTRACTOR_NAME, recorded_at, recent.context_for(event))


def locomo_events(
    count: int, embedder: Embedder, cache: Path | None = None, data: Path = DEFAULT_DATA
) -> tuple[list[list[Positioned]], int]:
    """``count`` memories of real conversation text in projector batches, and how many users hold them."""
    conversations = load_conversations(data)
    recorded_at = datetime.now(UTC)
    extracted: list[Event] = []
    users = made = 0
    while made < count:
        events = list(_user_memories(conversations[users % len(conversations)], user_id(users), recorded_at))
        made += sum(isinstance(e, MemoryExtracted) for e in events)
        extracted.extend(events)
        users += 1
    vectors = _embed_distinct([e for e in extracted if isinstance(e, MemoryExtracted)][:count], embedder, cache)
    batches: list[list[Positioned]] = []
    batch: list[Positioned] = []
    offset = taken = 0
    for event in extracted:
        derived: list[Event] = [event]
        if isinstance(event, MemoryExtracted):
            if taken == count:
                break
            taken += 1
            vector = vectors[embedding_text(event)]
            derived += embedding_events(event, vector.tolist(), embedder.model_name, recorded_at)
            derived.append(activation_event(event, recorded_at))
        for item in derived:
            batch.append(Positioned(item, LogPosition("bench", 0, offset)))
            offset += 1
        if len(batch) >= BATCH:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches, users


def _embed_distinct(extracted: list[MemoryExtracted], embedder: Embedder, cache: Path | None) -> dict[str, np.ndarray]:
    """Each distinct text's vector; with ``cache``, the vectors an earlier run computed with the same model are
    read back from it (a LoCoMo's worth of texts takes minutes on two busy cores) and new ones are added to it."""
    texts = list(dict.fromkeys(embedding_text(e) for e in extracted))
    vectors: dict[str, np.ndarray] = {}
    path = cache / f"{embedder.model_name.replace('/', '_')}.npz" if cache is not None else None
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as saved:
            vectors.update(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
    missing = [t for t in texts if t not in vectors]
    for first in range(0, len(missing), EMBED_BATCH):
        chunk = missing[first : first + EMBED_BATCH]
        vectors.update(zip(chunk, embedder.embed(chunk), strict=True))
    if path is not None and missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, texts=np.array(list(vectors)), vectors=np.stack(list(vectors.values())))
    return vectors


def locomo_questions(users: int, wanted: int, seed: int = 11, data: Path = DEFAULT_DATA) -> list[AskedQuestion]:
    """``wanted`` questions drawn at random (with repeats once all are used) from the users' conversations."""
    conversations = load_conversations(data)
    pool = [
        AskedQuestion(user_id(u), q.question, (c.last_session_at + timedelta(days=1)).isoformat())
        for u in range(users)
        for c in [conversations[u % len(conversations)]]
        for q in c.questions
        if q.category in (1, 2, 3, 4)
    ]
    rng = random.Random(seed)
    asked: list[AskedQuestion] = []
    while len(asked) < wanted:
        asked.extend(rng.sample(pool, min(len(pool), wanted - len(asked))))
    return asked

