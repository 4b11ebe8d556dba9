"""La Poste in the sandbox: its scenario numbers (``carriers.scenarios.NUMBER_FORMATS``) are
the README's, survive what users type, belong to La Poste only, and walk their journeys on a
simulated connection."""

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


def test_the_readme_gives_the_la_poste_numbers() -> None:
    row = next(
        line for line in README.read_text().splitlines() if line.startswith("| `la_poste` | `LP")
    )
    first, last = re.findall(r"`(LP\d{9}FR)`", row)
    assert first == sandbox_number("la_poste", BY_NAME["delivered"])
    assert last == sandbox_number("la_poste", BY_NAME["late_first_scan"])
    assert "`LP` + `{n}` on 9 digits + `FR`" in row


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_number_is_la_postes_only(name: str) -> None:
    number = sandbox_number("la_poste", BY_NAME[name])
    assert re.fullmatch(r"LP\d{9}FR", number)
    assert normalise_tracking_number(f" {number.lower()} ") == number
    assert scenario_carriers(number) == ["la_poste"]


@pytest.mark.parametrize(
    ("name", "final"),
    [("pickup_point", "DE"), ("failed_attempt", "DE"), ("exception_returned", "EX")],
)
async def test_a_simulated_la_poste_connection_walks_the_journeys(name: str, final: str) -> None:
    scenario = BY_NAME[name]
    number = sandbox_number("la_poste", scenario)
    seen: list[str] = []
    known = Known("UN", None, sequence=0, settled=False, newest_event_at=None)
    for hours in range(0, 100, 2):
        now = SINCE + timedelta(hours=hours)
        carrier = SandboxCarrier(clock=lambda: now)  # noqa: B023 (used within the iteration)
        context = ConnectionContext(connection_id=1, carrier_code="la_poste", simulated=True)
        result = (await carrier.track(context, [TrackRequest(number, since=SINCE)]))[number]
        status = "NY" if result is NOT_FOUND else observe(known, result).status_code
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen[-1] == final
    assert seen == scenario.status_walk()
