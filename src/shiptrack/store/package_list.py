"""The console's package list in SQL: one account's packages, filtered, newest first, a keyset
page at a time (never ``OFFSET``), fast with 100,000 packages in the account and a million in the
database.

The list walks an index in id order: the account's ``(account_id, id)``, or
``(account_id, status_code, id)`` with a status filter. A search and the stale filter usually
match few packages, which such a walk would only find after reading most of the account (and
SQLite's planner, which has no statistics, walks it anyway). So they first read their candidates
from their own index, ``(account_id, tracking_number)`` or the partial due index, and when there
are at most :data:`CANDIDATES` the page is taken among them (read by primary key); only when
there are more, which makes them dense enough to meet soon in id order, is the id index walked.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.package_list import PackageFilter, PageRequest, prefix_bounds, select_page
from shiptrack.domain.tracking import Subscription
from shiptrack.store.tables import subscriptions

#: The most candidates a search or the stale filter takes its page from (read in one statement).
CANDIDATES = 500

#: ``WHERE active`` as the partial due index says it (SQLite uses a partial index only then).
_ACTIVE = sa.text("subscriptions.active")
_FIELDS = frozenset(Subscription.__dataclass_fields__)


def _subscription(row: sa.Row[tuple[object, ...]]) -> Subscription:
    return Subscription(**{k: v for k, v in row._mapping.items() if k in _FIELDS})


async def console_page(
    conn: AsyncConnection,
    *,
    account_id: int,
    query: PackageFilter,
    request: PageRequest,
    limit: int,
) -> list[Subscription]:
    """Up to ``limit`` of the account's packages passing ``query``, newest first, older than
    ``request.before_id`` or just newer than ``request.after_id`` (see the port)."""
    candidates = await _candidates(conn, account_id, query)
    if candidates is not None:
        return select_page(
            candidates, account_id=account_id, query=query, request=request, limit=limit
        )
    c = subscriptions.c
    statement = subscriptions.select().where(c.account_id == account_id)
    if query.status_code is not None:
        statement = statement.where(c.status_code == query.status_code)
    if query.carrier_code is not None:
        statement = statement.where(c.carrier_code == query.carrier_code)
    if query.active is not None:
        statement = statement.where(_ACTIVE if query.active else sa.not_(c.active))
    if query.stale_before is not None:
        statement = statement.where(_ACTIVE, c.next_check_at < query.stale_before)
    if query.number_prefix is not None:
        # Only the exact test, no range: a range would let the planner (SQLite's always) read
        # every match through the number index and sort them all by id, 0.3 s for 100,000
        # matches, where walking the id index meets 50 of these many matches soon.
        statement = statement.where(
            sa.func.substr(c.tracking_number, 1, len(query.number_prefix)) == query.number_prefix
        )
    if request.after_id is not None:
        # The oldest rows newer than the cursor, then shown newest first.
        statement = statement.where(c.id > request.after_id).order_by(c.id).limit(limit)
        rows = list(await conn.execute(statement))
        return [_subscription(row) for row in reversed(rows)]
    if request.before_id is not None:
        statement = statement.where(c.id < request.before_id)
    rows = list(await conn.execute(statement.order_by(c.id.desc()).limit(limit)))
    return [_subscription(row) for row in rows]


async def _candidates(
    conn: AsyncConnection, account_id: int, query: PackageFilter
) -> list[Subscription] | None:
    """Every package that can pass a search or the stale filter, found through the index that
    finds them, when there are at most :data:`CANDIDATES`; ``None`` (walk the id index) when
    there are more, or for other filters. Only ids are read until the count is known."""
    c = subscriptions.c
    if query.number_prefix is not None:
        low, high = prefix_bounds(query.number_prefix)
        probe = sa.select(c.id, c.account_id).where(
            c.account_id == account_id, c.tracking_number >= low
        )
        if high is not None:
            probe = probe.where(c.tracking_number < high)
    elif query.stale_before is not None:
        # Every account's overdue packages: few while the engine keeps up, when a walk of the
        # account's ids would read all of it to find none.
        probe = sa.select(c.id, c.account_id).where(_ACTIVE, c.next_check_at < query.stale_before)
    else:
        return None
    found = list(await conn.execute(probe.limit(CANDIDATES + 1)))
    if len(found) > CANDIDATES:
        return None
    ids = [row.id for row in found if row.account_id == account_id]
    if not ids:
        return []
    rows = await conn.execute(subscriptions.select().where(c.id.in_(ids)))
    return [_subscription(row) for row in rows]
