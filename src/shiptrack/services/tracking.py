"""Starting, stopping and reading package tracking."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from shiptrack.carriers.base import TrackRequest, TransportError
from shiptrack.carriers.pacing import RequestPacer
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.accounts import Account, Connection
from shiptrack.domain.carriers import CARRIERS, carrier_kind, tracking_code_for
from shiptrack.domain.changes import (
    NOT_FOUND,
    CarrierReport,
    Known,
    event_identity,
    newest_first,
    observe,
)
from shiptrack.domain.check import ConnectionState, observed_package
from shiptrack.domain.cursors import decode_cursor, encode_cursor
from shiptrack.domain.errors import (
    CarrierNotConnected,
    CarrierUnavailable,
    FieldRequired,
    IdentifiersMustMatch,
    NotFound,
    NoTrackWebhook,
)
from shiptrack.domain.ids import parse_id
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc, retry_after_header, utcnow
from shiptrack.domain.tracking import (
    StartRequest,
    Subscription,
    TrackEvent,
    is_public_token,
    normalise_tracking_number,
    tracking_head,
    tracking_information,
)
from shiptrack.engine.batching import WriteBatcher
from shiptrack.engine.connections import ConnectionOpener, connection_budget, track_timed
from shiptrack.metrics.families import Metrics
from shiptrack.serialization import dump_json
from shiptrack.services.answers import TrackingAnswers
from shiptrack.services.cache import TTLCache, ignore_failure
from shiptrack.services.detection import account_candidates, detected_carrier
from shiptrack.store.port import PackageKey, Store, Transaction


@dataclass(frozen=True)
class PackageRef:
    """Which package a tracking request is about: a carrier (by code or by connection id) and a
    tracking number, validated and normalised. Neither code nor id: the carrier is detected
    from the number (:meth:`Tracking.with_carrier`)."""

    tracking_number: str
    carrier_code: str | None
    carrier_id: int | None
    raw_carrier_id: str | None

    @classmethod
    def parse(
        cls, *, carrier_code: str | None, tracking_number: str | None, carrier_id: str | None
    ) -> PackageRef:
        """Validate the three query parameters of the tracking endpoints."""
        if tracking_number is None:
            raise FieldRequired("tracking_number is required", field_name="tracking_number")
        if carrier_code is not None:
            tracking_code_for(carrier_code)  # refuses codes shiptrack does not support
        row_id = parse_id(carrier_id, field_name="carrier_id") if carrier_id is not None else None
        return cls(
            tracking_number=normalise_tracking_number(tracking_number),
            carrier_code=carrier_code,
            carrier_id=row_id,
            raw_carrier_id=carrier_id,
        )


#: How long a live lookup may wait for the carrier's request budget before giving up.
LIVE_BUDGET_WAIT = 2.0


@dataclass(frozen=True)
class TrackingSetup:
    """What starting to track needs to know of an account: its live carrier connections (oldest
    first) and whether it has a ``track`` webhook. Cached for ``SHIPTRACK_CACHE_SECONDS``."""

    connections: tuple[Connection, ...]
    has_track_webhook: bool


def _tracking_code(setup: TrackingSetup, ref: PackageRef) -> str:
    """The carrier code the package is stored under (``usps`` for ``stamps_com``)."""
    if ref.raw_carrier_id is not None:
        return _connection_for(setup, ref)[1]
    assert ref.carrier_code is not None
    return tracking_code_for(ref.carrier_code)


async def _find(
    tx: Transaction, setup: TrackingSetup, account: Account, ref: PackageRef
) -> Subscription | None:
    """The account's subscription to the package, if it ever had one."""
    return await tx.packages.find(
        account_id=account.id,
        carrier_code=_tracking_code(setup, ref),
        tracking_number=ref.tracking_number,
    )


async def _subscription(
    tx: Transaction, setup: TrackingSetup, account: Account, ref: PackageRef
) -> Subscription:
    found = await _find(tx, setup, account, ref)
    if found is None:
        # Say "connect the carrier" before "not tracked" when that is what is missing.
        _, tracking_code = _connection_for(setup, ref)
        raise NotFound(
            f"{tracking_code} package {ref.tracking_number} is not tracked by this account; "
            "start tracking it with POST /v1/tracking/start",
            field_name="tracking_number",
        )
    return found


def _connection_for(setup: TrackingSetup, ref: PackageRef) -> tuple[Connection, str]:
    """The connection that tracks the package, and the carrier code its data is reported under."""
    if ref.raw_carrier_id is not None:
        connection = next((c for c in setup.connections if c.id == ref.carrier_id), None)
        if connection is None or ref.carrier_id is None:
            raise NotFound(f"Carrier {ref.raw_carrier_id} was not found", field_name="carrier_id")
        tracking_code = CARRIERS[connection.carrier_code].tracking_code
        if ref.carrier_code is not None and tracking_code_for(ref.carrier_code) != tracking_code:
            raise IdentifiersMustMatch(
                f"carrier_id {ref.raw_carrier_id} is a {connection.carrier_code} connection, "
                f"but carrier_code is {ref.carrier_code}",
                field_name="carrier_code",
            )
        return connection, tracking_code
    assert ref.carrier_code is not None
    tracking_code = tracking_code_for(ref.carrier_code)
    candidates = [
        c for c in setup.connections if CARRIERS[c.carrier_code].tracking_code == tracking_code
    ]
    if not candidates:
        name = ref.carrier_code if ref.carrier_code in CARRIERS else tracking_code
        raise CarrierNotConnected(
            f"No {carrier_kind(name).friendly_name} account is connected; connect one with "
            f"POST /v1/connections/carriers/{name}",
            field_name="carrier_code",
        )
    # The connection named exactly by the code wins (stamps_com over usps), then the oldest.
    exact = [c for c in candidates if c.carrier_code == ref.carrier_code]
    return (exact or candidates)[0], tracking_code


@dataclass(frozen=True)
class SubscriptionFilter:
    """What ``GET /v1/tracking/subscriptions`` narrows the list to."""

    status_code: str | None = None
    carrier_code: str | None = None
    active: bool | None = None


class Tracking:
    """Starting, stopping and reading package tracking."""

    def __init__(
        self,
        store: Store,
        setups: TTLCache[int, TrackingSetup],
        answers: TrackingAnswers,
        carriers: CarrierRegistry,
        pacer: RequestPacer,
        opener: ConnectionOpener,
        packages_due: asyncio.Event,
        metrics: Metrics,
        *,
        public_base_url: str,
    ) -> None:
        self.store = store
        #: How clients reach this server: the packages' ``public_url`` starts with it.
        self.public_base_url = public_base_url
        #: Each account's tracking setup, for ``SHIPTRACK_CACHE_SECONDS``.
        self.setups = setups
        #: ``GET /v1/tracking`` answers of this process (``services.answers``).
        self.answers = answers
        #: Background reads of kept answers (held so that they are not collected mid-way).
        self._refreshes: set[asyncio.Future[bytes | None]] = set()
        self.carriers = carriers
        self.pacer = pacer
        self.opener = opener
        #: Set when a package becomes due now (a worker in this process need not wait).
        self.packages_due = packages_due
        #: Counts the carrier calls of live lookups.
        self.metrics = metrics
        #: Starts waiting to be written together (one transaction for every start that arrives
        #: while the previous batch is being written).
        self.starts: WriteBatcher[StartRequest] = WriteBatcher(self.write_starts)

    async def with_carrier(self, account: Account, ref: PackageRef) -> PackageRef:
        """``ref`` with its carrier: as given, or detected from the number among the account's
        connected carriers (a ``400`` naming the candidates when there is not exactly one)."""
        if ref.carrier_code is not None or ref.raw_carrier_id is not None:
            return ref
        setup = await self.tracking_setup(account)
        code = detected_carrier(account, setup.connections, ref.tracking_number)
        return replace(ref, carrier_code=code)

    async def start(self, account: Account, ref: PackageRef) -> None:
        """Subscribe the account to a package's status changes (idempotent)."""
        ref = await self.with_carrier(account, ref)
        setup = await self.tracking_setup(account)
        connection, tracking_code = _connection_for(setup, ref)
        if not setup.has_track_webhook:
            raise NoTrackWebhook(
                "No webhook for the 'track' event is set up for this account; create one with "
                "POST /v1/environment/webhooks before starting to track packages"
            )
        await self.starts.submit(
            StartRequest(
                account_id=account.id,
                connection_id=connection.id,
                carrier_code=tracking_code,
                tracking_number=ref.tracking_number,
            )
        )
        self.packages_due.set()

    async def write_starts(self, requests: Sequence[StartRequest]) -> None:
        """Store a batch of starts in one transaction (see ``engine.batching``)."""
        async with self.store.write() as tx:
            await tx.packages.start(requests, now=utcnow())

    async def stop(self, account: Account, ref: PackageRef) -> None:
        """Unsubscribe; a package that was tracked but has stopped already answers as success."""
        ref = await self.with_carrier(account, ref)
        setup = await self.tracking_setup(account)
        async with self.store.write() as tx:
            subscription = await _subscription(tx, setup, account, ref)
            await tx.packages.stop(subscription.id, reason="stopped_by_user", now=utcnow())

    async def get(self, account: Account, ref: PackageRef) -> bytes:
        """The package's ShipEngine ``TrackingInformation`` with shiptrack's freshness fields,
        as JSON.

        A package the account tracks (or once tracked) is answered from the store, or from this
        process's answers while fresh (``services.answers``); any other is asked of the carrier
        live, within the connection's request budget, and neither stored nor kept.
        """
        ref = await self.with_carrier(account, ref)
        setup = await self.tracking_setup(account)
        key = (account.id, _tracking_code(setup, ref), ref.tracking_number)
        answer = self.answers.fresh(key)
        if answer is not None:
            if self.answers.refresh_due(key):
                self._refresh_answer(key)
            return answer
        answer = await self._read_answer(key)
        if answer is not None:
            return answer
        connection, tracking_code = _connection_for(setup, ref)
        async with self.store.quick_read() as tx:
            state = (await tx.connections.states([connection.id]))[connection.id]
        return dump_json(await self._ask_live(state, tracking_code, ref.tracking_number))

    def _refresh_answer(self, key: PackageKey) -> None:
        """Read ``key``'s answer again in the background (``services.answers``); a failure
        leaves the kept answer to expire, and the next request reads (and reports) it."""
        refresh = asyncio.ensure_future(self._read_answer(key))
        self._refreshes.add(refresh)

        def done(task: asyncio.Future[bytes | None]) -> None:
            self._refreshes.discard(task)
            self.answers.refreshed(key)
            ignore_failure(task)

        refresh.add_done_callback(done)

    async def _read_answer(self, key: PackageKey) -> bytes | None:
        """The answer of a tracked package read from the store, kept unless a write of this
        process overtook the read; ``None`` when the account does not track it."""
        ticket = self.answers.ticket()
        found = await self.store.find_package(
            account_id=key[0], carrier_code=key[1], tracking_number=key[2]
        )
        if found is None:
            return None
        subscription = found.subscription
        head = tracking_head(
            subscription,
            tracking_url=CARRIERS[subscription.carrier_code].tracking_url(key[2]),
            public_base_url=self.public_base_url,
        )
        head.update(
            active=subscription.active,
            stop_reason=subscription.stop_reason,
            last_checked_at=format_utc(subscription.last_checked_at),
            next_check_at=format_utc(subscription.next_check_at),
            last_error=subscription.last_error,
        )
        answer = self.answers.render(found, head)
        self.answers.keep(key, subscription.id, answer, ticket)
        return answer

    async def detect(self, account: Account, tracking_number: str) -> dict[str, Any]:
        """``GET /v1/tracking/detect``: the number as matched and its candidates, ranked for
        the account, each with the account's connection to its carrier if any."""
        setup = await self.tracking_setup(account)
        number, candidates = account_candidates(account, setup.connections, tracking_number)
        return {"tracking_number": number, "candidates": [c.as_json() for c in candidates]}

    async def public_package(self, token: str) -> tuple[Subscription, list[TrackEvent]] | None:
        """The package whose public page ``token`` names (of whichever account, tracked or
        stopped) and its scans, most recent first; ``None`` when no package has that token (a
        malformed one is not looked up)."""
        if not is_public_token(token):
            return None
        found = await self.store.find_by_public_token(token)
        if found is None:
            return None
        return found.subscription, newest_first(found.events())

    async def _ask_live(
        self, state: ConnectionState, tracking_code: str, tracking_number: str
    ) -> dict[str, Any]:
        adapter = self.carriers.adapter(state.carrier_code, simulated=state.simulated)
        try:
            context = self.opener.context(state)
            slot = await self.pacer.wait(
                state.id, connection_budget(adapter, state), max_wait=LIVE_BUDGET_WAIT
            )
            if not slot.reserved:
                raise CarrierUnavailable(
                    f"The {state.carrier_code} request budget of this connection is spent; "
                    f"retry in {slot.wait:.0f} s",
                    headers={"Retry-After": retry_after_header(slot.wait)},
                )
            results = await track_timed(
                adapter, context, [TrackRequest(tracking_number)], self.metrics
            )
        except TransportError as error:
            speed = self.carriers.speed(simulated=state.simulated)
            headers = (
                {"Retry-After": retry_after_header(error.retry_after / speed)}
                if error.retry_after
                else {}
            )
            raise CarrierUnavailable(
                f"{state.carrier_code} could not be asked: {error.message}", headers=headers
            ) from error
        unknown = Known(
            status_code=StatusCode.UN,
            status_detail_code=None,
            sequence=0,
            settled=False,
            newest_event_at=None,
        )
        result = results.get(tracking_number, NOT_FOUND)
        observation = observe(unknown, result)
        blank = Subscription(
            id=0,
            account_id=state.account_id,
            connection_id=state.id,
            carrier_code=tracking_code,
            tracking_number=tracking_number,
            active=False,
        )
        snapshot = observed_package(
            blank, observation, observation.status_code, observation.status_detail_code
        )
        events = list(result.events) if isinstance(result, CarrierReport) else []
        unique = list({event_identity(e): e for e in events}.values())
        body = tracking_information(
            snapshot,
            newest_first(unique),
            tracking_url=CARRIERS[tracking_code].tracking_url(tracking_number),
            # Asked live and not stored: the package has no page (public_url null).
            public_base_url=None,
        )
        body.update(
            active=False,
            stop_reason=None,
            last_checked_at=format_utc(utcnow()),
            next_check_at=None,
            last_error=observation.invalid.verdict() if observation.invalid else None,
        )
        return body

    async def tracking_setup(self, account: Account) -> TrackingSetup:
        """The account's setup, from the cache when it is fresh."""

        async def read(tx: Transaction) -> TrackingSetup:
            return TrackingSetup(
                connections=tuple(await tx.connections.of_account(account.id)),
                has_track_webhook=await tx.webhooks.has(account.id, "track"),
            )

        async def load() -> TrackingSetup:
            return await self.store.read_quickly(read)

        setup = await self.setups.get_or_load(account.id, load)
        assert setup is not None  # load never answers None
        return setup

    async def list_subscriptions(
        self,
        account: Account,
        filters: SubscriptionFilter,
        *,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Subscription], str | None]:
        """A page of the account's subscriptions and the next page's cursor (``None`` at the
        end)."""
        after = decode_cursor("after", cursor) if cursor else 0
        tracking_code = tracking_code_for(filters.carrier_code) if filters.carrier_code else None
        async with self.store.read() as tx:
            found = await tx.packages.page(
                account_id=account.id,
                after_id=after,
                limit=limit + 1,
                status_code=filters.status_code,
                carrier_code=tracking_code,
                active=filters.active,
            )
        more = len(found) > limit
        found = found[:limit]
        return found, encode_cursor("after", found[-1].id) if more else None
