"""Random tokens (API keys, secret keys) never start with ``-``, where a shell or a command line
would read them as an option."""

from __future__ import annotations

import base64
import re

from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.apikeys import SANDBOX_PREFIX, generate_api_key
from shiptrack.domain.tokens import random_token
from shiptrack.sealing import generate_secret_key

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
#: 32 bytes whose URL-safe base64 starts with "-" (the first six bits are 62).
DASH_FIRST = b"\xf8" + bytes(31)


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=5))
def test_a_token_is_the_first_draw_that_does_not_start_with_a_dash(draws: list[bytes]) -> None:
    draws = [*draws, bytes(32)]  # a draw that ends it
    source = iter(draws)

    token = random_token(32, draw=lambda n: next(source))

    assert not token.startswith("-")
    assert token == next(_text(raw) for raw in draws if not _text(raw).startswith("-"))


def test_a_draw_starting_with_a_dash_is_drawn_again() -> None:
    source = iter([DASH_FIRST, DASH_FIRST, bytes(32)])

    assert _text(DASH_FIRST).startswith("-")
    assert random_token(32, draw=lambda n: next(source)) == "A" * 43


def test_generated_api_and_secret_keys_never_start_with_a_dash() -> None:
    # Each of these starts with "-" 1 time in 64 unless prevented: 3,000 of them would show it.
    production = [generate_api_key(sandbox=False) for _ in range(1000)]
    sandbox = [generate_api_key(sandbox=True) for _ in range(1000)]
    secret_keys = [generate_secret_key() for _ in range(1000)]

    for key in production + secret_keys:
        assert TOKEN.fullmatch(key), key
        assert not key.startswith(("-", SANDBOX_PREFIX)), key
    for key in sandbox:
        assert key.startswith(SANDBOX_PREFIX), key
        assert TOKEN.fullmatch(key.removeprefix(SANDBOX_PREFIX)), key
    assert len(set(production + sandbox + secret_keys)) == 3000
