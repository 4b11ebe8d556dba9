"""The console's package list: its filters, the "stale" rule, the tracking-number search and the
keyset pages (newest first, never ``OFFSET``). Pure: the store applies the filter, the console
shows the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from shiptrack.domain.cursors import decode_cursor, encode_cursor
from shiptrack.domain.tracking import Subscription, normalise_tracking_number

#: A package is stale when it is tracked (active) and its next check is overdue by more than this.
#: Workers claim due packages within a poll interval (seconds) and a check takes at most a lease
#: (minutes), so five minutes late means the engine is not keeping up (stopped, backed off, or
#: short of workers), not ordinary jitter.
STALE_GRACE = timedelta(minutes=5)

#: Characters a tracking number may hold once normalised, in the order every collation agrees on
#: (digits before letters, both in their usual order; ``-`` is left out: linguistic collations
#: ignore it when ordering).
_ORDERED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class PackageFilter:
    """What the console's package list is narrowed to (``None``: any)."""

    status_code: str | None = None
    carrier_code: str | None = None
    active: bool | None = None
    #: Only stale packages: active and due before this time (see :func:`stale_cutoff`).
    stale_before: datetime | None = None
    #: Only packages whose (normalised) tracking number starts with this.
    number_prefix: str | None = None


def stale_cutoff(now: datetime) -> datetime:
    """Packages due before this are stale at ``now``."""
    return now - STALE_GRACE


def is_stale(package: Subscription, now: datetime) -> bool:
    """Whether the package is tracked and its next check is overdue by more than the grace."""
    return (
        package.active
        and package.next_check_at is not None
        and package.next_check_at < stale_cutoff(now)
    )


def matches(package: Subscription, query: PackageFilter) -> bool:
    """Whether ``package`` passes every filter of ``query`` (the in-memory store's rule; the SQL
    store says the same in SQL)."""
    return (
        (query.status_code is None or package.status_code == query.status_code)
        and (query.carrier_code is None or package.carrier_code == query.carrier_code)
        and (query.active is None or package.active == query.active)
        and (
            query.stale_before is None
            or (
                package.active
                and package.next_check_at is not None
                and package.next_check_at < query.stale_before
            )
        )
        and (query.number_prefix is None or package.tracking_number.startswith(query.number_prefix))
    )


def select_page(
    packages: Iterable[Subscription],
    *,
    account_id: int,
    query: PackageFilter,
    request: PageRequest,
    limit: int,
) -> list[Subscription]:
    """The page of the console's list among ``packages`` (any order): the account's, passing
    ``query``, newest first, after or before the cursor (see ``Packages.console_page``)."""
    found = sorted(
        (p for p in packages if p.account_id == account_id and matches(p, query)),
        key=lambda package: package.id,
        reverse=True,
    )
    if request.after_id is not None:
        newer = [package for package in found if package.id > request.after_id]
        return newer[-limit:] if limit else []
    if request.before_id is not None:
        found = [package for package in found if package.id < request.before_id]
    return found[:limit]


def search_prefix(raw: str | None) -> str | None:
    """The tracking-number prefix a search box asks for, normalised as the API normalises
    numbers (trimmed, upper-cased, ASCII letters, digits and ``-`` only); ``None`` when empty.
    Raises ``ValidationFailed`` (and friends) for text no tracking number can start with."""
    if raw is None or not raw.strip(" \t\r\n"):
        return None
    return normalise_tracking_number(raw)


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """An index range ``[low, high)`` holding every number that starts with ``prefix``, in
    byte order (``C`` collation, SQLite) and in linguistic collations alike (which ignore ``-``
    when ordering): ``high`` is ``None`` when no upper bound is needed. The range may hold a
    few numbers that do not start with ``prefix`` (the query checks the prefix exactly too)."""
    core = prefix.replace("-", "")
    low = prefix.rstrip("-")
    # The least string above every string starting with ``core``: the last character that has a
    # successor, moved up by one (``AZ`` -> ``B``; ``ZZ`` has none).
    for position in range(len(core) - 1, -1, -1):
        index = _ORDERED.find(core[position])
        if 0 <= index < len(_ORDERED) - 1:
            return low, core[:position] + _ORDERED[index + 1]
    return low, None


class HasId(Protocol):
    """A row of a keyset-paged list."""

    @property
    def id(self) -> int:
        """Its key."""
        ...


RowT = TypeVar("RowT", bound=HasId)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of a newest-first list to read: older than ``before_id`` (the next page),
    newer than ``after_id`` (the previous page), or the first (neither)."""

    before_id: int | None = None
    after_id: int | None = None

    @classmethod
    def parse(cls, before: str | None, after: str | None) -> PageRequest:
        """The page the ``before``/``after`` cursors of a link ask for (``before`` wins); a
        ``ValidationFailed`` for a cursor this server never gave."""
        if before:
            return cls(before_id=decode_cursor("before", before))
        if after:
            return cls(after_id=decode_cursor("after", after))
        return cls()


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """One page of a newest-first list and the cursors of its neighbours (``None``: none)."""

    rows: list[RowT]
    older: str | None
    newer: str | None


def page_of(request: PageRequest, found: Sequence[RowT], limit: int) -> Page[RowT]:
    """The page made of what the store found for ``request`` (asked for ``limit + 1`` rows,
    newest first, so one more row says whether there is a further page)."""
    rows = list(found)
    if request.after_id is not None:
        # Reading towards newer rows: the extra row is the newest, beyond this page.
        more_newer = len(rows) > limit
        rows = rows[-limit:] if more_newer else rows
        older = encode_cursor("before", rows[-1].id) if rows else None
        newer = encode_cursor("after", rows[0].id) if more_newer and rows else None
        return Page(rows, older, newer)
    more_older = len(rows) > limit
    rows = rows[:limit]
    older = encode_cursor("before", rows[-1].id) if more_older else None
    # A page reached through a cursor has newer rows before it (it was linked from them).
    newer = encode_cursor("after", rows[0].id) if request.before_id is not None and rows else None
    return Page(rows, older, newer)
