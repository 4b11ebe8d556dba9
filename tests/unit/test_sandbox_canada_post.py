"""Canada Post in the sandbox: its scenario numbers (``carriers.scenarios.NUMBER_FORMATS``) are the
README's, are 16-digit PINs that survive what users type, walk their journeys on a simulated
connection, and are recognised as Canada Post's by a sandbox account's detection."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shiptrack.carriers.base import ConnectionContext, TrackRequest
from shiptrack.carriers.sandbox import SandboxCarrier
from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number, scenario_carriers
from shiptrack.domain.changes import NOT_FOUND, Known, observe
from shiptrack.domain.tracking import normalise_tracking_number

README = Path(__file__).parents[2] / "README.md"
SINCE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def test_the_readme_gives_the_canada_post_numbers() -> None:
    row = next(
        line for line in README.read_text().splitlines() if line.startswith("| `canada_post` | `7")
    )
    first, last = re.findall(r"`(\d{16})`", row)
    assert first == sandbox_number("canada_post", BY_NAME["delivered"])
    assert last == sandbox_number("canada_post", BY_NAME["late_first_scan"])
    assert "`70239990000` + `{n}` on 5 digits" in row


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_number_is_a_16_digit_pin_of_canada_post_only(name: str) -> None:
    number = sandbox_number("canada_post", BY_NAME[name])
    assert re.fullmatch(r"\d{16}", number)
    assert normalise_tracking_number(f" {number} ") == number
    assert scenario_carriers(number) == ["canada_post"]


@pytest.mark.parametrize(
    ("name", "final"),
    [("pickup_point", "DE"), ("failed_attempt", "DE"), ("exception_returned", "EX")],
)
async def test_a_simulated_canada_post_connection_walks_the_journeys(name: str, final: str) -> None:
    scenario = BY_NAME[name]
    number = sandbox_number("canada_post", scenario)
    seen: list[str] = []
    known = Known("UN", None, sequence=0, settled=False, newest_event_at=None)
    for hours in range(0, 100, 2):
        now = SINCE + timedelta(hours=hours)
        carrier = SandboxCarrier(clock=lambda: now)  # noqa: B023 (used within the iteration)
        context = ConnectionContext(connection_id=1, carrier_code="canada_post", simulated=True)
        result = (await carrier.track(context, [TrackRequest(number, since=SINCE)]))[number]
        status = "NY" if result is NOT_FOUND else observe(known, result).status_code
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen[-1] == final
    assert seen == scenario.status_walk()
