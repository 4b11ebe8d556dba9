"""The carrier plug-in interface.

An adapter turns "these tracking numbers, on this carrier connection" into one
:class:`~shiptrack.domain.changes.CarrierReport`, :data:`~shiptrack.domain.changes.NOT_FOUND`,
:class:`~shiptrack.domain.changes.InvalidNumber` or (an adapter that :attr:`~CarrierAdapter.
compares_with_stored` only) :data:`~shiptrack.domain.changes.UNCHANGED` per number, or raises
:class:`TransportError`
for the whole batch. It normalises with its carrier's mapping table (``shiptrack.domain.mapping``)
and declares, as class attributes and methods of :class:`CarrierAdapter`, how it may be called:
batch size, request budget, whether the carrier pushes and whether it fetches a push token first.
Capabilities are declared, never probed for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shiptrack.domain.changes import CarrierReport, InvalidNumber, NotFoundYet, Unchanged

#: An adapter's answer for one number: a report, not found (yet), the carrier's word that the
#: number itself is invalid (:class:`~shiptrack.domain.changes.InvalidNumber`), or that nothing
#: happened since the newest stored scan (:data:`~shiptrack.domain.changes.UNCHANGED`).
Result = CarrierReport | NotFoundYet | InvalidNumber | Unchanged


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
    lookup), which only the sandbox uses, to know how far its simulated journey has come.

    ``newest_event_at`` is when the newest stored scan of the number happened. It is given only to
    an adapter that :attr:`~CarrierAdapter.compares_with_stored`, and only for a package whose
    state need not be announced (``None`` otherwise: first check, restart, no scans yet); the
    adapter may then answer :data:`~shiptrack.domain.changes.UNCHANGED` when its carrier says,
    without the whole history, that nothing happened after it."""

    tracking_number: str
    since: datetime | None = None
    newest_event_at: datetime | None = None


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


class CarrierAdapter(ABC):
    """One carrier's tracking API, and what it declares about itself.

    An abstract base class, not a protocol: every adapter derives from it explicitly, inherits the
    defaults of the capabilities it does not have (one number per call, no push, no push tokens,
    nothing to close), and cannot be made without :meth:`track` and :meth:`verify`. Two
    declarations have no default, so every adapter makes them: its ``carrier`` name and its
    ``budget`` (a carrier's published limits are its own; borrowing another's would overrun it).
    The unit tests check both, and every other declaration, for every registered adapter.
    """

    #: The carrier's name in messages ("UPS could not be reached").
    carrier: ClassVar[str]
    #: The carrier's published request budget, per connection (a connection may set its own).
    budget: ClassVar[Budget]
    #: Tracking numbers one :meth:`track` call is given at most (see :meth:`batch_size_for`).
    batch_size: ClassVar[int] = 1
    #: Whether the carrier pushes tracking updates (:meth:`read_push` reads them).
    accepts_push: ClassVar[bool] = False
    #: Whether the carrier fetches a token from shiptrack before pushing
    #: (:meth:`issue_push_token` issues it); only UPS Track Alert does.
    issues_push_tokens: ClassVar[bool] = False
    #: Whether :meth:`track` is told when each number's newest stored scan happened
    #: (:attr:`TrackRequest.newest_event_at`, one more read of the store per call) to skip
    #: fetching histories that did not change; only Royal Mail, whose summary names each item's
    #: last event, can use it.
    compares_with_stored: ClassVar[bool] = False

    def batch_size_for(self, connection: ConnectionContext) -> int:
        """Numbers one :meth:`track` call may carry on this connection (the same for every
        connection unless an adapter says otherwise, e.g. by API version)."""
        return self.batch_size

    @abstractmethod
    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """A result for every requested number (keyed by tracking number).

        Raises :class:`TransportError` when the carrier cannot answer for the batch.
        """

    @abstractmethod
    async def verify(self, connection: ConnectionContext) -> None:
        """Check the connection's credentials with the carrier (a token fetch); raises
        :class:`~shiptrack.carriers.http.CredentialsRejected` or :class:`TransportError`."""

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        """Authenticate and read a push the carrier sent; :class:`PushRefused` if it must not be
        stored. By default the carrier does not push, and every push is refused (404) in the words
        the engine answers such pushes with (``engine.push``)."""
        raise PushRefused(
            f"{self.carrier} does not push tracking updates to shiptrack; its packages are polled",
            status_code=404,
        )

    def issue_push_token(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """The OAuth token response a carrier that :attr:`issues_push_tokens` fetches before it
        pushes; :class:`PushRefused` when the request must not get one. By default the carrier
        needs no token, and every request is refused (404)."""
        raise PushRefused(f"{self.carrier} pushes need no token", status_code=404)

    async def close(self) -> None:  # noqa: B027 (a default, deliberately empty: not abstract)
        """Release what the adapter holds (HTTP sessions, tokens); by default nothing."""
