"""The Grafana dashboard (infra/grafana/memstream.json) graphs the metrics the processes export (adapters/metrics.py):
every query names only families that exist, with the suffixes their kind has, and every family has a panel."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client import REGISTRY

import adapters.metrics  # noqa: F401  (registers the families)
from memory.settings import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "infra" / "grafana" / "memstream.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> dict[str, str]:
    """Every series name a scrape can show for the project's families -> its family."""
    names = {}
    for family in REGISTRY.collect():
        if family.name.startswith("memstream_"):
            for suffix in SUFFIXES[family.type]:
                names[family.name + suffix] = family.name
    return names


def queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_query_names_an_exported_series() -> None:
    names = exported()
    for expr in queries():
        used = set(re.findall(r"memstream_[a-z_]+", expr))
        assert used, expr
        assert used <= set(names), f"{expr}: {sorted(used - set(names))} is not exported"


def test_every_family_has_a_panel() -> None:
    names = exported()
    graphed = {names[n] for expr in queries() for n in re.findall(r"memstream_[a-z_]+", expr) if n in names}
    assert graphed == set(names.values())


def test_panels_do_not_overlap_and_have_unique_ids() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels]
    assert len(set(cells)) == len(cells)
