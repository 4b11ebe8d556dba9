"""Carrier connections of an account, and the engine's state of each (back-off after failures)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.accounts import Connection
from shiptrack.domain.check import SUCCESS_NOTE_SECONDS, ConnectionState
from shiptrack.store.port import NewConnection
from shiptrack.store.tables import accounts, carrier_connections, subscriptions

_live = carrier_connections.c.deleted_at.is_(None)


def _connection(row: sa.Row[tuple[object, ...]], *, primary: bool) -> Connection:
    return Connection(
        id=row.id,
        account_id=row.account_id,
        carrier_code=row.carrier_code,
        nickname=row.nickname,
        account_number=row.account_number,
        base_url=row.base_url,
        simulated=row.simulated,
        primary=primary,
    )


class SqlConnections:
    """Carrier connections in SQL (see :class:`shiptrack.store.port.Connections`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, connection: NewConnection, *, now: datetime) -> int:
        """Store a new connection and return its id."""
        result = await self._conn.execute(
            carrier_connections.insert()
            .values(
                account_id=connection.account_id,
                carrier_code=connection.carrier_code,
                nickname=connection.nickname,
                account_number=connection.account_number,
                base_url=connection.base_url,
                credentials=connection.sealed_credentials,
                simulated=connection.simulated,
                requests_per_minute=connection.requests_per_minute,
                options=dict(connection.options) if connection.options is not None else None,
                created_at=now,
            )
            .returning(carrier_connections.c.id)
        )
        return int(result.scalar_one())

    async def of_account(
        self, account_id: int, *, codes: Collection[str] | None = None
    ) -> list[Connection]:
        """The account's live connections, oldest first; the oldest of each carrier is primary.

        ``codes`` narrows the list to those connection carrier codes.
        """
        query = (
            carrier_connections.select()
            .where(carrier_connections.c.account_id == account_id, _live)
            .order_by(carrier_connections.c.id)
        )
        rows = list(await self._conn.execute(query))
        seen: set[str] = set()
        found = []
        for row in rows:
            primary = row.carrier_code not in seen
            seen.add(row.carrier_code)
            if codes is None or row.carrier_code in codes:
                found.append(_connection(row, primary=primary))
        return found

    async def get(self, account_id: int, connection_id: int) -> Connection | None:
        """One live connection of the account."""
        return next(
            (c for c in await self.of_account(account_id) if c.id == connection_id),
            None,
        )

    async def delete(
        self,
        *,
        account_id: int,
        connection_id: int,
        successor_id: int | None,
        now: datetime,
    ) -> None:
        """Disconnect a carrier account.

        Its active subscriptions move to ``successor_id`` (another connection of the same carrier)
        when there is one, and stop with the reason ``carrier_disconnected`` otherwise.
        """
        await self._conn.execute(
            carrier_connections.update()
            .where(
                carrier_connections.c.id == connection_id,
                carrier_connections.c.account_id == account_id,
            )
            .values(deleted_at=now)
        )
        moved = subscriptions.update().where(
            subscriptions.c.connection_id == connection_id, subscriptions.c.active
        )
        if successor_id is not None:
            await self._conn.execute(moved.values(connection_id=successor_id, updated_at=now))
        else:
            await self._conn.execute(
                moved.values(
                    active=False,
                    stop_reason="carrier_disconnected",
                    stopped_at=now,
                    next_check_at=None,
                    updated_at=now,
                )
            )

    async def states(self, connection_ids: Collection[int]) -> dict[int, ConnectionState]:
        """The connections (deleted ones included) and their accounts' engine settings."""
        rows = await self._conn.execute(
            sa.select(carrier_connections, accounts.c.exception_watch_days)
            .join(accounts, accounts.c.id == carrier_connections.c.account_id)
            .where(carrier_connections.c.id.in_(set(connection_ids)))
        )
        return {
            row.id: ConnectionState(
                id=row.id,
                account_id=row.account_id,
                carrier_code=row.carrier_code,
                simulated=row.simulated,
                base_url=row.base_url,
                account_number=row.account_number,
                sealed_credentials=row.credentials,
                backoff_until=row.backoff_until,
                failures=row.failures,
                last_error=row.last_error,
                exception_watch_days=row.exception_watch_days,
                requests_per_minute=row.requests_per_minute,
                options=row.options,
                deleted=row.deleted_at is not None,
                last_success_at=row.last_success_at,
            )
            for row in rows
        }

    async def record_failure(self, connection_id: int, *, until: datetime, error: str) -> None:
        """Back a connection off: no worker calls the carrier through it before ``until``. Written
        again (its first commit went through unseen), it counts the failure once."""
        await self._conn.execute(
            carrier_connections.update()
            .where(
                carrier_connections.c.id == connection_id,
                sa.or_(
                    carrier_connections.c.backoff_until.is_(None),
                    carrier_connections.c.backoff_until != until,
                ),
            )
            .values(
                backoff_until=until,
                failures=carrier_connections.c.failures + 1,
                last_error=error,
            )
        )

    async def record_success(self, connection_id: int, *, now: datetime) -> None:
        """Clear a connection's back-off after a successful call and note when it worked; a
        connection whose success was noted within the minute is left alone (no write)."""
        noted = carrier_connections.c.last_success_at
        await self._conn.execute(
            carrier_connections.update()
            .where(
                carrier_connections.c.id == connection_id,
                sa.or_(
                    carrier_connections.c.failures > 0,
                    noted.is_(None),
                    noted <= now - timedelta(seconds=SUCCESS_NOTE_SECONDS),
                ),
            )
            .values(backoff_until=None, failures=0, last_error=None, last_success_at=now)
        )
