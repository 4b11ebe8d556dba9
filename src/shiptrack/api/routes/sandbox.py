"""``/v1/sandbox/scenarios``: the sandbox carrier's magic tracking numbers (extension)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shiptrack.api.deps import AccountDep, SettingsDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.carriers.scenarios import DEFAULT_SCENARIO, NUMBER_FORMATS, SCENARIOS, sandbox_number
from shiptrack.domain.errors import Forbidden

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"], responses=ERRORS)


@router.get(
    "/scenarios",
    operation_id="list_sandbox_scenarios",
    summary="List sandbox scenarios (shiptrack extension, sandbox keys only)",
    response_class=JSON,
    dependencies=[Depends(strict_query())],
)
async def list_scenarios(settings: SettingsDep, account: AccountDep) -> JSON:
    """Every simulated journey: its tracking number per carrier code, what happens, and the status
    codes a subscriber sees in order. Any other number on a sandbox carrier is a plain delivery."""
    if not account.sandbox:
        raise Forbidden("Sandbox scenarios are only available to sandbox (TEST_) API keys")
    return JSON(
        {
            "sandbox_speed": settings.sandbox_speed,
            "default_scenario": DEFAULT_SCENARIO.name,
            "scenarios": [
                {
                    "name": scenario.name,
                    "description": scenario.description,
                    "status_codes": scenario.status_walk(),
                    "journey_hours": max((s.visible_from for s in scenario.steps), default=0),
                    "tracking_numbers": {
                        code: sandbox_number(code, scenario) for code in NUMBER_FORMATS
                    },
                }
                for scenario in SCENARIOS
            ],
        }
    )
