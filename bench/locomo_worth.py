"""LoCoMo's evidence turns that the offline extractor would make no memory of, counted offline.

A question whose evidence turn makes no memory can only lose recall: nothing of that turn can be retrieved.
This runs ``extract_facts`` over every LoCoMo turn as ``bench/locomo.py`` sends it (role ``user``, the
speaker's name, the photo caption appended) and lists the evidence turns (cleaned ``dia_id``s of the questions
of categories 1-4, original answer key) that make none. No services, a few seconds.

    .venv/bin/python -m bench.locomo_worth            # counts, and every evidence turn without a memory
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.locomo_data import Conversation, LocomoTurn, build_evidence, load_conversations
from bench.worth import rules_of_text
from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput
from memory.settings import PROJECT_ROOT

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"
ROLE = "user"  # bench/locomo.py sends both speakers of a LoCoMo conversation as users


@dataclass(frozen=True)
class Counts:
    turns: int
    memories: int
    turns_without_memory: int
    evidence_turns: int
    missing: tuple[LocomoTurn, ...]  # evidence turns that make no memory


def memories_of(turn: LocomoTurn) -> int:
    return len(extract_facts(TurnInput(ROLE, turn.speaker, turn.text)))


def count(conversations: Sequence[Conversation]) -> Counts:
    evidence = build_evidence(conversations).evidence
    by_id = {(c.index, t.dia_id): t for c in conversations for t in c.turns}
    made = {key: memories_of(turn) for key, turn in by_id.items()}
    cited = sorted({(key[0], dia_id) for key, ids in evidence.items() for dia_id in ids})
    return Counts(
        turns=len(made),
        memories=sum(made.values()),
        turns_without_memory=sum(1 for n in made.values() if n == 0),
        evidence_turns=len(cited),
        missing=tuple(by_id[key] for key in cited if made[key] == 0),
    )


def report(counts: Counts) -> str:
    lines = [
        f"turns {counts.turns}, memories {counts.memories}, turns without a memory {counts.turns_without_memory}",
        f"evidence turns (categories 1-4) {counts.evidence_turns}, without a memory {len(counts.missing)}",
    ]
    lines += [
        f"  {t.sample_id} {t.dia_id} {t.speaker}: {t.text!r} (rules: {rules_of_text(t.text, ROLE)})"
        for t in counts.missing
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    print(report(count(load_conversations(args.data))))


if __name__ == "__main__":
    main()
