"""The gauges read from the database: tracked packages by status, the outbox, disabled webhooks.

Counting a million packages takes a database a while, so a scrape never waits for it: a scrape
serves the counts read last and, when they are older than ``SHIPTRACK_METRICS_REFRESH`` seconds,
starts reading them again in the background (one read at a time). A process nobody scrapes reads
nothing. While the database cannot be read these families are left out of the answer (an absent
series is what an alert can notice; a stale number would look healthy).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import utcnow
from shiptrack.store.port import PendingDeliveries, Store

log = logging.getLogger("shiptrack.metrics")


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the database gauges show, as read at one moment."""

    tracked: dict[str, int]
    pending: PendingDeliveries
    webhooks_disabled: int


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
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        #: Seconds the last counts are served before a scrape reads them again.
        self.refresh = refresh
        self._now = now
        self._monotonic = monotonic
        self.counts: StoreCounts | None = None
        #: When the last read began (monotonic), successful or not: reads are that far apart.
        self._read_at: float | None = None
        self._reading: asyncio.Task[None] | None = None
        self._failing = False

    def refresh_soon(self) -> None:
        """Start reading the counts in the background if the last read is older than
        :attr:`refresh` seconds and none is under way. Call from the event loop."""
        if self._reading is not None and not self._reading.done():
            return
        if self._read_at is not None and self._monotonic() - self._read_at < self.refresh:
            return
        self._reading = asyncio.get_running_loop().create_task(
            self.read(), name="shiptrack-metrics-refresh"
        )

    async def read(self) -> None:
        """Read the counts now; what a failure leaves is no counts (the families are absent)."""
        self._read_at = self._monotonic()
        try:
            self.counts = await read_counts(self.store)
        except Exception as error:
            self.counts = None
            if not self._failing:  # once per outage, not once per scrape
                # The first line only: SQLAlchemy's error text goes on with the whole statement.
                reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                log.warning("metrics: cannot read the database gauges: %s", reason)
            self._failing = True
            return
        if self._failing:
            log.info("metrics: the database gauges are read again")
        self._failing = False

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
