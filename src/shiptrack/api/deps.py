"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from shiptrack.domain.accounts import Account
from shiptrack.domain.errors import ErrorDetail, Unauthorized, ValidationFailed
from shiptrack.engine.push import Pushes
from shiptrack.metrics.exposition import Exposition
from shiptrack.metrics.families import Metrics
from shiptrack.services.accounts import Accounts
from shiptrack.services.connections import Connections
from shiptrack.services.deliveries import Deliveries
from shiptrack.services.tracking import Tracking
from shiptrack.services.webhooks import Webhooks
from shiptrack.settings import Settings
from shiptrack.webhooks.keyring import KeyRing

if TYPE_CHECKING:
    from shiptrack.web.console.session import Sessions

T = TypeVar("T")

# Declared for the OpenAPI document; the edge middleware has already checked the key.
_api_key = APIKeyHeader(name="API-Key", auto_error=False, description="Your shiptrack API key")


class Readiness(Protocol):
    """What the readiness probe asks of storage."""

    @property
    def kind(self) -> str:
        """Which store: ``sqlite``, ``postgresql`` or ``memory``."""
        ...

    async def schema_problem(self) -> str | None:
        """Why the store cannot be used by this version, or ``None``."""
        ...


@dataclass(frozen=True)
class ApiParts:
    """What the HTTP API serves from: the use cases, built by the composition root
    (``shiptrack.app``). Each route asks for the part it uses."""

    settings: Settings
    accounts: Accounts
    connections: Connections
    tracking: Tracking
    webhooks: Webhooks
    deliveries: Deliveries
    pushes: Pushes
    keyring: KeyRing
    readiness: Readiness
    #: What the process counts (counts nothing with ``SHIPTRACK_METRICS=false``).
    metrics: Metrics
    #: What ``GET /metrics`` serves; ``None`` when metrics are off (no ``/metrics``).
    exposition: Exposition | None = None
    #: The console's sessions (``None``: no console, no public page, API only).
    sessions: Sessions | None = None


def _part(get: Callable[[ApiParts], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency giving a route the one part of the API it uses."""

    async def dependency(request: Request) -> T:
        parts: ApiParts = request.app.state.parts
        return get(parts)

    return dependency


def account_of(request: Request) -> Account:
    """The account whose key the edge middleware checked."""
    account: Account | None = getattr(request.state, "account", None)
    if account is None:  # only reachable if a route is mounted outside /v1 by mistake
        raise Unauthorized(
            "The API key is invalid. Please see https://www.shipengine.com/docs/auth"
        )
    return account


async def _account(request: Request, _key: str | None = Security(_api_key)) -> Account:
    return account_of(request)


SettingsDep = Annotated[Settings, Depends(_part(lambda parts: parts.settings))]
ConnectionsDep = Annotated[Connections, Depends(_part(lambda parts: parts.connections))]
TrackingDep = Annotated[Tracking, Depends(_part(lambda parts: parts.tracking))]
WebhooksDep = Annotated[Webhooks, Depends(_part(lambda parts: parts.webhooks))]
DeliveriesDep = Annotated[Deliveries, Depends(_part(lambda parts: parts.deliveries))]
PushesDep = Annotated[Pushes, Depends(_part(lambda parts: parts.pushes))]
KeyRingDep = Annotated[KeyRing, Depends(_part(lambda parts: parts.keyring))]
ReadinessDep = Annotated[Readiness, Depends(_part(lambda parts: parts.readiness))]
AccountDep = Annotated[Account, Depends(_account)]


def _exposition(parts: ApiParts) -> Exposition:
    assert parts.exposition is not None, "/metrics is mounted only when metrics are on"
    return parts.exposition


ExpositionDep = Annotated[Exposition, Depends(_part(_exposition))]


def strict_query(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing query parameters the endpoint does not take, or gets twice.

    A misspelt parameter (``tracking_numbr``) is an error a client wants to hear about, not a
    silently ignored filter.
    """

    async def check(request: Request) -> None:
        check_query(request.query_params.multi_items(), allowed)

    return check


def check_query(items: Iterable[tuple[str, str]], allowed: Sequence[str]) -> None:
    """Refuse (``400``) query parameters not in ``allowed``, or given more than once."""
    seen: set[str] = set()
    problems: list[ErrorDetail] = []
    for name, _ in items:
        if name not in allowed:
            expected = ", ".join(allowed) or "no query parameters"
            message = f"Unknown query parameter {name[:40]!r}; this endpoint takes {expected}"
        elif name in seen:
            message = f"Query parameter {name!r} is given more than once"
        else:
            seen.add(name)
            continue
        problems.append(
            ErrorDetail("validation", "invalid_field_value", message, field_name=name[:40])
        )
    if problems:
        raise ValidationFailed(problems[0].message, details=problems)
