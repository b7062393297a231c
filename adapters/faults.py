"""Fault injection for the drills that prove nothing is lost; inert unless ``MEMSTREAM_FAULTS`` is set.

The promise under test is that a failure anywhere (a poison event, a store or broker error, a dead-letter
producer that fails) neither loses nor duplicates another event. The drills start the real worker and
projectors with faults switched on at named points, so the code paths that recover are the production
ones, not copies. Each entry of ``MEMSTREAM_FAULTS`` (separated by ``;``) is one of:

- ``<point>~<needle>``: **poison**. ``trip(point, subject)`` raises ``InjectedFault`` every time
  ``subject`` contains ``needle``: an event that can never be handled, as a bug in the core would make it.
- ``<point>*<n>``: **outage**. The first ``n`` calls of ``trip(point)`` in this process raise
  ``InjectedOutage`` (a ``ConnectionError``, so it counts as transient): a store or broker that is briefly away.

Points: ``extraction.turn``, ``extraction.send``, ``embedding.memory``, ``embedding.send``,
``lifecycle.event``, ``lifecycle.send``, ``deadletter.send`` and ``projection.<store>.apply``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

ENV_VAR = "MEMSTREAM_FAULTS"


class InjectedFault(RuntimeError):
    """A poison fault: this subject can never be handled."""


class InjectedOutage(ConnectionError):
    """A transient fault: the next call may succeed."""


@dataclass
class FaultPlan:
    poison: dict[str, list[str]] = field(default_factory=dict)
    outages: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        plan = cls()
        for entry in filter(None, (part.strip() for part in spec.split(";"))):
            if "~" in entry:
                point, needle = entry.split("~", 1)
                plan.poison.setdefault(point, []).append(needle)
            elif "*" in entry:
                point, count = entry.split("*", 1)
                plan.outages[point] = int(count)
            else:
                raise ValueError(f"{ENV_VAR}: {entry!r} is neither <point>~<needle> nor <point>*<count>")
        return plan

    def trip(self, point: str, subject: str = "") -> None:
        for needle in self.poison.get(point, ()):
            if needle in subject:
                raise InjectedFault(f"injected fault at {point} (subject contains {needle!r})")
        with self._lock:  # projectors run one thread each; counts must not go below zero twice
            left = self.outages.get(point, 0)
            if left <= 0:
                return
            self.outages[point] = left - 1
        raise InjectedOutage(f"injected outage at {point} ({left - 1} more to come)")


_PLAN = FaultPlan.parse(os.environ.get(ENV_VAR, ""))


def trip(point: str, subject: str = "") -> None:
    """Raise the fault configured for ``point`` (see the module docstring); nothing when none is."""
    if _PLAN.poison or _PLAN.outages:
        _PLAN.trip(point, subject)
