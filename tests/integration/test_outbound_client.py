"""The outbound guard at work (``shiptrack.outbound``): the save-time check, and the guarded client
the webhook sender and every carrier adapter use, with DNS and sockets under the test's control
(``tests/fakes/dial.py``) and real HTTP servers on 127.0.0.1.

Covers: the save-time check (literal and special hosts refused without a lookup; a name refused
when ANY address it resolves to is refused; a name that does not resolve, or a ``.invalid`` one,
accepted; listed names and allow-private); at dial time, DNS rebinding (a name saved while public
that resolves to 127.0.0.1 later is never dialled, while the same answer does reach the server
without the guard), mixed answers (only permitted addresses are dialled), a listed name reaching
its private address but never metadata; each line of defence alone (the pre-request check refuses
literal addresses before any socket; the socket check refuses even when the resolver was
bypassed); redirects never followed; and what the webhook sender and ``CarrierHttp`` report:
"refused by the outbound policy" and nothing about the destination (strict by default for
carriers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from shiptrack.carriers.http import CarrierHttp, DestinationRefused
from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.outbound import STRICT, OutboundPolicy
from shiptrack.outbound.client import (
    REFUSED,
    GuardedResolver,
    guarded_session,
    guarded_socket_factory,
    refused_by_policy,
)
from shiptrack.outbound.destinations import check_destination
from shiptrack.webhooks.sender import open_session, post
from tests.fakes.dial import RecordingSockets, Zone

PUBLIC = "93.184.215.14"
LOOPBACK_ALLOWED = OutboundPolicy.from_settings(allow_private=False, allow_list="127.0.0.1/32")


@dataclass
class Local:
    """An HTTP server on 127.0.0.1 recording every path it is asked for."""

    port: int
    hits: list[str] = field(default_factory=list)
    #: Where to redirect to (a 302), when set.
    redirect_to: str | None = None


@pytest.fixture
async def local() -> AsyncIterator[Local]:
    server = Local(port=0)

    async def handle(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        if server.redirect_to is not None:
            raise web.HTTPFound(server.redirect_to)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = int(runner.addresses[0][1])
    try:
        yield server
    finally:
        await runner.cleanup()


def session(policy: OutboundPolicy, zone: Zone, sockets: RecordingSockets) -> aiohttp.ClientSession:
    return guarded_session(
        policy,
        timeout=aiohttp.ClientTimeout(total=5),
        resolver=zone,
        socket_factory=sockets,
    )


async def get(client: aiohttp.ClientSession, url: str) -> int | BaseException:
    """The status, or the error of a GET (redirects are not followed, as everywhere)."""
    try:
        async with client.get(url, allow_redirects=False) as response:
            return response.status
    except (aiohttp.ClientError, OSError) as error:
        return error


# --- save time ----------------------------------------------------------------------------------


async def refused_at_save(
    url: str, zone: Zone, policy: OutboundPolicy = STRICT, field_name: str = "url"
) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        await check_destination(url, policy, field_name=field_name, resolver=zone)
    assert caught.value.field_name == field_name
    assert "refused by the outbound policy" in caught.value.message
    return caught.value


async def test_a_name_resolving_only_to_public_addresses_is_accepted() -> None:
    zone = Zone({"hooks.example": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    await check_destination("https://hooks.example/track", STRICT, field_name="url", resolver=zone)
    assert zone.asked == ["hooks.example"]


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.7"],
        [PUBLIC, "127.0.0.1"],  # one refused answer among good ones is enough
        ["::1"],
        ["fe80::1%eth0"],
        ["169.254.169.254"],
        ["fd00:ec2::254"],
        ["::ffff:127.0.0.1"],
    ],
)
async def test_a_name_resolving_to_any_refused_address_is_refused(addresses: list[str]) -> None:
    zone = Zone({"inside.example": addresses})
    error = await refused_at_save("https://inside.example/track", zone, field_name="base_url")
    assert "inside.example" in error.message
    assert not any(address in error.message for address in addresses)  # never what it resolves to


async def test_a_name_that_does_not_resolve_is_accepted() -> None:
    zone = Zone()
    # It may be saved before its DNS exists; every dial checks again.
    await check_destination("https://not-yet.example/x", STRICT, field_name="url", resolver=zone)
    assert zone.asked == ["not-yet.example"]


async def test_invalid_names_are_accepted_without_a_lookup() -> None:
    zone = Zone()
    await check_destination("https://receiver.invalid/h", STRICT, field_name="url", resolver=zone)
    assert zone.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://[::1]/",
        "http://[::ffff:192.168.1.1]/",
        "http://localhost/",
        "http://LocalHost:8080/",
        "http://anything.localhost/",
        "http://metadata.google.internal/",
        "http://2130706433/",
        "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",
        "http://\uff3b::1\uff3d/",
    ],
)
async def test_literal_and_special_hosts_are_refused_without_a_lookup(url: str) -> None:
    zone = Zone()
    await refused_at_save(url, zone, field_name="base_url")
    assert zone.asked == []


async def test_listed_names_and_allow_private_change_what_is_accepted() -> None:
    zone = Zone({"hooks.internal": ["10.0.0.5"], "meta.internal": ["169.254.169.254"]})
    listed = OutboundPolicy.from_settings(allow_private=False, allow_list="hooks.internal")
    await check_destination("http://hooks.internal/", listed, field_name="url", resolver=zone)
    await refused_at_save("http://meta.internal/", zone, listed)

    private = OutboundPolicy(allow_private=True)
    await check_destination("http://hooks.internal/", private, field_name="url", resolver=zone)
    await check_destination("http://127.0.0.1:9/", private, field_name="url", resolver=zone)
    await refused_at_save("http://meta.internal/", zone, private)
    await refused_at_save("http://169.254.169.254/", zone, private)


# --- dial time ----------------------------------------------------------------------------------


async def test_a_name_rebound_to_loopback_after_it_was_saved_is_never_dialled(local: Local) -> None:
    url = f"http://rebind.example:{local.port}/hooks"
    zone = Zone({"rebind.example": [PUBLIC]})
    await check_destination(url, STRICT, field_name="url", resolver=zone)
    # ...then its DNS answer changes to the server's own loopback.
    zone.records["rebind.example"] = ["127.0.0.1"]
    sockets = RecordingSockets(connect_to=("127.0.0.1",))

    async with session(STRICT, zone, sockets) as guarded:
        outcome = await get(guarded, url)

    assert isinstance(outcome, BaseException) and refused_by_policy(outcome)
    assert (sockets.asked, local.hits) == ([], [])
    # The same answer without the guard does reach the server: the refusal above is the guard's.
    unguarded = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=zone))
    async with unguarded:
        assert await get(unguarded, url) == 204
    assert local.hits == ["/hooks"]


async def test_only_permitted_answers_are_dialled() -> None:
    zone = Zone({"mixed.example": ["10.0.0.1", PUBLIC, "::1", "169.254.169.254"]})
    sockets = RecordingSockets()  # refuses everything: nothing is sent anywhere
    async with session(STRICT, zone, sockets) as guarded:
        outcome = await get(guarded, "http://mixed.example:8080/")
    assert isinstance(outcome, BaseException) and not refused_by_policy(outcome)
    assert sockets.asked == [PUBLIC]


async def test_a_listed_name_reaches_its_private_address_but_never_metadata(local: Local) -> None:
    policy = OutboundPolicy.from_settings(allow_private=False, allow_list="hooks.internal")
    zone = Zone({"hooks.internal": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    sockets = RecordingSockets(connect_to=("127.0.0.1",))
    async with session(policy, zone, sockets) as guarded:
        assert await get(guarded, f"http://hooks.internal:{local.port}/listed") == 204
        refused = await get(guarded, f"http://other.example:{local.port}/other")
        literal = await get(guarded, f"http://127.0.0.1:{local.port}/literal")
    zone.records["hooks.internal"] = ["169.254.169.254"]
    async with session(policy, zone, sockets) as guarded:
        metadata = await get(guarded, f"http://hooks.internal:{local.port}/metadata")
    for outcome in (refused, literal, metadata):
        assert isinstance(outcome, BaseException) and refused_by_policy(outcome)
    assert local.hits == ["/listed"]
    assert sockets.asked == ["127.0.0.1"]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1",
        "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",
        "127.1",
        "0x7f000001",
        "localhost",
    ],
)
async def test_a_refused_host_is_refused_before_any_lookup_or_socket(
    local: Local, host: str
) -> None:
    zone, sockets = Zone(), RecordingSockets(connect_to=("127.0.0.1", "::1"))
    async with session(STRICT, zone, sockets) as guarded:
        outcome = await get(guarded, f"http://{host}:{local.port}/x")
    assert isinstance(outcome, BaseException) and refused_by_policy(outcome)
    assert str(outcome) == f"[Errno 13] {REFUSED}"
    assert (zone.asked, sockets.asked, local.hits) == ([], [], [])


async def test_the_socket_check_refuses_even_when_the_resolver_is_bypassed(local: Local) -> None:
    """Only the last line of defence: an unguarded resolver answering 127.0.0.1, no pre-check."""
    sockets = RecordingSockets(connect_to=("127.0.0.1",))
    connector = aiohttp.TCPConnector(
        resolver=Zone({"rebind.example": ["127.0.0.1"]}),
        socket_factory=guarded_socket_factory(STRICT, sockets),
    )
    async with aiohttp.ClientSession(connector=connector) as bare:
        by_name = await get(bare, f"http://rebind.example:{local.port}/name")
        literal = await get(bare, f"http://127.0.0.1:{local.port}/literal")
    for outcome in (by_name, literal):
        assert isinstance(outcome, BaseException) and refused_by_policy(outcome)
    assert (sockets.asked, local.hits) == ([], [])


async def test_the_resolver_alone_drops_refused_answers() -> None:
    resolver = GuardedResolver(STRICT, Zone({"mixed.example": ["10.0.0.1", PUBLIC, "::1"]}))
    answers = await resolver.resolve("mixed.example", 443)
    assert [(a["host"], a["port"]) for a in answers] == [(PUBLIC, 443)]
    with pytest.raises(OSError, match=REFUSED):
        await GuardedResolver(STRICT, Zone({"in.example": ["127.0.0.1"]})).resolve("in.example")


async def test_a_redirect_to_another_address_is_never_followed(local: Local) -> None:
    local.redirect_to = "http://10.0.0.1/internal"
    sockets = RecordingSockets(connect_to=("127.0.0.1",))
    webhooks = open_session(
        connect_timeout=2,
        total_timeout=5,
        concurrency=4,
        policy=LOOPBACK_ALLOWED,
        resolver=Zone(),
        socket_factory=sockets,
    )
    async with webhooks:
        result = await post(
            webhooks, f"http://127.0.0.1:{local.port}/hook", b"{}", {}, max_response_bytes=1024
        )
    carrier = CarrierHttp("UPS", policy=LOOPBACK_ALLOWED, resolver=Zone(), socket_factory=sockets)
    try:
        answer = await carrier.send("GET", f"http://127.0.0.1:{local.port}/track")
    finally:
        await carrier.close()

    assert (result.status, result.error, answer.status) == (302, "HTTP 302", 302)
    assert local.hits == ["/hook", "/track"]
    assert set(sockets.asked) == {"127.0.0.1"}


# --- what the sender and the carrier client report ------------------------------------------------


async def test_the_webhook_sender_says_refused_and_nothing_more(local: Local) -> None:
    zone = Zone({"rebind.example": ["127.0.0.1"]})
    webhooks = open_session(
        connect_timeout=2, total_timeout=5, concurrency=4, policy=STRICT, resolver=zone
    )
    async with webhooks:
        literal = await post(
            webhooks, f"http://127.0.0.1:{local.port}/a", b"{}", {}, max_response_bytes=1024
        )
        rebound = await post(
            webhooks, f"http://rebind.example:{local.port}/b", b"{}", {}, max_response_bytes=10
        )
    for result in (literal, rebound):
        assert (result.status, result.error, result.delivered) == (None, REFUSED, False)
    assert local.hits == []


async def test_carrier_calls_are_strict_by_default_and_say_only_refused(local: Local) -> None:
    http = CarrierHttp("UPS")
    try:
        with pytest.raises(DestinationRefused) as caught:
            await http.send("POST", f"http://127.0.0.1:{local.port}/security/v1/oauth/token")
    finally:
        await http.close()
    message = caught.value.message
    assert message.startswith("UPS ") and "refused by the outbound policy" in message
    assert "127.0.0.1" not in message and str(local.port) not in message
    assert local.hits == []
