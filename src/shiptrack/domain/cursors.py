"""Opaque pagination cursors: a position in an id-ordered list."""

from __future__ import annotations

import base64

from shiptrack.domain.errors import ValidationFailed


def encode_cursor(direction: str, row_id: int) -> str:
    """A cursor pointing ``direction`` (``after``/``before``) ``row_id``."""
    return base64.urlsafe_b64encode(f"{direction}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(direction: str, cursor: str) -> int:
    """The id a cursor points from; a clear 400 naming ``cursor`` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        # Ids are 64-bit: a longer number is not ours (and would overflow the database driver).
        if kind != direction or not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor is not a cursor this server gave out", field_name="cursor"
        ) from None
