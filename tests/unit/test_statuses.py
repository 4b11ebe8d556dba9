"""The status enums are exactly the official ones, with their official descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shiptrack.domain.statuses import (
    STATUS_DETAIL_DESCRIPTIONS,
    StatusCode,
    status_description,
    status_detail_description,
)

SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"


def _schemas() -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    schemas: dict[str, dict[str, Any]] = loaded["components"]["schemas"]
    return schemas


def test_status_codes_match_the_spec() -> None:
    assert {code.value for code in StatusCode} == set(_schemas()["status_code"]["enum"])


def test_status_detail_codes_match_the_spec() -> None:
    assert set(STATUS_DETAIL_DESCRIPTIONS) == set(_schemas()["status_detail_code"]["enum"])


def test_descriptions_are_the_official_texts() -> None:
    description = str(_schemas()["status_detail_code"]["description"])
    flattened = " ".join(description.split())
    for code, text in STATUS_DETAIL_DESCRIPTIONS.items():
        assert f"`{code}` | {text}" in flattened, code
    assert status_description("SP") == "Delivered To Collection Location"
    assert status_description("XX") is None
    assert status_detail_description(None) is None
