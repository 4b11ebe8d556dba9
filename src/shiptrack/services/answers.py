"""``GET /v1/tracking`` answers kept ready: the hottest read path costs no database round trip
while an answer is fresh, and no decoding or JSON rendering of the scans while the history has
not changed.

Two things are kept, each for its own reason:

- **Whole answers**, for ``SHIPTRACK_CACHE_SECONDS`` at most. The store tells this process after
  every write transaction of its own which packages changed (``Store.watch_package_writes``), and
  their answers are dropped at once: a change made through this process (a check recorded by its
  workers, a push, a stop or start through its API) is never served stale. A change made through
  another process is seen within ``SHIPTRACK_CACHE_SECONDS``. A read under way while a write
  lands may have seen the old row: its answer is served to that caller (it asked before the
  change) but not kept. An answer asked for once three quarters of its time have passed is read
  again in the background (:meth:`TrackingAnswers.refresh_due`), so a package polled often is
  not made to wait for the database each time its answer expires; it is never served past its
  time.
- **The scans' JSON**, per package, for as long as the stored history is byte for byte the same.
  Nothing can go stale here: another history is another key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from shiptrack.domain.changes import newest_first
from shiptrack.domain.tracking import TrackEvent
from shiptrack.serialization import dump_json
from shiptrack.store.port import FoundPackage, PackageKey, WrittenPackages

#: Packages whose scans' JSON is kept; beyond, the oldest are dropped first.
EVENTS_KEPT = 10_000
#: Whole answers kept; beyond, the cache starts afresh.
ANSWERS_KEPT = 50_000
#: Each answer is kept between half and all of ``SHIPTRACK_CACHE_SECONDS``, at random: answers
#: kept at the same moment (a client polling its packages together) do not all expire together
#: and send a burst of reads to the database at once.
SPREAD = 0.5
#: The share of its time after which a kept answer that is asked for is read again in the
#: background: late enough to cost few extra reads, early enough for the read to land in time.
REFRESH_AFTER = 0.75


class TrackingAnswers:
    """Rendered ``GET /v1/tracking`` answers of this process (see the module)."""

    def __init__(
        self,
        ttl: float,
        *,
        max_answers: int = ANSWERS_KEPT,
        max_events: int = EVENTS_KEPT,
        clock: Callable[[], float] = time.monotonic,
        spread: Callable[[], float] = random.random,
    ) -> None:
        self.ttl = ttl
        self._spread = spread
        self.max_answers = max_answers
        self.max_events = max_events
        self._clock = clock
        #: key -> (expires at, refresh from, answer)
        self._answers: dict[PackageKey, tuple[float, float, bytes]] = {}
        #: Keys whose answer is being read again in the background.
        self._refreshing: set[PackageKey] = set()
        #: package id -> its key, for the writes told by id
        self._key_of: dict[int, PackageKey] = {}
        #: package id -> (the history it was rendered from, its scans' JSON)
        self._events: dict[int, tuple[bytes, bytearray]] = {}
        #: Counts the writes told; a read remembers where it started (:meth:`ticket`).
        self._writes = 0
        #: When each package (by id, or by key for a start) was last written, in write counts.
        self._written_ids: dict[int, int] = {}
        self._written_keys: dict[PackageKey, int] = {}
        #: Reads that started before this write count keep nothing (the two maps were emptied).
        self._floor = 0

    def fresh(self, key: PackageKey) -> bytes | None:
        """The package's answer if one is kept and fresh."""
        entry = self._answers.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._answers[key]
            return None
        return entry[2]

    def refresh_due(self, key: PackageKey) -> bool:
        """Whether the caller should read ``key``'s answer again now, in the background: it is
        kept, past :data:`REFRESH_AFTER` of its time, and not already being read again. ``True``
        holds the key until :meth:`refreshed`."""
        entry = self._answers.get(key)
        if entry is None or entry[1] > self._clock() or key in self._refreshing:
            return False
        self._refreshing.add(key)
        return True

    def refreshed(self, key: PackageKey) -> None:
        """The background read :meth:`refresh_due` asked for is over (kept or not)."""
        self._refreshing.discard(key)

    def ticket(self) -> int:
        """Taken before reading a package: :meth:`keep` refuses an answer read before a write
        that changed the package was told."""
        return self._writes

    def keep(self, key: PackageKey, package_id: int, answer: bytes, ticket: int) -> None:
        """Keep ``answer`` for ``ttl`` seconds, unless the package was written since ``ticket``."""
        if self.ttl <= 0 or ticket < self._floor:
            return
        if self._written_ids.get(package_id, -1) > ticket:
            return
        if self._written_keys.get(key, -1) > ticket:
            return
        if len(self._key_of) >= self.max_answers:
            self._answers.clear()
            self._key_of.clear()
        kept_for = self.ttl * (1 - SPREAD * self._spread())
        now = self._clock()
        self._answers[key] = (now + kept_for, now + REFRESH_AFTER * kept_for, answer)
        self._key_of[package_id] = key

    def forget(self, written: WrittenPackages) -> None:
        """Drop the answers of packages a write of this process changed (a store listener)."""
        self._writes += 1
        if len(self._written_ids) + len(self._written_keys) > self.max_answers:
            # Remembering every write forever would grow without bound: reads already under way
            # keep nothing instead.
            self._written_ids.clear()
            self._written_keys.clear()
            self._floor = self._writes
        for package_id in written.ids:
            self._written_ids[package_id] = self._writes
            key = self._key_of.pop(package_id, None)
            if key is not None:
                self._answers.pop(key, None)
        for key in written.keys:
            self._written_keys[key] = self._writes
            self._answers.pop(key, None)

    def render(self, found: FoundPackage, head: dict[str, Any]) -> bytes:
        """The answer: ``head`` (every field but ``events``) with the scans' JSON, most recent
        first, rendered once per stored history."""
        package_id = found.subscription.id
        kept = self._events.get(package_id)
        if kept is not None and kept[0] == found.history:
            events = kept[1]
        else:
            events = _events_json(newest_first(found.events()))
            if len(self._events) >= self.max_events:
                del self._events[next(iter(self._events))]
            self._events[package_id] = (found.history, events)
        # The scans go last, spliced in: the head never holds them, so the object stays whole.
        return b"".join((dump_json(head)[:-1], b',"events":', events, b"}"))


def _events_json(events: list[TrackEvent]) -> bytearray:
    """The events as a JSON array, written one event at a time into one buffer: a package with
    hundreds of scans never holds them all as dictionaries, nor its JSON twice (memory per GET,
    BENCHMARKS.md 0f)."""
    out = bytearray(b"[")
    for index, event in enumerate(events):
        if index:
            out += b","
        out += dump_json(event.as_json())
    out += b"]"
    return out
