"""The sandbox numbers of the carriers added after the first four (whose numbers
``test_sandbox.py`` covers with the scenarios): each code's scenario numbers
(``carriers.scenarios.NUMBER_FORMATS``) are the README's, have its carrier's shape, survive what
users type, belong to that code only, and walk their journeys on a simulated connection."""

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
#: code -> (the README's pattern text, the shape of its numbers)
CODES = {
    "canada_post": ("`70239990000` + `{n}` on 5 digits", r"70239990000\d{5}"),  # 16-digit PINs
    "australia_post": ("`7XX99900` + `{n}` on 8 digits", r"7XX99900\d{8}"),
    "dhl_parcel": ("`003404349990` + `{n}` on 8 digits", r"00340434999\d{9}"),
    "dhl_ecommerce": ("`GM99900` + `{n}` on 11 digits", r"GM99900\d{11}"),
    "gls": ("`GLS99` + `{n}` on 7 digits", r"GLS99\d{7}"),
    "postnl": ("`3SSBOX` + `{n}` on 9 digits", r"3SSBOX\d{9}"),
    "la_poste": ("`LP` + `{n}` on 9 digits + `FR`", r"LP\d{9}FR"),
}


@pytest.mark.parametrize("code", sorted(CODES))
def test_the_readme_gives_the_numbers(code: str) -> None:
    pattern, shape = CODES[code]
    row = next(
        line
        for line in README.read_text().splitlines()
        if line.startswith(f"| `{code}` | ") and pattern in line
    )
    first, last = re.findall(rf"`({shape})`", row)
    assert first == sandbox_number(code, BY_NAME["delivered"])
    assert last == sandbox_number(code, BY_NAME["late_first_scan"])


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_number_is_its_codes_only(code: str, name: str) -> None:
    number = sandbox_number(code, BY_NAME[name])
    assert re.fullmatch(CODES[code][1], number)
    assert normalise_tracking_number(f" {number.lower()} ") == number
    assert scenario_carriers(number) == [code]


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize(
    ("name", "final"),
    [("pickup_point", "DE"), ("failed_attempt", "DE"), ("exception_returned", "EX")],
)
async def test_a_simulated_connection_walks_the_journeys(code: str, name: str, final: str) -> None:
    scenario = BY_NAME[name]
    number = sandbox_number(code, scenario)
    seen: list[str] = []
    known = Known("UN", None, sequence=0, settled=False, newest_event_at=None)
    for hours in range(0, 100, 2):
        now = SINCE + timedelta(hours=hours)
        carrier = SandboxCarrier(clock=lambda: now)  # noqa: B023 (used within the iteration)
        context = ConnectionContext(connection_id=1, carrier_code=code, simulated=True)
        result = (await carrier.track(context, [TrackRequest(number, since=SINCE)]))[number]
        status = "NY" if result is NOT_FOUND else observe(known, result).status_code
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen[-1] == final
    assert seen == scenario.status_walk()
