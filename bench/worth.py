"""Worth a memory: precision and recall of the offline extractor on a labelled set of conversation turns.

``tests/data/worth_a_memory.jsonl`` holds 649 turns from many kinds of conversation (personal chat, support,
coding help, planning, health, travel, work, small talk, a companion assistant, chat between people, and
more), user and assistant, each labelled ``worth`` (a person would want it remembered: a fact, preference,
plan, event, or what the assistant committed to) or ``not`` (small talk), with the reason. Four parts,
written in order: ``dev`` (370 turns), which the rules were written looking at; ``dev2`` (104 turns in other
styles: lower case, emoji, longer turns), written after the first rules and whose errors then led to more
general rules; ``held_out`` (102 turns of other topics), written after that and never used to change the
rules; ``peer`` (73 turns of conversations between people: friends, siblings, colleagues, neighbours),
written after the rule for a person's questions about the other (``asks_about_listener``) and never used
to change a rule.

A turn counts as kept when the extractor makes at least one memory of it
(memory.ingest.extraction.extract_facts). Precision: of the kept turns, how many are worth a memory;
recall: of the turns worth a memory, how many are kept. No services, no model.

    .venv/bin/python -m bench.worth              # the figures, per part, role and kind of conversation
    .venv/bin/python -m bench.worth --errors     # also every turn the extractor gets wrong, with its rules
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput
from memory.ingest.worth import judge
from memory.language.sentences import split_sentences
from memory.settings import PROJECT_ROOT

LABELLED = PROJECT_ROOT / "tests" / "data" / "worth_a_memory.jsonl"


@dataclass(frozen=True)
class Labelled:
    kind: str
    role: str
    speaker: str
    text: str
    worth: bool
    reason: str
    split: str  # "dev": the rules were written looking at it; "held_out": written after, never tuned on
    context: str = ""


@dataclass(frozen=True)
class Score:
    kept_worth: int  # true positives
    kept_not: int  # false positives
    dropped_worth: int  # false negatives
    dropped_not: int  # true negatives

    @property
    def precision(self) -> float:
        kept = self.kept_worth + self.kept_not
        return self.kept_worth / kept if kept else 1.0

    @property
    def recall(self) -> float:
        worth = self.kept_worth + self.dropped_worth
        return self.kept_worth / worth if worth else 1.0

    @property
    def turns(self) -> int:
        return self.kept_worth + self.kept_not + self.dropped_worth + self.dropped_not


def load(path: Path = LABELLED) -> list[Labelled]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Labelled(
            kind=r["kind"],
            role=r["role"],
            speaker=r["speaker"],
            text=r["text"],
            worth=r["label"] == "worth",
            reason=r["reason"],
            split=r["split"],
            context=r.get("context", ""),
        )
        for r in rows
    ]


def kept(turn: Labelled) -> bool:
    """What the pipeline does: the turn makes at least one memory."""
    return bool(extract_facts(TurnInput(turn.role, turn.speaker, turn.text)))


def score(turns: Iterable[Labelled]) -> Score:
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for turn in turns:
        counts[(kept(turn), turn.worth)] += 1
    return Score(counts[(True, True)], counts[(True, False)], counts[(False, True)], counts[(False, False)])


def rules_of(turn: Labelled) -> str:
    """The rule that decided each sentence of the turn, for reading an error."""
    return rules_of_text(turn.text, turn.role)


def rules_of_text(text: str, role: str) -> str:
    return ", ".join(judge(sentence, role).rule for sentence in split_sentences(text))


def _line(name: str, s: Score) -> str:
    return f"| {name} | {s.turns} | {s.precision:.3f} | {s.recall:.3f} | {s.kept_not} | {s.dropped_worth} |"


def report(turns: Sequence[Labelled], errors: bool) -> str:
    lines = ["| turns | n | precision | recall | small talk kept | worth dropped |", "|---|---|---|---|---|---|"]
    lines.append(_line("all", score(turns)))
    for split in ("dev", "dev2", "held_out", "peer", "forms"):
        lines.append(_line(f"split {split}", score(t for t in turns if t.split == split)))
    for role in sorted({t.role for t in turns}):
        lines.append(_line(f"role {role}", score(t for t in turns if t.role == role)))
    for kind in sorted({t.kind for t in turns}):
        lines.append(_line(kind, score(t for t in turns if t.kind == kind)))
    if errors:
        lines.append("")
        for turn in turns:
            if kept(turn) != turn.worth:
                verdict = "kept, labelled not" if turn.worth is False else "dropped, labelled worth"
                lines.append(f"{verdict}: [{turn.role}] {turn.text!r} ({turn.reason}; rules: {rules_of(turn)})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=LABELLED)
    parser.add_argument("--errors", action="store_true", help="list every turn the extractor gets wrong")
    args = parser.parse_args(argv)
    print(report(load(args.data), args.errors))


if __name__ == "__main__":
    main()
