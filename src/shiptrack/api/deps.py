"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from shiptrack.domain.accounts import Account
from shiptrack.domain.errors import ErrorDetail, Unauthorized, ValidationFailed
from shiptrack.services import Services

# Declared for the OpenAPI document; the edge middleware has already checked the key.
_api_key = APIKeyHeader(name="API-Key", auto_error=False, description="Your shiptrack API key")


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _account(request: Request, _key: str | None = Security(_api_key)) -> Account:
    account: Account | None = getattr(request.state, "account", None)
    if account is None:  # only reachable if a route is mounted outside /v1 by mistake
        raise Unauthorized(
            "The API key is invalid. Please see https://www.shipengine.com/docs/auth"
        )
    return account


ServicesDep = Annotated[Services, Depends(_services)]
AccountDep = Annotated[Account, Depends(_account)]


def strict_query(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing query parameters the endpoint does not take, or gets twice.

    A misspelt parameter (``tracking_numbr``) is an error a client wants to hear about, not a
    silently ignored filter.
    """
    allowed_set = frozenset(allowed)

    async def check(request: Request) -> None:
        seen: set[str] = set()
        problems: list[ErrorDetail] = []
        for name, _ in request.query_params.multi_items():
            if name not in allowed_set:
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

    return check
