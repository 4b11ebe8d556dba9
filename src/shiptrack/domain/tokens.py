"""Random tokens that people copy into shells, files and command lines (API keys, secret keys).

URL-safe base64 without padding, so a token is one word of ``[A-Za-z0-9_-]``. A token never starts
with ``-``: on a command line (``shiptrack key revoke -Xy…``, ``export KEY=…`` in a script that
passes it on) it would read as an option.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

#: How many random bytes a token carries by default: 256 bits.
TOKEN_BYTES = 32


def random_token(
    nbytes: int = TOKEN_BYTES, *, draw: Callable[[int], bytes] = secrets.token_bytes
) -> str:
    """``nbytes`` random bytes as URL-safe base64, never starting with ``-``.

    A draw whose text would start with ``-`` (1 in 64) is thrown away and drawn again, so every
    allowed token stays equally likely; ``draw`` is the source of randomness (tests replace it).
    """
    while True:
        token = base64.urlsafe_b64encode(draw(nbytes)).rstrip(b"=").decode("ascii")
        if not token.startswith("-"):
            return token
