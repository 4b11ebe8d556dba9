"""Opening a carrier connection for its adapter: its credentials unsealed, its request budget;
asking the carrier, timed."""

from __future__ import annotations

import time
from collections.abc import Sequence

from shiptrack.carriers.base import (
    Budget,
    CarrierAdapter,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.check import ConnectionState
from shiptrack.metrics.families import Metrics
from shiptrack.sealing import Sealer, SealingError


def credential_owner(account_id: int, carrier_code: str) -> str:
    """What sealed credentials are bound to: they open only for this account and carrier."""
    return f"account:{account_id}:carrier:{carrier_code}"


class ConnectionOpener:
    """Turns a stored connection into what its adapter needs."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def context(self, state: ConnectionState) -> ConnectionContext:
        """The connection with its credentials opened; :class:`TransportError` when the stored
        credentials cannot be decrypted (another secret key, damaged data)."""
        credentials: dict[str, str] = {}
        if state.sealed_credentials:
            try:
                credentials = self.sealer.open(
                    state.sealed_credentials,
                    owner=credential_owner(state.account_id, state.carrier_code),
                )
            except SealingError as error:
                raise TransportError(
                    f"the stored credentials cannot be decrypted: {error}"
                ) from error
        return ConnectionContext(
            connection_id=state.id,
            carrier_code=state.carrier_code,
            simulated=state.simulated,
            base_url=CARRIERS[state.carrier_code].api_url(state.base_url),
            account_number=state.account_number,
            credentials=credentials,
            options=state.options or {},
        )

    def seal(self, account_id: int, carrier_code: str, credentials: dict[str, str]) -> str:
        """Credentials sealed for storage, bound to their account and carrier."""
        return self.sealer.seal(credentials, owner=credential_owner(account_id, carrier_code))


def connection_budget(adapter: CarrierAdapter, state: ConnectionState) -> Budget:
    """The connection's own request budget when it has one, else the carrier's published one."""
    if state.requests_per_minute:
        per_second = state.requests_per_minute / 60
        return Budget(requests_per_second=per_second, burst=max(1, int(per_second)))
    return adapter.budget


async def track_timed(
    adapter: CarrierAdapter,
    context: ConnectionContext,
    requests: Sequence[TrackRequest],
    metrics: Metrics,
) -> dict[str, Result]:
    """``adapter.track``, its duration counted as a carrier request whatever came of it (a
    simulated connection calls no carrier, so it is not timed)."""
    if context.simulated:
        return await adapter.track(context, requests)
    started = time.perf_counter()
    try:
        return await adapter.track(context, requests)
    finally:
        metrics.carrier_request(context.carrier_code, time.perf_counter() - started)
