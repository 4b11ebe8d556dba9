"""Tracking updates pushed by carriers (UPS Track Alert, FedEx tracking webhooks).

A push is authenticated the way its carrier specifies (the adapter checks it), then goes through the
same change detection and outbox as a poll. Polling stays on as the fallback. A push with a bad
signature, or about numbers the connection's account does not track, is refused and stored nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiptrack.carriers.base import PushRefused
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.carriers import CARRIERS, carrier_kind
from shiptrack.domain.check import ConnectionState
from shiptrack.domain.errors import NotFound, ShiptrackError, Unauthorized, ValidationFailed
from shiptrack.domain.ids import parse_id
from shiptrack.domain.tracking import normalise_tracking_number
from shiptrack.engine.connections import ConnectionOpener
from shiptrack.engine.recording import Recorder
from shiptrack.metrics.families import Metrics
from shiptrack.store.port import Store


@dataclass(frozen=True)
class Pushes:
    """What receiving carrier pushes needs: the store, the carriers, how to open a connection and
    record what it brought, and what to count."""

    store: Store
    carriers: CarrierRegistry
    opener: ConnectionOpener
    recorder: Recorder
    metrics: Metrics


async def _connection(pushes: Pushes, carrier_name: str, carrier_id: str) -> ConnectionState:
    carrier_kind(carrier_name, field_name="carrier_name")
    adapter = pushes.carriers.adapter(carrier_name, simulated=False)
    if not adapter.accepts_push:
        # Refused before the database is asked: nobody learns which connections exist.
        raise NotFound(
            f"{adapter.carrier} does not push tracking updates to shiptrack; its packages are "
            "polled",
            field_name="carrier_name",
        )
    row_id = parse_id(carrier_id, field_name="carrier_id")
    async with pushes.store.read() as tx:
        states = await tx.connections.states([row_id] if row_id is not None else [])
    state = states.get(row_id) if row_id is not None else None
    if state is None or state.deleted or state.simulated or state.carrier_code != carrier_name:
        raise NotFound(
            f"No {carrier_name} connection {carrier_id} receives pushes", field_name="carrier_id"
        )
    return state


def _refused(error: PushRefused) -> ShiptrackError:
    if error.status_code == 401:
        return Unauthorized(f"Push refused: {error.message}")
    if error.status_code == 404:
        return NotFound(f"Push refused: {error.message}")
    return ValidationFailed(f"Push refused: {error.message}")


async def receive(
    pushes: Pushes,
    carrier_name: str,
    carrier_id: str,
    headers: Mapping[str, str],
    body: bytes,
) -> int:
    """Record a push; the number of packages it updated."""
    state = await _connection(pushes, carrier_name, carrier_id)
    adapter = pushes.carriers.adapter(state.carrier_code, simulated=False)
    try:
        reports = await adapter.read_push(pushes.opener.context(state), headers, body)
    except PushRefused as error:
        raise _refused(error) from error
    numbers = {normalise_tracking_number(number): report for number, report in reports.items()}
    tracking_code = CARRIERS[state.carrier_code].tracking_code
    async with pushes.store.write() as tx:
        items = await tx.packages.lock_for_push(
            account_id=state.account_id,
            carrier_code=tracking_code,
            tracking_numbers=list(numbers),
        )
        if not items:
            raise NotFound(
                "Push refused: this account tracks none of its tracking numbers",
                field_name="trackingNumber",
            )
        changed = await pushes.recorder.record(tx, state, items, dict(numbers), speed=1.0)
    pushes.metrics.status_changed(changed)
    return len(items)


async def issue_token(
    pushes: Pushes, carrier_name: str, carrier_id: str, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """An access token for a carrier that fetches one before pushing (UPS Track Alert)."""
    state = await _connection(pushes, carrier_name, carrier_id)
    adapter = pushes.carriers.adapter(state.carrier_code, simulated=False)
    if not adapter.issues_push_tokens:
        raise NotFound(f"{carrier_name} pushes need no token", field_name="carrier_name")
    try:
        token = adapter.issue_push_token(pushes.opener.context(state), headers, body)
    except PushRefused as error:
        raise _refused(error) from error
    return token
