"""Carrier detection for an account: a number's candidates ranked as the account sees them
(``GET /v1/tracking/detect``), and the carrier a tracking request without ``carrier_code`` or
``carrier_id`` means, or a clear ``400`` listing what it could be.

Detection never guesses silently: a request is given a carrier only when exactly one carrier the
account has connected matches with a validated check digit (or, for a sandbox account, when the
number is one of the sandbox's scenario numbers). Everything else is an answer the client sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from shiptrack.carriers.scenarios import scenario_carriers
from shiptrack.domain.accounts import Account, Connection
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.detection import Candidate, detect, rank_for_account
from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.ids import format_id

#: The format a sandbox scenario number is reported as.
SANDBOX_FORMAT = "shiptrack sandbox scenario"


@dataclass(frozen=True, slots=True)
class AccountCandidate:
    """A candidate carrier of a number and the account's connection to it, if any."""

    candidate: Candidate
    connection: Connection | None

    def as_json(self) -> dict[str, Any]:
        """The candidate as ``GET /v1/tracking/detect`` shows it."""
        c = self.candidate
        return {
            "carrier_code": c.carrier_code,
            "carrier_name": c.carrier_name,
            "format": c.format,
            "checksum_valid": c.checksum_valid,
            "confidence": c.confidence,
            "carrier_id": format_id(self.connection.id) if self.connection else None,
            "tracking_url": c.tracking_url,
        }


def _trackable(candidate: Candidate, tracking_number: str) -> Candidate:
    """The candidate with the carrier code only when shiptrack can track that carrier today
    (the data's table already names carriers still to come), and shiptrack's own link to the
    carrier's page for those."""
    kind = CARRIERS.get(candidate.carrier_code or "")
    if kind is None:
        return replace(candidate, carrier_code=None)
    return replace(candidate, tracking_url=kind.tracking_url(tracking_number))


def _sandbox_candidates(account: Account, tracking_number: str) -> list[Candidate]:
    """A sandbox account's scenario numbers, as the carrier each belongs to."""
    if not account.sandbox:
        return []
    return [
        Candidate(
            carrier_code=code,
            carrier_name=CARRIERS[code].friendly_name,
            format=SANDBOX_FORMAT,
            format_id="sandbox",
            checksum_valid=None,
            confidence="high",
            tracking_url=CARRIERS[code].tracking_url(tracking_number),
        )
        for code in scenario_carriers(tracking_number)
    ]


def _connection_by_carrier(connections: Sequence[Connection]) -> dict[str, Connection]:
    """The connection that tracks each carrier code: the one named exactly by the code, else
    the oldest of the codes tracked under it (``stamps_com`` for ``usps``)."""
    chosen: dict[str, Connection] = {}
    for connection in connections:  # oldest first
        code = CARRIERS[connection.carrier_code].tracking_code
        exact = connection.carrier_code == code
        if code not in chosen or (exact and chosen[code].carrier_code != code):
            chosen[code] = connection
    return chosen


def account_candidates(
    account: Account, connections: Sequence[Connection], raw: str
) -> tuple[str, list[AccountCandidate]]:
    """The number as detection reads it and its candidates, ranked for the account: validated
    check digits (and sandbox scenario numbers) first, then carriers the account has connected,
    then the rest."""
    detection = detect(raw)
    number = detection.tracking_number
    by_carrier = _connection_by_carrier(connections)
    found = [_trackable(c, number) for c in detection.candidates]
    ranked = _sandbox_candidates(account, number) + rank_for_account(found, by_carrier)
    return number, [AccountCandidate(c, by_carrier.get(c.carrier_code or "")) for c in ranked]


def detected_carrier(account: Account, connections: Sequence[Connection], raw: str) -> str:
    """The carrier code a request without ``carrier_code`` means: the one connected carrier
    that matches with high confidence. Otherwise ``400 invalid_field_value`` on
    ``carrier_code``, naming the candidates."""
    number, candidates = account_candidates(account, connections, raw)
    sure = {
        c.candidate.carrier_code
        for c in candidates
        if c.connection is not None and c.candidate.confidence == "high"
    }
    if len(sure) == 1:
        (code,) = sure
        assert code is not None
        return code
    raise ValidationFailed(_why_not(number, candidates, sure), field_name="carrier_code")


def _describe(entry: AccountCandidate) -> str:
    c = entry.candidate
    check = {True: "check digit valid", False: "check digit wrong", None: "no check digit"}
    where = "connected" if entry.connection else "not connected"
    code = c.carrier_code or f"not trackable by shiptrack: {c.carrier_name}"
    return f"{code} ({c.format}, {check[c.checksum_valid]}, {where})"


def _why_not(number: str, candidates: Sequence[AccountCandidate], sure: set[str | None]) -> str:
    if not candidates:
        return (
            f"carrier_code is required: tracking number {number or '(empty)'} matches no known "
            "format; give carrier_code or carrier_id"
        )
    listed = "; ".join(_describe(c) for c in candidates)
    if len(sure) > 1:
        reason = "matches more than one connected carrier"
    else:
        reason = "matches no connected carrier with a valid check digit"
    return (
        f"carrier_code is required: tracking number {number} {reason}. Candidates: {listed}. "
        "Give carrier_code or carrier_id (GET /v1/tracking/detect lists the candidates)"
    )
