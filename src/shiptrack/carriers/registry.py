"""Which adapter serves a connection: one class per carrier code, imported directly.

Every carrier code a client can connect (``domain.carriers.CARRIERS``) has an adapter here, and
importing this module checks it: an adapter that is missing, or that cannot be imported, stops the
process at start-up with an ImportError naming it, instead of a carrier that fails every call.
"""

from __future__ import annotations

from shiptrack.carriers.australia_post import AustraliaPostCarrier
from shiptrack.carriers.base import CarrierAdapter
from shiptrack.carriers.canada_post import CanadaPostCarrier
from shiptrack.carriers.dhl import DhlCarrier, DhlEcommerceCarrier, DhlParcelCarrier
from shiptrack.carriers.fedex import FedexCarrier
from shiptrack.carriers.gls import GlsCarrier
from shiptrack.carriers.http import CarrierHttp, HttpCarrier
from shiptrack.carriers.la_poste import LaPosteCarrier
from shiptrack.carriers.postnl import PostNLCarrier
from shiptrack.carriers.royal_mail import RoyalMailCarrier
from shiptrack.carriers.sandbox import SandboxCarrier
from shiptrack.carriers.ups import UpsCarrier
from shiptrack.carriers.usps import UspsCarrier
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.outbound import STRICT, OutboundPolicy

#: carrier code -> its adapter; Stamps.com packages are tracked through USPS.
ADAPTERS: dict[str, type[HttpCarrier]] = {
    "usps": UspsCarrier,
    "stamps_com": UspsCarrier,
    "ups": UpsCarrier,
    "fedex": FedexCarrier,
    "dhl_express": DhlCarrier,
    "canada_post": CanadaPostCarrier,
    "royal_mail": RoyalMailCarrier,
    "australia_post": AustraliaPostCarrier,
    "gls": GlsCarrier,
    "postnl": PostNLCarrier,
    "la_poste": LaPosteCarrier,
    "dhl_parcel": DhlParcelCarrier,
    "dhl_ecommerce": DhlEcommerceCarrier,
}

_without_adapter = sorted(set(CARRIERS) - set(ADAPTERS))
if _without_adapter:
    raise ImportError(f"no carrier adapter for {', '.join(_without_adapter)}")


class CarrierRegistry:
    """The adapters of one process, made with the registry and shared by every connection; each
    real adapter calls its carrier through a client guarded by ``outbound`` (the strict policy
    unless the settings allow more). Carrier codes that share an adapter class share one adapter
    (``usps`` and ``stamps_com``: one USPS client, one token cache)."""

    def __init__(self, *, sandbox_speed: float = 1.0, outbound: OutboundPolicy = STRICT) -> None:
        self.outbound = outbound
        self.sandbox = SandboxCarrier(speed=sandbox_speed)
        # Making an adapter opens nothing (HTTP sessions start on the first call), so all are made
        # now: a broken one fails the process at start-up, not the first poll of its carrier.
        made: dict[type[HttpCarrier], HttpCarrier] = {}
        for adapter_class in ADAPTERS.values():
            if adapter_class not in made:
                http = CarrierHttp(adapter_class.carrier, policy=outbound)
                made[adapter_class] = adapter_class(http)
        self._real = {code: made[adapter_class] for code, adapter_class in ADAPTERS.items()}

    def adapter(self, carrier_code: str, *, simulated: bool) -> CarrierAdapter:
        """The adapter for a connection's carrier (every connectable code has one)."""
        if simulated:
            return self.sandbox
        return self._real[carrier_code]

    def speed(self, *, simulated: bool) -> float:
        """How fast the connection's clock runs (sandbox journeys can be sped up)."""
        return self.sandbox.speed if simulated else 1.0

    async def close(self) -> None:
        """Close every adapter (each once)."""
        for adapter in dict.fromkeys((self.sandbox, *self._real.values())):
            await adapter.close()
