"""What the webhook delivery tests share: real HTTP receivers on 127.0.0.1, independent signature
checks, and small helpers around the delivery endpoints.

A :class:`Receiver` is an aiohttp server running in a thread of its own (with its own event loop).
It records every request as it arrives (raw body, headers, path, when) and answers what its
``behaviour`` says: any status and headers, after a delay, or never (it hangs until it is closed).

The signature checks here share no code with shiptrack: the ShipEngine signature is checked with
``cryptography`` against the key of ``GET /jwks``, the Standard Webhooks one with the PyPI
``standardwebhooks`` package, exactly as a receiver of the README would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from standardwebhooks import Webhook

from tests.conftest import DatabaseServer, Server, Tenant, delivery_env, start_server
from tests.support import eventually

WEBHOOKS = "/v1/environment/webhooks"
#: How often to look again when waiting for a receiver or a delivery (they take milliseconds).
POLL = 0.05
#: The official ShipEngine OpenAPI extract kept in the repository.
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"


# --- receivers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a receiver answers to one request."""

    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering.
    delay: float = 0.0
    #: Never answer (the request stays open until the receiver is closed).
    hang: bool = False

    @property
    def accepts(self) -> bool:
        """Whether this answer tells the sender the delivery arrived."""
        return not self.hang and 200 <= self.status < 300


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    method: str
    path: str
    #: Header names in lower case (HTTP header names are case-insensitive).
    headers: dict[str, str]
    body: bytes
    #: ``time.monotonic()`` at arrival.
    arrived: float
    #: Wall-clock time of arrival, UTC.
    at: datetime
    #: 1 for the first request carrying this ``webhook-id``, 2 for the next, …
    attempt: int
    reply: Reply = field(default_factory=Reply)

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def sequence(self) -> int:
        value: int = self.json["sequence"]
        return value

    @property
    def tracking_number(self) -> str:
        value: str = self.json["data"]["tracking_number"]
        return value


#: Decides the answer to a request (``reply`` is not set yet on the one it gets).
Behaviour = Callable[[Received], Reply]


def always(reply: Reply) -> Behaviour:
    return lambda _request: reply


def fail_first(failures: int, status: int = 500) -> Behaviour:
    """Answer ``status`` to the first ``failures`` attempts of every delivery, then 204."""
    return lambda request: Reply(status) if request.attempt <= failures else Reply()


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour: Behaviour = behaviour or always(Reply())
        self._requests: list[Received] = []
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # lifecycle

    def start(self) -> Receiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        assert host == "127.0.0.1"
        self.port = int(port)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _stop(self) -> None:
        assert self._closing is not None and self._runner is not None
        self._closing.set()
        await self._runner.cleanup()

    # what it does

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
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
            self._requests.append(replace(received, reply=reply))
        assert self._closing is not None
        if reply.hang or reply.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._closing.wait(), timeout=None if reply.hang else reply.delay
                )
        return web.Response(status=reply.status, headers=dict(reply.headers))

    # what it got

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/track"

    @property
    def requests(self) -> list[Received]:
        """Every request so far, in order of arrival."""
        with self._lock:
            return list(self._requests)

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx (the deliveries that arrived), in order."""
        return [request for request in self.requests if request.reply.accepts]

    def wait_for_requests(self, count: int, what: str = "") -> list[Received]:
        """Wait until at least ``count`` requests arrived; all of them."""

        def probe() -> list[Received] | None:
            found = self.requests
            return found if len(found) >= count else None

        return eventually(probe, what or f"{count} requests at the receiver", every=POLL)


@contextlib.contextmanager
def receiving(behaviour: Behaviour | None = None) -> Iterator[Receiver]:
    """A started receiver, closed at the end."""
    receiver = Receiver(behaviour).start()
    try:
        yield receiver
    finally:
        receiver.close()


# --- servers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def delivery_server(test_database: DatabaseServer, home: Path, **extra: str) -> Iterator[Server]:
    """A server of its own, with workers and quick retries (``delivery_env``)."""
    home.mkdir(parents=True, exist_ok=True)
    running = start_server(
        delivery_env(test_database.fresh(home), home / "data", **extra), home / "server.log"
    )
    try:
        yield running
    finally:
        running.stop()


def module_server(
    test_database: DatabaseServer, factory: pytest.TempPathFactory, **extra: str
) -> Iterator[Server]:
    """Body of a module-scoped server fixture."""
    with delivery_server(test_database, factory.mktemp("delivery"), **extra) as running:
        yield running


# --- the API --------------------------------------------------------------------------------------


def create_webhook(tenant: Tenant, url: str, **extra: Any) -> dict[str, Any]:
    """``POST /v1/environment/webhooks`` for ``track``; the answer (with the ``secret``)."""
    response = tenant.client.post(WEBHOOKS, json={"event": "track", "url": url, **extra})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_"), created
    return created


def deliveries_page(tenant: Tenant, webhook_id: str, **params: Any) -> dict[str, Any]:
    """One page of ``GET …/{webhook_id}/deliveries``."""
    response = tenant.client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def all_deliveries(tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    """Every delivery of a webhook, newest first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": 500}
        if cursor:
            params["cursor"] = cursor
        page = deliveries_page(tenant, webhook_id, **params)
        found.extend(page["deliveries"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def send_test_event(tenant: Tenant, webhook_id: str) -> str:
    """``POST …/{webhook_id}/test``; the delivery id."""
    response = tenant.client.post(f"{WEBHOOKS}/{webhook_id}/test")
    assert response.status_code == 202, response.text
    delivery_id: str = response.json()["delivery_id"]
    return delivery_id


def delivery(tenant: Tenant, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """One delivery as the listing shows it."""
    found = [d for d in all_deliveries(tenant, webhook_id) if d["delivery_id"] == delivery_id]
    assert len(found) == 1, (delivery_id, found)
    return found[0]


def settled(tenant: Tenant, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """Wait until a delivery is delivered or failed; the listing's view of it."""

    def probe() -> dict[str, Any] | None:
        found = delivery(tenant, webhook_id, delivery_id)
        return found if found["state"] != "pending" else None

    return eventually(probe, f"delivery {delivery_id} to be delivered or failed", every=POLL)


def all_settled(tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    """Wait until no delivery of the webhook is pending (a receiver may have answered before
    the server recorded it); every delivery, newest first."""

    def probe() -> list[dict[str, Any]] | None:
        found = all_deliveries(tenant, webhook_id)
        return found if all(d["state"] != "pending" for d in found) else None

    return eventually(
        probe, f"every delivery of {webhook_id} to be delivered or failed", every=POLL
    )


def queued_sequences(tenant: Tenant, webhook_id: str, tracking_number: str) -> list[int]:
    """The sequences of the package's notifications queued for a webhook, ascending."""
    return sorted(
        d["sequence"]
        for d in all_deliveries(tenant, webhook_id)
        if d["tracking_number"] == tracking_number
    )


def wait_until_delivered(
    receiver: Receiver, tracking_number: str, sequences: list[int]
) -> list[Received]:
    """Wait until the receiver accepted every one of ``sequences`` of the package; the
    accepted requests of the package, in order of arrival."""

    def probe() -> list[Received] | None:
        got = [r for r in receiver.accepted() if r.tracking_number == tracking_number]
        return got if {r.sequence for r in got} >= set(sequences) else None

    return eventually(probe, f"sequences {sequences} of {tracking_number} to arrive", every=POLL)


# --- signatures, checked independently ------------------------------------------------------------


def jwks(server: Server) -> dict[str, dict[str, Any]]:
    """``GET /jwks`` (no API key), by kid."""
    response = httpx.get(f"{server.url}/jwks", timeout=30)
    assert response.status_code == 200, response.text
    return {key["kid"]: key for key in response.json()["keys"]}


def _b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    """The RSA public key of a JWK, built from its ``n`` and ``e``."""
    assert jwk["kty"] == "RSA", jwk
    return rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"])).public_key()


def verify_shipengine(
    keys: Mapping[str, Mapping[str, Any]], headers: Mapping[str, str], body: bytes
) -> str:
    """Check ``x-shipengine-rsa-sha256-signature`` (raises ``InvalidSignature`` if forged); the
    kid that signed."""
    kid = headers["x-shipengine-rsa-sha256-key-id"]
    signed = headers["x-shipengine-timestamp"].encode() + b"." + body
    public_key(keys[kid]).verify(
        base64.b64decode(headers["x-shipengine-rsa-sha256-signature"]),
        signed,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return kid


def verify_standard(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check ``webhook-signature`` with the ``standardwebhooks`` package (raises if forged)."""
    Webhook(secret).verify(body, dict(headers))
