"""Carrier connections in memory (see :class:`shiptrack.store.port.Connections`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from shiptrack.domain.accounts import Connection
from shiptrack.domain.check import SUCCESS_NOTE_SECONDS, ConnectionState
from shiptrack.store.memory.tables import ConnectionRow, Tables, utc
from shiptrack.store.port import NewConnection


def _connection(row: ConnectionRow, *, primary: bool) -> Connection:
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


class MemoryConnections:
    """Carrier connections of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._connections = tables.connections

    async def create(self, connection: NewConnection, *, now: datetime) -> int:
        """Store a new connection; its id."""
        self._tables.accounts.require(connection.account_id, "account")
        row = ConnectionRow(
            id=self._connections.new_id(),
            account_id=connection.account_id,
            carrier_code=connection.carrier_code,
            nickname=connection.nickname,
            account_number=connection.account_number,
            base_url=connection.base_url,
            credentials=connection.sealed_credentials,
            simulated=connection.simulated,
            requests_per_minute=connection.requests_per_minute,
            options=dict(connection.options) if connection.options is not None else None,
            created_at=utc(now),
        )
        self._connections.put(row)
        return row.id

    async def of_account(
        self, account_id: int, *, codes: Collection[str] | None = None
    ) -> list[Connection]:
        """The account's live connections, oldest first; the oldest of each carrier is primary.
        ``codes`` narrows the list to those connection carrier codes."""
        seen: set[str] = set()
        found = []
        for row in self._connections.rows():
            if row.account_id != account_id or row.deleted_at is not None:
                continue
            # Primary is decided among all of the account's connections, before ``codes``.
            primary = row.carrier_code not in seen
            seen.add(row.carrier_code)
            if codes is None or row.carrier_code in codes:
                found.append(_connection(row, primary=primary))
        return found

    async def get(self, account_id: int, connection_id: int) -> Connection | None:
        """One live connection of the account."""
        return next((c for c in await self.of_account(account_id) if c.id == connection_id), None)

    async def delete(
        self, *, account_id: int, connection_id: int, successor_id: int | None, now: datetime
    ) -> None:
        """Disconnect: its active packages move to ``successor_id`` when there is one, and stop
        (``carrier_disconnected``) otherwise."""
        now = utc(now)
        row = self._connections.get(connection_id)
        if row is not None and row.account_id == account_id:
            self._connections.put(replace(row, deleted_at=now))
        packages = self._tables.subscriptions
        for package in packages.rows():
            if package.connection_id != connection_id or not package.active:
                continue
            if successor_id is not None:
                packages.put(replace(package, connection_id=successor_id, updated_at=now))
            else:
                # As the SQL store does, the lease stays: a check under way is not the owner
                # of a stopped package any more anyway (``owned`` wants it active).
                packages.put(
                    replace(
                        package,
                        active=False,
                        stop_reason="carrier_disconnected",
                        stopped_at=now,
                        next_check_at=None,
                        updated_at=now,
                    )
                )

    async def states(self, connection_ids: Collection[int]) -> dict[int, ConnectionState]:
        """The connections (deleted ones included) as the engine needs them."""
        found = {}
        for connection_id in set(connection_ids):
            row = self._connections.get(connection_id)
            account = self._tables.accounts.get(row.account_id) if row else None
            if row is None or account is None:
                continue
            found[row.id] = ConnectionState(
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
                exception_watch_days=account.exception_watch_days,
                requests_per_minute=row.requests_per_minute,
                options=dict(row.options) if row.options is not None else None,
                deleted=row.deleted_at is not None,
                last_success_at=row.last_success_at,
            )
        return found

    async def record_failure(self, connection_id: int, *, until: datetime, error: str) -> None:
        """Back a connection off until ``until``; a failure written twice counts once."""
        until = utc(until)
        row = self._connections.get(connection_id)
        if row is not None and row.backoff_until != until:
            self._connections.put(
                replace(row, backoff_until=until, failures=row.failures + 1, last_error=error)
            )

    async def record_success(self, connection_id: int, *, now: datetime) -> None:
        """Clear a connection's back-off and note when a call last worked (at most a write a
        minute)."""
        row = self._connections.get(connection_id)
        if row is None:
            return
        noted = row.last_success_at
        stale = noted is None or (now - noted).total_seconds() >= SUCCESS_NOTE_SECONDS
        if row.failures > 0 or stale:
            self._connections.put(
                replace(
                    row, backoff_until=None, failures=0, last_error=None, last_success_at=utc(now)
                )
            )
