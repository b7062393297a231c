"""The dead-letter topic as this API process has read it so far, read on from where the last request stopped.

The pipeline page asks for the dead letters every 5 s; reading the whole topic each time would cost a full read
of a dead-letter queue that only grows. So each request reads only what was appended since the previous one (per
partition, from the offset the last read reached) and keeps what it read. The log stays the truth: letters the
topic's retention removed (below a partition's start) are dropped, and a partition whose end went backwards (the
topic was deleted and made again) is read again from its start.
"""

from __future__ import annotations

import threading

from memory.contract.events import DeadLetter
from memory.contract.positions import LogPosition
from memory.settings import Settings
from replay.deadletters import Reading, read_dead_letters_from


class DeadLetterCache:
    """Every dead letter on the topic, oldest first per partition, at the cost of reading only the new ones.

    ``letters`` is synchronous (the Kafka consumer is) and is called from worker threads: one lock makes
    concurrent requests read the tail once each, in turn, never the same records twice into the cache."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._reached: dict[int, int] = {}
        self._held: list[tuple[LogPosition, DeadLetter]] = []

    def letters(self) -> list[tuple[LogPosition, DeadLetter]]:
        with self._lock:
            reading = read_dead_letters_from(self._settings, self._reached)
            if any(reading.high.get(p, 0) < reached for p, reached in self._reached.items()):
                # The topic is shorter than what was read: it was made again. Start over, from its start.
                self._reached, self._held = {}, []
                reading = read_dead_letters_from(self._settings, {})
            self._keep(reading)
            return list(self._held)

    def _keep(self, reading: Reading) -> None:
        still_there = [(pos, letter) for pos, letter in self._held if pos.offset >= reading.low.get(pos.partition, 0)]
        self._held = still_there + reading.letters
        self._reached = dict(reading.reached)
