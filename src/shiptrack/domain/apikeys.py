"""API keys: how they are made and how they are recognised.

A key carries 256 random bits, so a single SHA-256 is a sufficient hash to store: there is nothing
to brute-force that a slow hash would protect. The key itself is shown once and never stored.
"""

from __future__ import annotations

import hashlib

from shiptrack.domain.tokens import random_token

SANDBOX_PREFIX = "TEST_"
#: How many leading characters of a key are stored in clear, to tell keys apart when listing them.
DISPLAY_PREFIX_LENGTH = 10


def generate_api_key(*, sandbox: bool) -> str:
    """A new random key; sandbox keys start with ``TEST_`` and production keys never do, and no
    key starts with ``-`` (see :mod:`shiptrack.domain.tokens`)."""
    while True:
        body = random_token()
        if sandbox:
            return SANDBOX_PREFIX + body
        if not body.startswith(SANDBOX_PREFIX):
            return body


def hash_api_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key kept in clear, enough to recognise it in a listing."""
    return key[:DISPLAY_PREFIX_LENGTH]
