"""Connecting and disconnecting carrier accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shiptrack.carriers.base import ConnectionContext, TransportError
from shiptrack.carriers.http import CredentialsRejected, DestinationRefused
from shiptrack.carriers.pacing import RequestPacer
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.accounts import Account, Connection
from shiptrack.domain.carriers import CARRIERS, carrier_kind
from shiptrack.domain.errors import (
    CarrierCredentialsRejected,
    CarrierUnavailable,
    ErrorDetail,
    FieldRequired,
    NotFound,
    ValidationFailed,
)
from shiptrack.domain.ids import parse_id
from shiptrack.domain.outbound import OutboundPolicy
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.webhooks import check_url
from shiptrack.engine.connections import ConnectionOpener, connection_budget
from shiptrack.outbound.destinations import check_destination
from shiptrack.services.cache import TTLCache
from shiptrack.services.tracking import TrackingSetup
from shiptrack.store.port import NewConnection, Store, Transaction

CREDENTIAL_FIELDS = ("client_id", "client_secret", "api_key")


@dataclass(frozen=True)
class ConnectRequest:
    """What a client sends to connect a carrier account."""

    nickname: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    account_number: str | None = None
    base_url: str | None = None
    webhook_secret: str | None = None
    requests_per_minute: float | None = None
    api_version: str | None = None


@dataclass(frozen=True)
class ConnectionHealth:
    """A connection as the console shows it: how its calls to the carrier have gone."""

    connection: Connection
    #: When a call through it last worked (to the minute).
    last_success_at: datetime | None
    last_error: str | None
    #: Failed calls in a row (``0`` once a call worked).
    failures: int
    #: No worker calls the carrier through it before this.
    backoff_until: datetime | None
    #: Its request budget (its own, else the carrier's published one).
    requests_per_minute: float
    burst: int
    #: Requests this process could make through it right now (``None``: not known here).
    requests_left: int | None


#: Carriers whose tracking updates can be pushed to shiptrack.
PUSH_CARRIERS = frozenset({"ups", "fedex"})


async def _find(tx: Transaction, account: Account, carrier_id: str) -> Connection:
    row_id = parse_id(carrier_id, field_name="carrier_id")
    found = await tx.connections.get(account.id, row_id) if row_id is not None else None
    if found is None:
        raise _not_found(carrier_id)
    return found


def _not_found(carrier_id: str) -> NotFound:
    return NotFound(f"Carrier {carrier_id} was not found", field_name="carrier_id")


class Connections:
    """Connecting and disconnecting carrier accounts."""

    def __init__(
        self,
        store: Store,
        carriers: CarrierRegistry,
        opener: ConnectionOpener,
        outbound: OutboundPolicy,
        setups: TTLCache[int, TrackingSetup],
        pacer: RequestPacer | None = None,
    ) -> None:
        self.store = store
        #: The process's request pacer: what is left of each connection's budget here.
        self.pacer = pacer
        self.carriers = carriers
        self.opener = opener
        #: Where a ``base_url`` may point (``SHIPTRACK_OUTBOUND_ALLOW``).
        self.outbound = outbound
        #: Each account's tracking setup, forgotten when its connections change.
        self.setups = setups

    async def connect(self, account: Account, carrier_name: str, request: ConnectRequest) -> int:
        """Connect a carrier account and return the new connection's id.

        Production accounts must give the credentials the carrier needs; sandbox accounts connect
        simulated carriers and need none.
        """
        kind = carrier_kind(carrier_name, field_name="carrier_name")
        given = {name: getattr(request, name) for name in CREDENTIAL_FIELDS}
        foreign = [
            name for name, value in given.items() if value and name not in kind.credential_fields
        ]
        if foreign:
            wanted = " and ".join(kind.credential_fields)
            raise ValidationFailed(
                f"{kind.code} connections take {wanted}, not {', '.join(foreign)}",
                field_name=foreign[0],
            )
        if not account.sandbox:
            # account_number is optional except where the carrier needs it (Australia Post).
            missing = [name for name in kind.credential_fields if not getattr(request, name)]
            if missing:
                details = [
                    ErrorDetail(
                        error_type="validation",
                        error_code="field_value_required",
                        message=f"{name} is required to connect {kind.friendly_name}",
                        field_name=name,
                    )
                    for name in missing
                ]
                raise FieldRequired(details[0].message, details=details)
        if request.base_url not in (None, "production", "test"):
            check_url(request.base_url, field_name="base_url")
            await check_destination(request.base_url, self.outbound, field_name="base_url")
        if request.api_version is not None and kind.tracking_code != "usps":
            raise ValidationFailed(
                "api_version applies to USPS and Stamps.com connections only",
                field_name="api_version",
            )
        if request.webhook_secret is not None and kind.code not in PUSH_CARRIERS:
            raise ValidationFailed(
                f"{kind.friendly_name} does not push tracking updates; webhook_secret applies to "
                f"{' and '.join(sorted(PUSH_CARRIERS))} only",
                field_name="webhook_secret",
            )
        credentials = {name: value for name, value in given.items() if value}
        if request.webhook_secret:
            credentials["webhook_secret"] = request.webhook_secret
        options = {"api_version": request.api_version} if request.api_version else None
        if not account.sandbox:
            await self._verify(kind.code, credentials, request, options)
        sealed = self.opener.seal(account.id, kind.code, credentials) if credentials else None
        self.setups.forget(account.id)
        connection = NewConnection(
            account_id=account.id,
            carrier_code=kind.code,
            nickname=request.nickname or kind.friendly_name,
            account_number=request.account_number,
            base_url=request.base_url,
            sealed_credentials=sealed,
            simulated=account.sandbox,
            requests_per_minute=request.requests_per_minute,
            options=options,
        )
        async with self.store.write() as tx:
            connection_id = await tx.connections.create(connection, now=utcnow())
        self.setups.forget(account.id)
        return connection_id

    async def _verify(
        self,
        carrier_code: str,
        credentials: dict[str, str],
        request: ConnectRequest,
        options: dict[str, str] | None,
    ) -> None:
        """Ask the carrier whether the credentials work before storing them."""
        kind = CARRIERS[carrier_code]
        adapter = self.carriers.adapter(carrier_code, simulated=False)
        context = ConnectionContext(
            connection_id=0,
            carrier_code=carrier_code,
            simulated=False,
            base_url=kind.api_url(request.base_url),
            account_number=request.account_number,
            credentials=credentials,
            options=options or {},
        )
        try:
            await adapter.verify(context)
        except DestinationRefused as error:
            # Saved hosts are checked above; this is a name that resolved elsewhere when dialled.
            raise ValidationFailed(
                f"base_url is refused by the outbound policy: {kind.friendly_name} was not called",
                field_name="base_url",
            ) from error
        except CredentialsRejected as error:
            raise CarrierCredentialsRejected(
                f"{kind.friendly_name} refused these credentials: {error.message}",
                field_name=kind.credential_fields[0],
            ) from error
        except TransportError as error:
            raise CarrierUnavailable(
                f"{kind.friendly_name} could not be reached to check the credentials: "
                f"{error.message}; try again later"
            ) from error

    async def list_carriers(self, account: Account) -> list[Connection]:
        """The account's connected carriers."""
        async with self.store.read() as tx:
            return await tx.connections.of_account(account.id)

    async def health(self, account: Account) -> list[ConnectionHealth]:
        """The account's connections with their back-off, last error, last successful check and
        request budget (what is left of it is this process's view: each process paces its own
        calls)."""
        async with self.store.read() as tx:
            connections = await tx.connections.of_account(account.id)
            ids = [c.id for c in connections]
            states = await tx.connections.states(ids)
        found = []
        for connection in connections:
            state = states[connection.id]
            adapter = self.carriers.adapter(connection.carrier_code, simulated=state.simulated)
            budget = connection_budget(adapter, state)
            left = self.pacer.available(connection.id, budget) if self.pacer else None
            found.append(
                ConnectionHealth(
                    connection=connection,
                    last_success_at=state.last_success_at,
                    last_error=state.last_error,
                    failures=state.failures,
                    backoff_until=state.backoff_until,
                    requests_per_minute=budget.requests_per_second * 60,
                    burst=max(1, budget.burst),
                    requests_left=left,
                )
            )
        return found

    async def get_carrier(self, account: Account, carrier_id: str) -> Connection:
        """One connected carrier by its ``se-`` id, ``404`` when it is not the account's."""
        async with self.store.read() as tx:
            return await _find(tx, account, carrier_id)

    async def disconnect(
        self, account: Account, carrier_id: str, *, carrier_name: str | None = None
    ) -> None:
        """Disconnect a carrier account. Packages it was tracking move to another connection of the
        same carrier when the account has one, and stop (reason ``carrier_disconnected``)
        otherwise."""
        if carrier_name is not None:
            carrier_kind(carrier_name, field_name="carrier_name")
        async with self.store.write() as tx:
            connection = await _find(tx, account, carrier_id)
            if carrier_name is not None and connection.carrier_code != carrier_name:
                raise _not_found(carrier_id)
            tracking_code = CARRIERS[connection.carrier_code].tracking_code
            successor = next(
                (
                    other.id
                    for other in await tx.connections.of_account(account.id)
                    if other.id != connection.id
                    and CARRIERS[other.carrier_code].tracking_code == tracking_code
                ),
                None,
            )
            await tx.connections.delete(
                account_id=account.id,
                connection_id=connection.id,
                successor_id=successor,
                now=utcnow(),
            )
        self.setups.forget(account.id)
