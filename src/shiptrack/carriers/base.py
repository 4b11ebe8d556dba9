"""The carrier plug-in interface.

An adapter turns "these tracking numbers, on this carrier connection" into one
:class:`~shiptrack.domain.changes.CarrierReport` or :data:`~shiptrack.domain.changes.NOT_FOUND` per
number, or raises :class:`TransportError` for the whole batch. It normalises with its carrier's
mapping table (``shiptrack.domain.mapping``) and declares how it may be called: batch size,
request budget, and whether the carrier can push.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shiptrack.domain.changes import CarrierReport, NotFoundYet

Result = CarrierReport | NotFoundYet


class TransportError(Exception):
    """The carrier could not be asked (429, 5xx, timeout, bad credentials, unreadable answer).

    Never changes a stored status: the connection backs off and the numbers are asked again later.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Budget:
    """How hard a carrier may be called, per connection and process."""

    requests_per_second: float
    burst: int = 1


@dataclass(frozen=True, slots=True)
class TrackRequest:
    """One number to ask about; ``since`` is when the account subscribed (``None`` for a one-off
    lookup), which only the sandbox uses, to know how far its simulated journey has come."""

    tracking_number: str
    since: datetime | None = None


class PushRefused(Exception):
    """A carrier push that must not be stored: bad signature (401) or unreadable body (400)."""

    def __init__(self, message: str, *, status_code: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What an adapter knows of the connection it calls through.

    ``base_url`` is already resolved (production, the carrier's test host, or the configured URL);
    ``credentials`` hold ``client_id``/``client_secret`` or ``api_key``, and ``webhook_secret`` when
    the connection receives pushes; ``options`` carrier-specific choices such as
    ``{"api_version": "v3"}``.
    """

    connection_id: int
    carrier_code: str
    simulated: bool
    base_url: str = ""
    account_number: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)


class CarrierAdapter(Protocol):
    """One carrier's tracking API."""

    batch_size: int
    budget: Budget
    accepts_push: bool

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """A result for every requested number (keyed by tracking number).

        Raises :class:`TransportError` when the carrier cannot answer for the batch.
        """
        ...

    async def verify(self, connection: ConnectionContext) -> None:
        """Check the connection's credentials with the carrier (a token fetch); raises
        :class:`~shiptrack.carriers.http.CredentialsRejected` or :class:`TransportError`."""
        ...

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        """Authenticate and read a push the carrier sent; :class:`PushRefused` if it must not be
        stored. Carriers that cannot push refuse every push."""
        ...

    async def close(self) -> Any:
        """Release what the adapter holds (HTTP sessions, tokens)."""
        ...
