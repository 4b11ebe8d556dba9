"""Every polled carrier (``tests.carrier_kit.FAKE_CARRIERS``) failing under a running server: a real
``shiptrack serve`` process (API and workers, real database) whose connections point at each
carrier's fake on 127.0.0.1.

Covers, for each carrier: credentials revoked after they worked (401), a rate limit (429) and an
outage (503) show in ``last_error`` and change no stored status (the package keeps its status, stays
active and records no change); once the carrier answers again, the package shows its new scans
and ``last_error`` is cleared.

The server re-polls every half second and backs off for at most one; connections set
``requests_per_minute`` so that no carrier's default budget slows the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.carrier_kit import FakeCarrier, contract_fixtures, walk
from tests.conftest import DatabaseServer, Server
from tests.fakes.server import FakeServer
from tests.support import (
    QUICK_SCHEDULE,
    own_engine_server,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
)


def revoke(kind: FakeCarrier, fake: FakeServer) -> None:
    kind.revoke(fake)


def rate_limit(_: FakeCarrier, fake: FakeServer) -> None:
    fake.state["rate_limited"] = True


def break_down(_: FakeCarrier, fake: FakeServer) -> None:
    fake.state["outage"] = True


#: How each failure is brought about, and what ``last_error`` shows then.
SWITCHES: dict[str, tuple[str, Callable[[FakeCarrier, FakeServer], None]]] = {
    "revoked-401": ("401", revoke),
    "rate-limited-429": ("429", rate_limit),
    "outage-503": ("503", break_down),
}


@pytest.fixture(scope="module")
def engine(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from own_engine_server(
        test_database, tmp_path_factory, "carrier-failures-engine", **QUICK_SCHEDULE
    )


kind, fake = contract_fixtures()


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_failures_show_last_error_and_change_no_status(
    engine: Server, kind: FakeCarrier, fake: FakeServer, switch: str
) -> None:
    shown, fail = SWITCHES[switch]
    with production_account(engine, f"{kind.slug}-{switch}") as tenant:
        kind.connect(tenant, fake)
        number = kind.known
        start_tracking(tenant, kind.code, number)
        before = wait_for_tracking(
            tenant, kind.code, number, lambda b: bool(b["events"]), "the first scans"
        )
        status = (before["status_code"], before["status_detail_code"])
        fail(kind, fake)
        failing = wait_for_tracking(
            tenant, kind.code, number, lambda b: b["last_error"] is not None, f"a {shown}"
        )
        assert shown in failing["last_error"]
        assert (failing["status_code"], failing["status_detail_code"]) == status
        assert failing["events"] == before["events"]
        assert failing["active"] is True
        assert len(walk(recorded(engine, tenant.account_id, kind.code, number))) == 1

        fake.state.clear()
        fake.state["as"] = {number: kind.moved_on}
        back = wait_for_tracking(
            tenant, kind.code, number, lambda b: b["events"] != before["events"], "the recovery"
        )
        assert back["last_error"] is None
