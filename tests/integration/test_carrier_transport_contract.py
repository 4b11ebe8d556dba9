"""Every polled carrier's adapter (``tests.carrier_kit.FAKE_CARRIERS``) over real HTTP against its
fake on 127.0.0.1, failing as each carrier API fails.

Covers what a subscriber relies on whichever carrier it is: a 429 is a transport error carrying the
carrier's ``Retry-After`` (so the connection waits that long), a 500 and a 503 outage are transport
errors, an answer slower than the timeout and an unreachable host are transport errors, and
credentials revoked after they worked fail the call without it being repeated. ``verify()``
accepts the carrier's credentials, refuses revoked ones (``CredentialsRejected``: the connection
is not stored) and calls an outage a transport error, not a refusal. A transport error never
changes a stored status: that is tested through a running server in
``tests/e2e/test_carrier_failures_contract.py``.
"""

from __future__ import annotations

import pytest

from shiptrack.carriers.base import Result, TrackRequest, TransportError
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import CarrierReport
from tests.carrier_kit import FAKE_CARRIERS, FakeCarrier, contract_fixtures
from tests.conftest import free_port
from tests.fakes.server import FakeServer, serve

SLOW_CODES = sorted(code for code, carrier in FAKE_CARRIERS.items() if carrier.slow)


kind, fake = contract_fixtures()


async def ask(kind: FakeCarrier, fake: FakeServer, number: str) -> Result:
    adapter = kind.make()
    try:
        results = await adapter.track(kind.context(fake.url), [TrackRequest(number)])
    finally:
        await adapter.close()
    return results[number]


async def failure(kind: FakeCarrier, fake: FakeServer, number: str) -> TransportError:
    with pytest.raises(TransportError) as caught:
        await ask(kind, fake, number)
    return caught.value


async def test_a_known_number_is_answered_with_scans(kind: FakeCarrier, fake: FakeServer) -> None:
    assert isinstance(await ask(kind, fake, kind.known), CarrierReport)


async def test_429_carries_the_carriers_retry_after(kind: FakeCarrier, fake: FakeServer) -> None:
    error = await failure(kind, fake, kind.rate_limited)
    assert "429" in error.message
    assert error.retry_after == 7


async def test_a_rate_limited_connection_waits_as_long_as_told(
    kind: FakeCarrier, fake: FakeServer
) -> None:
    fake.state["rate_limited"] = True
    error = await failure(kind, fake, kind.known)
    assert "429" in error.message
    assert error.retry_after == 1


async def test_500_is_a_transport_error(kind: FakeCarrier, fake: FakeServer) -> None:
    assert "500" in (await failure(kind, fake, kind.server_error)).message


async def test_a_503_outage_is_a_transport_error_with_its_retry_after(
    kind: FakeCarrier, fake: FakeServer
) -> None:
    fake.state["outage"] = True
    error = await failure(kind, fake, kind.known)
    assert "503" in error.message
    assert error.retry_after == 1


async def test_an_unreachable_host_is_a_transport_error(kind: FakeCarrier) -> None:
    adapter = kind.make()
    url = f"http://127.0.0.1:{free_port()}"
    try:
        with pytest.raises(TransportError, match="could not be reached"):
            await adapter.track(kind.context(url), [TrackRequest(kind.known)])
    finally:
        await adapter.close()


async def test_credentials_revoked_after_they_worked_fail_without_a_retry(
    kind: FakeCarrier, fake: FakeServer
) -> None:
    adapter = kind.make()
    try:
        context = kind.context(fake.url)
        first = await adapter.track(context, [TrackRequest(kind.known)])
        assert isinstance(first[kind.known], CarrierReport)
        asked = len(fake.requests)
        kind.revoke(fake)
        with pytest.raises(TransportError, match="401"):
            await adapter.track(context, [TrackRequest(kind.known)])
        # Keys and passwords are not tokens: there is nothing to refresh, so nothing is repeated.
        assert len(fake.requests) == asked + 1
    finally:
        await adapter.close()


@pytest.mark.parametrize("code", SLOW_CODES)
async def test_a_slow_answer_is_a_timeout(code: str) -> None:
    kind = FAKE_CARRIERS[code]
    adapter = kind.make(timeout=0.3)
    assert kind.slow is not None
    with serve(kind.app()) as fake:
        fake.state["delay"] = 1.5
        try:
            with pytest.raises(TransportError, match="did not answer in time"):
                await adapter.track(kind.context(fake.url), [TrackRequest(kind.slow)])
        finally:
            await adapter.close()


async def test_verify_accepts_the_carriers_credentials(kind: FakeCarrier, fake: FakeServer) -> None:
    adapter = kind.make()
    try:
        await adapter.verify(kind.context(fake.url))
    finally:
        await adapter.close()
    assert fake.requests, "verify asked the carrier nothing"


async def test_verify_refuses_revoked_credentials(kind: FakeCarrier, fake: FakeServer) -> None:
    kind.revoke(fake)
    adapter = kind.make()
    try:
        with pytest.raises(CredentialsRejected):
            await adapter.verify(kind.context(fake.url))
    finally:
        await adapter.close()


async def test_verify_during_an_outage_is_not_a_refusal(
    kind: FakeCarrier, fake: FakeServer
) -> None:
    fake.state["outage"] = True
    adapter = kind.make()
    try:
        with pytest.raises(TransportError) as caught:
            await adapter.verify(kind.context(fake.url))
    finally:
        await adapter.close()
    assert not isinstance(caught.value, CredentialsRejected)
