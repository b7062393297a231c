"""The pure side of a side-by-side run: rankings from hits, recall by LoCoMo's evidence rule, latency ratios, the
table. No I/O, so it is unit-tested on small inputs (``tests/unit/test_bench_peers.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.locomo_data import OVERALL, TABLE_CATEGORIES, EvidenceSet, QuestionKey, Table
from bench.locomo_search import rounded, score

RECALL_KS = (5, 10, 25)
LATENCY_STATS = ("p50_ms", "p95_ms")


def ranking(hits: Iterable[Mapping[str, Any]]) -> list[str]:
    """The dia_id of each hit, best first ("" for a hit without one), as ``bench.locomo_search.search`` reads
    memstream's: one entry per memory, so several memories of one turn are several entries."""
    return [str(hit.get("dia_id") or "") for hit in hits]


def recall(
    evidence: EvidenceSet, categories: dict[QuestionKey, int], rankings: dict[QuestionKey, list[str]]
) -> Table:
    """Recall per category over the top-k hits, exactly as ``bench.locomo`` counts it (memories, not turns)."""
    return rounded(score(evidence, categories, rankings, turns=False))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def latency_ratios(memstream: Mapping[str, float], mem0: Mapping[str, float]) -> dict[str, float | None]:
    """memstream / mem0 for each percentile: below 1, memstream took less time."""
    return {stat: ratio(memstream.get(stat), mem0.get(stat)) for stat in LATENCY_STATS}


def recall_comparison(memstream: Table, mem0: Table, ks: Sequence[int] = RECALL_KS) -> dict[str, dict[str, Any]]:
    """Overall R@k of each system, memstream minus mem0 in points, and memstream / mem0."""
    out: dict[str, dict[str, Any]] = {}
    for k in ks:
        name = f"R@{k}"
        ours, theirs = memstream.get(OVERALL, {}).get(name), mem0.get(OVERALL, {}).get(name)
        out[name] = {
            "memstream": ours,
            "mem0": theirs,
            "points": None if ours is None or theirs is None else round(100 * (ours - theirs), 1),
            "ratio": ratio(ours, theirs),
        }
    return out


def _get(table: Table, group: str, name: str) -> float | None:
    return table.get(group, {}).get(name)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def markdown_table(recalls: Mapping[str, Table], add: Mapping[str, Mapping[str, float]],
                   search: Mapping[str, Mapping[str, float]]) -> str:
    """One row per system (``recalls``/``add``/``search`` keyed by system name, memstream first), then the ratio
    row memstream / mem0."""
    headers = [
        "", "add p50 ms", "add p95 ms", "search p50 ms", "search p95 ms",
        *(f"R@{k}" for k in RECALL_KS), *(f"{c} R@10" for c in TABLE_CATEGORIES),
    ]
    rows = []
    for name, table in recalls.items():
        rows.append([
            name, _ms(add[name].get("p50_ms")), _ms(add[name].get("p95_ms")),
            _ms(search[name].get("p50_ms")), _ms(search[name].get("p95_ms")),
            *(_pct(table.get(OVERALL, {}).get(f"R@{k}")) for k in RECALL_KS),
            *(_pct(table.get(c, {}).get("R@10")) for c in TABLE_CATEGORIES),
        ])
    names = list(recalls)
    if len(names) == 2:
        ours, theirs = names
        a, s = latency_ratios(add[ours], add[theirs]), latency_ratios(search[ours], search[theirs])
        rows.append([
            f"{ours} / {theirs}", _times(a["p50_ms"]), _times(a["p95_ms"]), _times(s["p50_ms"]), _times(s["p95_ms"]),
            *(_times(ratio(_get(recalls[ours], OVERALL, f"R@{k}"), _get(recalls[theirs], OVERALL, f"R@{k}")))
              for k in RECALL_KS),
            *(_times(ratio(_get(recalls[ours], c, "R@10"), _get(recalls[theirs], c, "R@10")))
              for c in TABLE_CATEGORIES),
        ])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
