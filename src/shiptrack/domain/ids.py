"""ShipEngine ``se-…`` identifiers.

Every resource shiptrack exposes is identified as ``se-<decimal row id>``, which satisfies the
official ``se_id`` pattern ``^se(-[a-z0-9]+)+$`` and its 25-character limit.
"""

from __future__ import annotations

import re

from shiptrack.domain.errors import InvalidIdentifier

_SE_ID = re.compile(r"^se(-[a-z0-9]+)+$")
_OURS = re.compile(r"^se-([1-9][0-9]{0,17})$")
MAX_LENGTH = 25


def format_id(row_id: int) -> str:
    """The public ``se-`` form of a row id."""
    return f"se-{row_id}"


def parse_id(value: str, *, field_name: str) -> int | None:
    """The row id behind a public id.

    Raises :class:`InvalidIdentifier` when ``value`` is not an ``se_id`` at all (a client error),
    and returns ``None`` for a well-formed ``se_id`` that shiptrack never issues, which callers
    answer with ``404`` like any other id that is not in the caller's account.
    """
    if len(value) > MAX_LENGTH or not _SE_ID.fullmatch(value):
        raise InvalidIdentifier(
            f"{field_name} must be an identifier like 'se-123456', got {value[:40]!r}",
            field_name=field_name,
        )
    match = _OURS.fullmatch(value)
    return int(match.group(1)) if match else None
