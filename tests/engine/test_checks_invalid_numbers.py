"""A number the carrier calls invalid, through the in-process engine (``tests/engine/conftest.py``)
and the fake UPS of ``tests/fakes/ups.py`` on 127.0.0.1.

Covers that only the carrier's word counts as a confirmation: a production UPS package whose number
UPS answers "Invalid inquiry number" is ``UN`` / ``TRACKING_EXPIRED`` after the first check, a 429
in between changes nothing (the status stays, ``last_error`` shows the 429, tracking goes on), and
tracking stops (``invalid_number``) only at the third invalid answer, with one status change.
"""

from __future__ import annotations

from shiptrack.domain.schedule import INVALID_NUMBER_CONFIRMATIONS
from shiptrack.services.connections import ConnectRequest
from tests.engine.conftest import Engine
from tests.fakes import ups
from tests.fakes.server import serve

VERDICT = "UPS says the tracking number is invalid (TV1002 Invalid inquiry number)"


async def test_a_failed_call_never_counts_as_a_confirmation(engine: Engine) -> None:
    shipper = await engine.shipper("invalid-number", sandbox=False)
    account = shipper.account
    number = ups.INVALID
    with serve(ups.app()) as fake:
        await engine.parts.connections.connect(
            account,
            "ups",
            ConnectRequest(
                client_id=ups.CLIENT_ID, client_secret=ups.CLIENT_SECRET, base_url=fake.url
            ),
        )
        await engine.start(account, "ups", number)
        assert await engine.checks.run_round() == 1
        first = await engine.tracking(account, "ups", number)
        assert (first["status_code"], first["status_detail_code"]) == ("UN", "TRACKING_EXPIRED")
        assert (first["active"], first["last_error"]) == (True, VERDICT)

        # UPS fails (429): no confirmation, nothing changes but the error shown.
        fake.state["rate_limited"] = {number}
        await engine.make_due()
        await engine.checks.run_round()
        failed = await engine.tracking(account, "ups", number)
        assert "429" in failed["last_error"], failed["last_error"]
        assert (failed["status_code"], failed["status_detail_code"], failed["active"]) == (
            "UN",
            "TRACKING_EXPIRED",
            True,
        )

        fake.state["rate_limited"] = set()
        await engine.wait_out_backoff()  # the connection's back-off after the 429 (1 s)
        for confirmation in range(2, INVALID_NUMBER_CONFIRMATIONS + 1):
            await engine.make_due()
            await engine.checks.run_round()
            body = await engine.tracking(account, "ups", number)
            assert body["last_error"] == VERDICT
            assert body["active"] is (confirmation < INVALID_NUMBER_CONFIRMATIONS), confirmation

    assert body["stop_reason"] == "invalid_number"
    assert ups.track_requests(fake).count(number) == INVALID_NUMBER_CONFIRMATIONS + 1  # + the 429
    record = await engine.recorded(account, "ups", number)
    assert [(c.status_code, c.status_detail_code) for c in record.changes] == [
        ("UN", "TRACKING_EXPIRED")
    ]
