"""Which adapter serves a connection: one module per carrier, found by carrier code."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from shiptrack.carriers.base import (
    Budget,
    CarrierAdapter,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.http import CarrierHttp
from shiptrack.carriers.sandbox import SandboxCarrier
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.outbound import STRICT, OutboundPolicy

#: carrier code -> "module:class" of its adapter; Stamps.com packages are tracked through USPS.
ADAPTERS: dict[str, str] = {
    "usps": "shiptrack.carriers.usps:UspsCarrier",
    "stamps_com": "shiptrack.carriers.usps:UspsCarrier",
    "ups": "shiptrack.carriers.ups:UpsCarrier",
    "fedex": "shiptrack.carriers.fedex:FedexCarrier",
    "dhl_express": "shiptrack.carriers.dhl:DhlCarrier",
}


class NotYetSupported:
    """Stands in for a carrier whose adapter is missing: every call is a transport error, so
    subscriptions keep their status and show why in ``last_error``."""

    batch_size = 1
    budget = Budget(requests_per_second=1)
    accepts_push = False

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        raise TransportError(f"shiptrack has no adapter for {connection.carrier_code}")

    async def verify(self, connection: ConnectionContext) -> None:
        raise TransportError(f"shiptrack has no adapter for {connection.carrier_code}")

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        raise PushRefused(f"{connection.carrier_code} pushes are not accepted", status_code=404)

    async def close(self) -> None:
        """Nothing to release."""


class CarrierRegistry:
    """The adapters of one process, made on first use and shared by every connection; each real
    adapter calls its carrier through a client guarded by ``outbound`` (the strict policy unless
    the settings allow more)."""

    def __init__(self, *, sandbox_speed: float = 1.0, outbound: OutboundPolicy = STRICT) -> None:
        self.outbound = outbound
        self.sandbox = SandboxCarrier(speed=sandbox_speed)
        self._real: dict[str, CarrierAdapter] = {}
        self._missing = NotYetSupported()

    def adapter(self, carrier_code: str, *, simulated: bool) -> CarrierAdapter:
        """The adapter for a connection's carrier."""
        if simulated:
            return self.sandbox
        target = ADAPTERS.get(carrier_code)
        if target is None:
            return self._missing
        if target not in self._real:
            module, _, name = target.partition(":")
            try:
                adapter_class = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                return self._missing
            http = CarrierHttp(adapter_class.carrier, policy=self.outbound)
            self._real[target] = adapter_class(http)
        return self._real[target]

    def speed(self, *, simulated: bool) -> float:
        """How fast the connection's clock runs (sandbox journeys can be sped up)."""
        return self.sandbox.speed if simulated else 1.0

    async def close(self) -> None:
        """Close every adapter."""
        for adapter in (self.sandbox, *self._real.values()):
            await adapter.close()
