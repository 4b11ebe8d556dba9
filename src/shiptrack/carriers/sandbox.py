"""The sandbox carrier: every carrier code, simulated, with no network at all.

The tracking number picks a journey (``carriers.scenarios``); the time since the account subscribed,
sped up by ``SHIPTRACK_SANDBOX_SPEED``, says how far it has come. Answers go through the same
mapping and change detection as a real carrier's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from shiptrack.carriers.base import (
    Budget,
    CarrierAdapter,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.scenarios import Scenario, Step, scenario_for
from shiptrack.domain.changes import NOT_FOUND, CarrierReport
from shiptrack.domain.mapping import table
from shiptrack.domain.timefmt import format_utc, utcnow
from shiptrack.domain.tracking import TrackEvent


class SandboxCarrier(CarrierAdapter):
    """A simulated carrier; one instance serves every sandbox connection of a process. It never
    pushes (and the push routes refuse simulated connections before asking it)."""

    carrier = "the sandbox carrier"
    batch_size = 50
    budget = Budget(requests_per_second=1000, burst=1000)

    def __init__(self, *, speed: float = 1.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.speed = speed
        self.clock = clock
        self.mapping = table("sandbox")

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """The simulated answer for every number; a 503 for the batch during an outage."""
        now = self.clock()
        results: dict[str, Result] = {}
        for request in requests:
            scenario = scenario_for(connection.carrier_code, request.tracking_number)
            anchor = request.since or now - timedelta(days=365)
            hours = (now - anchor).total_seconds() * self.speed / 3600
            if scenario.outage and scenario.outage[0] <= hours < scenario.outage[1]:
                # Retry-After on the carrier's clock, like every sandbox duration.
                remaining = (scenario.outage[1] - hours) * 3600
                raise TransportError(
                    "sandbox carrier outage: 503 Service Unavailable",
                    retry_after=max(1.0, min(remaining, 3600.0)),
                )
            results[request.tracking_number] = self._report(scenario, anchor, hours)
        return results

    async def verify(self, connection: ConnectionContext) -> None:
        """Simulated carriers take any credentials."""

    def _report(self, scenario: Scenario, anchor: datetime, hours: float) -> Result:
        visible = [step for step in scenario.steps if step.visible_from <= hours]
        if scenario.never_found or not visible:
            return NOT_FOUND
        events = [self._event(step, anchor) for step in visible]
        events.sort(key=lambda e: e.carrier_occurred_at or "", reverse=True)
        if scenario.duplicates:
            # Newest-first order broken up, and every scan twice.
            events = events[1::2] + events[0::2] + events[::-1]
        estimated = None
        if scenario.estimated_delivery_hours is not None:
            estimated = format_utc(self._at(anchor, scenario.estimated_delivery_hours))
        ship = next((e for e in events if e.status_code == "AC"), None)
        return CarrierReport(
            events=tuple(events),
            ship_date=format_utc(ship.occurred_at) if ship else None,
            estimated_delivery_date=estimated,
        )

    def _at(self, anchor: datetime, hours: float) -> datetime:
        return anchor + timedelta(hours=hours / self.speed)

    def _event(self, step: Step, anchor: datetime) -> TrackEvent:
        # Milliseconds, not seconds: at high sandbox speeds scans are milliseconds apart.
        raw = self._at(anchor, step.hours)
        moment = raw.replace(microsecond=raw.microsecond // 1000 * 1000)
        offset = step.place.utc_offset
        if offset is None:
            local, occurred_at = moment.replace(tzinfo=None), None
        else:
            sign = -1 if offset.startswith("-") else 1
            hh, mm = offset[1:].split(":")
            shift = sign * timedelta(hours=int(hh), minutes=int(mm))
            local, occurred_at = (moment + shift).replace(tzinfo=None), moment
        mapped = self.mapping.lookup([step.code])
        return TrackEvent(
            status_code=mapped.status_code,
            status_detail_code=mapped.status_detail_code,
            occurred_at=occurred_at,
            carrier_occurred_at=local.isoformat(timespec="milliseconds"),
            description=step.description,
            city_locality=step.place.city,
            state_province=step.place.state,
            postal_code=step.place.postal_code,
            country_code=step.place.country,
            company_name=None,
            signer=step.signer,
            event_code=step.code,
            carrier_detail_code=step.code,
            carrier_status_code=step.code,
            carrier_status_description=step.description,
        )
