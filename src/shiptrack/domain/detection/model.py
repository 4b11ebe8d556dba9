"""What detection answers: the candidates of a tracking number and how an account ranks them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A format a tracking number matches, and the carrier it belongs to."""

    #: shiptrack's carrier code (``ups``, ``fedex``, ...), ``None`` for a courier it cannot track.
    carrier_code: str | None
    #: The courier's name in the data (``UPS``, ``Canada Post``, ...).
    carrier_name: str
    #: The format's name in the data (``FedEx Express (12)``).
    format: str
    #: The format's id in the data (``fedex_12``).
    format_id: str
    #: Whether the check digit validated; ``None`` when the format has none.
    checksum_valid: bool | None
    #: ``high``: a check digit validated; ``medium``: a format without one; ``low``: the shape
    #: matches but the check digit does not (or another rule of the format failed).
    confidence: Confidence
    #: The courier's own tracking page for this number, when the data gives one.
    tracking_url: str | None


@dataclass(frozen=True, slots=True)
class Detection:
    """What a tracking number was detected as."""

    #: The number as matched: whitespace and dashes removed, upper-cased.
    tracking_number: str
    #: Every matching format, validated check digits first, then formats without one, then
    #: loose matches (each group in the data's order).
    candidates: tuple[Candidate, ...]


def rank_for_account(
    candidates: Sequence[Candidate], connected: Collection[str]
) -> list[Candidate]:
    """``candidates`` as an account sees them: validated check digits first, then the carriers
    the account has connected (``connected``: carrier codes), then the rest; within each,
    the order of :func:`detect`."""
    order = {"high": 0, "medium": 1, "low": 2}

    def key(ranked: tuple[int, Candidate]) -> tuple[bool, bool, int, int]:
        position, candidate = ranked
        return (
            candidate.checksum_valid is not True,
            candidate.carrier_code not in connected,
            order[candidate.confidence],
            position,
        )

    return [candidate for _, candidate in sorted(enumerate(candidates), key=key)]
