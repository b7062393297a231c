"""docs/temporal.md's table of forms says what the reader does: every row's first example reads as shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memory.language.time_expressions import find_session, find_time_range

DOC = Path(__file__).resolve().parents[2] / "docs" / "temporal.md"
REF = datetime(2023, 5, 17, 15, 30, tzinfo=UTC)  # the reference time the table states


def rows() -> list[tuple[str, str, str]]:
    """(first example, reads as, vague) of every row of the table."""
    found = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("form", "---"):
            found.append((cells[1].split(" · ")[0], cells[2], cells[3]))
    return found


def shown(moment: datetime | None) -> str:
    if moment is None:
        return "open"
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%a %Y-%m-%d")
    return moment.strftime("%a %Y-%m-%d %H:%M") + (":01" if moment.second else "")


def test_the_table_has_every_kind_of_form() -> None:
    assert len(rows()) > 40


@pytest.mark.parametrize(("example", "reads_as", "vague"), rows())
def test_each_row_reads_as_the_table_says(example: str, reads_as: str, vague: str) -> None:
    if reads_as.startswith("`SessionRef"):
        session = find_session(example)
        assert session is not None, example
        numbers = re.search(r"(numbers|ago)=\((\d+), (\d+)\)", reads_as)
        assert numbers is not None
        assert getattr(session, numbers.group(1)) == (int(numbers.group(2)), int(numbers.group(3)))
        return
    found = find_time_range(example, REF)
    if reads_as == "none":
        assert found is None and find_session(example) is None, example
        return
    assert found is not None, example
    assert f"[{shown(found.start)}, {shown(found.end)})" == reads_as, example
    assert found.vague == (vague == "yes"), example
