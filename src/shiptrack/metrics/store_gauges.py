"""The gauges read from the database: tracked packages by status, the outbox, disabled webhooks.

Counting a million packages takes a database a while, so a scrape never waits for it: a scrape
serves the counts read last and, when they are older than ``SHIPTRACK_METRICS_REFRESH`` seconds,
starts reading them again in the background (one read at a time). A process nobody scrapes reads
nothing. While the database cannot be read these families are left out of the answer (an absent
series is what an alert can notice; a stale number would look healthy).

The processes of ``shiptrack serve --processes N`` share one port, and a scrape reaches any one of
them: they share their reads too, through a small file in the group's metrics directory. Whichever
process answers serves the group's newest read, and the group reads at most once every
``SHIPTRACK_METRICS_REFRESH`` seconds, not N times.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import utcnow
from shiptrack.store.port import PendingDeliveries, Store

log = logging.getLogger("shiptrack.metrics")

#: The group's newest read, in its metrics directory (prometheus-client reads only ``*.db``).
SHARED_FILE = "shiptrack-store-gauges.json"


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the database gauges show, as read at one moment."""

    tracked: dict[str, int]
    pending: PendingDeliveries
    webhooks_disabled: int

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON data (what the processes of a group share)."""
        oldest = self.pending.oldest_created_at
        return {
            "tracked": self.tracked,
            "pending": self.pending.count,
            "oldest_pending": oldest.isoformat() if oldest else None,
            "webhooks_disabled": self.webhooks_disabled,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoreCounts:
        """The counts :meth:`as_json` wrote."""
        oldest = data["oldest_pending"]
        return cls(
            tracked={str(code): int(count) for code, count in data["tracked"].items()},
            pending=PendingDeliveries(
                int(data["pending"]), datetime.fromisoformat(oldest) if oldest else None
            ),
            webhooks_disabled=int(data["webhooks_disabled"]),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One read: when it began (seconds since the epoch) and what it found (``None``: the
    database could not be read)."""

    read_at: float
    counts: StoreCounts | None


async def read_counts(store: Store) -> StoreCounts:
    """Read the counts the database gauges show (three queries in one read transaction)."""
    async with store.read() as tx:
        tracked = await tx.packages.count_active()
        pending = await tx.outbox.pending()
        disabled = await tx.webhooks.count_disabled()
    return StoreCounts(tracked=tracked, pending=pending, webhooks_disabled=disabled)


class StoreGauges:
    """A Prometheus collector of the database gauges, read in the background (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        refresh: float,
        shared_dir: str | None = None,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        #: Seconds the last counts are served before a scrape reads them again.
        self.refresh = refresh
        #: Where the processes of a group share their newest read (``None``: a process alone).
        self._shared = Path(shared_dir) / SHARED_FILE if shared_dir else None
        self._now = now
        self._clock = clock
        #: This process's newest read, successful or not: reads are ``refresh`` seconds apart.
        self._own: Snapshot | None = None
        self._reading: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def counts(self) -> StoreCounts | None:
        """The counts served now: the newest read of this process or its group."""
        latest = self._latest()
        return latest.counts if latest else None

    def refresh_soon(self) -> None:
        """Start reading the counts in the background if the newest read is older than
        :attr:`refresh` seconds and none is under way here. Call from the event loop."""
        if self._reading is not None and not self._reading.done():
            return
        latest = self._latest()
        if latest is not None and self._clock() - latest.read_at < self.refresh:
            return
        self._reading = asyncio.get_running_loop().create_task(
            self.read(), name="shiptrack-metrics-refresh"
        )

    async def read(self) -> None:
        """Read the counts now; what a failure leaves is no counts (the families are absent)."""
        read_at = self._clock()
        try:
            counts: StoreCounts | None = await read_counts(self.store)
        except Exception as error:
            counts = None
            if not self._failing:  # once per outage, not once per scrape
                # The first line only: SQLAlchemy's error text goes on with the whole statement.
                reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                log.warning("metrics: cannot read the database gauges: %s", reason)
        if counts is not None and self._failing:
            log.info("metrics: the database gauges are read again")
        self._failing = counts is None
        self._own = Snapshot(read_at, counts)
        self._share(self._own)

    def _latest(self) -> Snapshot | None:
        shared = self._shared_snapshot()
        own = self._own
        if shared is None or (own is not None and own.read_at >= shared.read_at):
            return own
        return shared

    def _shared_snapshot(self) -> Snapshot | None:
        if self._shared is None:
            return None
        try:
            data = json.loads(self._shared.read_text(encoding="utf-8"))
            counts = data["counts"]
            return Snapshot(
                float(data["read_at"]), StoreCounts.from_json(counts) if counts else None
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # not written yet (or being replaced): this process's own read serves

    def _share(self, snapshot: Snapshot) -> None:
        """Offer a read to the group, unless a read that began later is there already."""
        if self._shared is None:
            return
        newest = self._shared_snapshot()
        if newest is not None and newest.read_at > snapshot.read_at:
            return
        data = {
            "read_at": snapshot.read_at,
            "counts": snapshot.counts.as_json() if snapshot.counts else None,
        }
        temporary = self._shared.with_name(f"{SHARED_FILE}.{os.getpid()}")
        try:
            temporary.write_text(json.dumps(data), encoding="utf-8")
            temporary.replace(self._shared)  # atomic: a reader sees one file or the other
        except OSError as error:
            log.warning("metrics: cannot share the database gauges: %s", error)

    async def close(self) -> None:
        """Stop a read under way."""
        if self._reading is not None and not self._reading.done():
            self._reading.cancel()
            await asyncio.wait([self._reading])

    def collect(self) -> Iterator[Metric]:
        """The families, from the counts read last (none before the first read succeeded)."""
        counts = self.counts
        if counts is None:
            return
        tracked = GaugeMetricFamily(
            "shiptrack_tracked_packages",
            "Packages tracked now (active), by status code.",
            labels=("status_code",),
        )
        for status in StatusCode:
            tracked.add_metric((str(status),), counts.tracked.get(status, 0))
        for code, count in sorted(counts.tracked.items()):
            if code not in StatusCode.__members__:  # a code this version does not know
                tracked.add_metric((code,), count)
        yield tracked
        yield GaugeMetricFamily(
            "shiptrack_outbox_pending",
            "Webhook deliveries still to be sent to live, enabled webhooks (retries included).",
            value=counts.pending.count,
        )
        oldest = counts.pending.oldest_created_at
        age = max((self._now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "shiptrack_outbox_oldest_pending_age_seconds",
            "Age of the oldest of those deliveries (0 when there is none).",
            value=age,
        )
        yield GaugeMetricFamily(
            "shiptrack_webhooks_disabled",
            "Live webhooks disabled after failing too long.",
            value=counts.webhooks_disabled,
        )
