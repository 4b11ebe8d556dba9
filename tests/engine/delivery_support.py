"""What the in-process webhook delivery tests share: a process's parts on the in-memory store, a
sandbox clock the test moves on, step-by-step checking and sending, and a webhook receiver on
127.0.0.1 running in the test's own event loop.

:func:`running_parts` builds the parts exactly as ``shiptrack serve`` does (``app.build``), on a
:class:`~shiptrack.store.memory.MemoryStore`. Nothing waits for real time to pass:

- journeys: the sandbox carrier reads the :class:`JourneyClock`; :meth:`Parts.walk` checks every
  tracked package once per journey hour, making each due through the store port (a claim that
  looks ahead, given back due now), so every scan of a scenario is seen, in order;
- deliveries: :meth:`Parts.deliver_due` claims what is due ``within`` some seconds from now (a
  retry an hour away is due "within an hour"), sends each with ``engine.sending.send`` and records
  the attempts with ``engine.sending.record``, as the dispatcher does;
- dispatcher behaviour (slots, concurrency): :func:`dispatching` runs the real
  :class:`~shiptrack.engine.dispatcher.Dispatcher` as a task.

The :class:`Receiver` is a real aiohttp server on 127.0.0.1. It records every request as it
arrives (``tests.e2e.webhook_support.Received``) and answers what its behaviour says; a
``Reply(hang=True)`` is held until the test answers it (:meth:`Receiver.answer`) or the receiver
closes, so a test decides when an endpoint answers instead of waiting for clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from shiptrack.app import Shiptrack, build, build_checks, build_sending
from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from shiptrack.domain.accounts import Account
from shiptrack.domain.delivery import AttemptView, ClaimedDelivery, DeliveryView
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.webhooks import Webhook, WebhookHeader
from shiptrack.engine.checks import Checks
from shiptrack.engine.dispatcher import Dispatcher
from shiptrack.engine.sending import Sending, record, send
from shiptrack.services.tracking import PackageRef
from shiptrack.settings import Settings
from shiptrack.store.memory import MemoryStore
from shiptrack.webhooks.sender import SendResult, open_session
from tests.e2e.webhook_support import Behaviour, Received, Reply, always

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}
#: How long a test waits for something the parts or a receiver do by themselves (they take
#: milliseconds; this only bounds a failing test).
DEADLINE = 10.0
#: A moment further away than any retry or schedule of these tests: "everything due by then".
FAR = timedelta(days=400)
#: The longest journey of the sandbox scenarios the tests walk, in journey hours, with room.
LONGEST_JOURNEY_HOURS = 24 * 5
#: Where test events and resource URLs say the server is.
PUBLIC_BASE_URL = "https://shiptrack.example"


def engine_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """The settings of an in-process shiptrack that may deliver to receivers on 127.0.0.1: no
    jitter (retry and check times are exact), no caching (a change is seen at once), the default
    retry schedule (5 s, 5 min, 30 min, …: the tests look ahead instead of waiting)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "secret_key": "engine-tests-secret-key",
        "public_base_url": PUBLIC_BASE_URL,
        "outbound_allow": "127.0.0.0/8",
        "cache_seconds": 0,
        "schedule_jitter": 0,
        "webhook_retry_jitter": 0,
        "poll_interval": 0.05,
        **overrides,
    }
    return Settings(_env_file=None, **values)


# --- the sandbox's clock --------------------------------------------------------------------------


class JourneyClock:
    """The sandbox carrier's clock: now, plus the journey hours the test has moved it on."""

    def __init__(self) -> None:
        self.hours = 0.0

    def __call__(self) -> datetime:
        return utcnow() + timedelta(hours=self.hours)


# --- the parts of one process ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One attempt made by :meth:`Parts.deliver_due`."""

    delivery: ClaimedDelivery
    result: SendResult

    @property
    def tracking_number(self) -> str | None:
        """The package the notification is about (``None``: a test event)."""
        body = json.loads(self.delivery.payload)
        return None if body.get("test_event") else str(body["data"]["tracking_number"])


@dataclass(frozen=True)
class Listed:
    """A delivery as its webhook's list shows it, with its attempts."""

    view: DeliveryView
    attempts: list[AttemptView]


@dataclass
class Parts:
    """One process's parts on the in-memory store, and ways to move them on step by step."""

    parts: Shiptrack
    checks: Checks
    sending: Sending
    clock: JourneyClock
    #: The dispatcher's kind of HTTP client (bounded, time-limited, no redirects, guarded).
    session: aiohttp.ClientSession
    #: What each :meth:`deliver_due` that sent anything sent together, in order.
    rounds: list[list[Sent]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        """The settings the parts were built with."""
        return self.parts.settings

    # accounts, webhooks, packages

    async def account(self, name: str = "acme") -> Account:
        """A new sandbox account (every carrier connected, simulated)."""
        account, _ = await self.parts.accounts.create(name=name, sandbox=True)
        return account

    async def webhook(
        self, account: Account, url: str, *, headers: tuple[WebhookHeader, ...] = ()
    ) -> tuple[Webhook, str]:
        """A ``track`` webhook of the account; it and its signing secret."""
        return await self.parts.webhooks.create(
            account, url=url, event="track", name=None, store_id=None, headers=list(headers)
        )

    async def start(self, account: Account, carrier_code: str, scenario: str) -> str:
        """Start tracking the sandbox number of ``scenario`` on ``carrier_code``; the number."""
        number = sandbox_number(carrier_code, SCENARIO[scenario])
        await self.parts.tracking.start(account, package_ref(carrier_code, number))
        return number

    async def tracking(self, account: Account, carrier_code: str, number: str) -> dict[str, Any]:
        """The package as ``GET /v1/tracking`` shows it."""
        found: dict[str, Any] = json.loads(
            await self.parts.tracking.get(account, package_ref(carrier_code, number))
        )
        return found

    async def test_event(self, account: Account, webhook: Webhook) -> int:
        """Queue a test event to the webhook (``POST …/test``); its delivery id."""
        return await self.parts.deliveries.send_test(account, format_id(webhook.id))

    # checking

    async def walk(
        self,
        *,
        hours: int | None = None,
        each_hour: Callable[[], Awaitable[object]] | None = None,
    ) -> int:
        """Check every tracked package once per journey hour, from where the clock stands, until
        no package is tracked any more, or for ``hours`` (``each_hour`` runs after each hour's
        checks); the journey hours it took."""
        walked = 0
        while (hours is None or walked < hours) and await self._make_every_package_due():
            await self.checks.run_round()
            if each_hour is not None:
                await each_hour()
            walked += 1
            self.clock.hours += 1
            assert walked <= LONGEST_JOURNEY_HOURS, "a package is still tracked"
        return walked

    async def _make_every_package_due(self) -> int:
        """Make every tracked package due now, as if its next check had come; how many."""
        ahead = utcnow() + FAR
        async with self.parts.store.write() as tx:
            claimed = await tx.packages.claim_due(now=ahead, lease_until=ahead, limit=10_000)
            await tx.packages.release(claimed, now=utcnow())
        return len(claimed)

    # sending

    async def deliver_due(self, *, within: timedelta = timedelta(0)) -> list[Sent]:
        """Send what is due ``within`` from now (as the dispatcher would once that time comes),
        at once and side by side, and record the attempts in one batch; what was sent."""
        now = utcnow() + within
        lease_until = now + timedelta(seconds=self.settings.webhook_lease)
        async with self.parts.store.write() as tx:
            claimed = await tx.outbox.claim(now=now, lease_until=lease_until, limit=10_000)
        results = await asyncio.gather(
            *(send(self.sending, self.session, delivery) for delivery in claimed)
        )
        sent = [Sent(delivery, result) for delivery, result in zip(claimed, results, strict=True)]
        if sent:
            await record(self.sending, [(s.delivery, s.result) for s in sent])
            self.rounds.append(sent)
        return sent

    async def deliver_everything(self, *, within: timedelta = FAR) -> list[Sent]:
        """:meth:`deliver_due` until nothing more is due ``within`` from now; every attempt."""
        made: list[Sent] = []
        for _ in range(100):
            sent = await self.deliver_due(within=within)
            if not sent:
                return made
            made.extend(sent)
        raise AssertionError("deliveries were still due after 100 rounds")

    # what an account sees

    async def deliveries(
        self, account: Account, webhook: Webhook, *, state: str | None = None
    ) -> list[Listed]:
        """Every delivery of the webhook as its list shows them, newest first."""
        page = await self.parts.deliveries.list_deliveries(
            account, format_id(webhook.id), limit=500, cursor=None, state=state
        )
        assert page.next_cursor is None
        return [Listed(view, page.attempts[view.id]) for view in page.deliveries]

    async def health(self, account: Account, webhook: Webhook) -> Webhook:
        """The webhook as stored now (its ``failing_since`` and ``disabled_at``)."""
        return await self.parts.webhooks.get(account, format_id(webhook.id))

    async def jwks(self) -> dict[str, dict[str, Any]]:
        """The keys ``GET /jwks`` publishes now, by kid."""
        published = await self.parts.keyring.jwks()
        return {key["kid"]: key for key in published["keys"]}


def package_ref(carrier_code: str, number: str) -> PackageRef:
    """A package as the tracking endpoints name it."""
    return PackageRef.parse(carrier_code=carrier_code, tracking_number=number, carrier_id=None)


@contextlib.asynccontextmanager
async def running_parts(tmp_path: Path, **settings: Any) -> AsyncIterator[Parts]:
    """A process's parts on a fresh in-memory store (``settings`` override
    :func:`engine_settings`), with the sandbox carrier on a :class:`JourneyClock`."""
    built = build(engine_settings(tmp_path, **settings), store=MemoryStore())
    clock = JourneyClock()
    # The sandbox carrier takes its clock as an argument; the registry makes it with the real one.
    built.carriers.sandbox.clock = clock
    config = built.settings
    session = open_session(
        connect_timeout=config.webhook_connect_timeout,
        total_timeout=config.webhook_timeout,
        concurrency=config.webhook_concurrency,
        policy=config.outbound_policy,
    )
    try:
        yield Parts(built, build_checks(built), build_sending(built), clock, session)
    finally:
        await session.close()
        await built.close()


@contextlib.asynccontextmanager
async def dispatching(parts: Parts) -> AsyncIterator[Dispatcher]:
    """The process's dispatcher, running until the block ends."""
    dispatcher = Dispatcher(parts.sending, parts.settings)
    stopping = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stopping))
    try:
        yield dispatcher
    finally:
        stopping.set()
        try:
            await asyncio.wait_for(task, timeout=DEADLINE)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait([task])


# --- a receiver in the test's event loop ----------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request and answers as told."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour: Behaviour = behaviour or always(Reply())
        self._requests: list[Received] = []
        self._attempts: Counter[str] = Counter()
        #: Requests held open (``Reply(hang=True)``), oldest first, until answered.
        self._held: list[asyncio.Future[Reply]] = []
        self._changed = asyncio.Event()
        self._open = 0
        #: The most requests that were open at once.
        self.most_open = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        assert host == "127.0.0.1"
        self.port = int(port)
        return self

    async def close(self) -> None:
        """Answer whatever is held (503) and stop listening."""
        self.answer(Reply(503))
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        message_id = headers.get("webhook-id", "")
        self._attempts[message_id] += 1
        received = Received(
            method=request.method,
            path=request.path_qs,
            headers=headers,
            body=body,
            arrived=time.monotonic(),
            at=datetime.now(UTC),
            attempt=self._attempts[message_id],
        )
        reply = self.behaviour(received)
        index = len(self._requests)
        self._requests.append(replace(received, reply=reply))
        self._open += 1
        self.most_open = max(self.most_open, self._open)
        self._changed.set()
        try:
            if reply.hang:
                held: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
                self._held.append(held)
                reply = await held
                self._requests[index] = replace(received, reply=reply)
            elif reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self._open -= 1
            self._changed.set()
        return web.Response(status=reply.status, headers=dict(reply.headers))

    # the test's side

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/track"

    @property
    def requests(self) -> list[Received]:
        """Every request so far, in order of arrival (a held one with ``Reply(hang=True)``
        until it is answered)."""
        return list(self._requests)

    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx, in order of arrival."""
        return [request for request in self._requests if request.reply.accepts]

    @property
    def held(self) -> int:
        """Requests held open, waiting for :meth:`answer`."""
        return sum(1 for future in self._held if not future.done())

    def answer(self, reply: Reply, count: int | None = None) -> int:
        """Answer ``count`` held requests (all when ``None``), oldest first; how many."""
        waiting = [future for future in self._held if not future.done()]
        chosen = waiting if count is None else waiting[:count]
        for future in chosen:
            future.set_result(reply)
        return len(chosen)

    async def until(self, condition: Callable[[Receiver], bool], what: str) -> None:
        """Wait until ``condition(self)`` holds (checked at every arrival and every answer)."""
        try:
            async with asyncio.timeout(DEADLINE):
                while not condition(self):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {DEADLINE:.0f}s waiting for {what}") from None

    async def wait_for_requests(self, count: int, what: str = "") -> list[Received]:
        """Wait until at least ``count`` requests arrived; all of them."""
        await self.until(lambda r: len(r._requests) >= count, what or f"{count} requests")
        return self.requests


@contextlib.asynccontextmanager
async def receiving(behaviour: Behaviour | None = None) -> AsyncIterator[Receiver]:
    """A started :class:`Receiver`, closed at the end."""
    receiver = await Receiver(behaviour).start()
    try:
        yield receiver
    finally:
        await receiver.close()
