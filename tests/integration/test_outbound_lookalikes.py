"""Property: however a loopback, private or metadata address is spelled with Unicode look-alikes,
the guarded client never asks for a socket to a refused address.

Hosts are built from spellings of refused destinations (``127.0.0.1``, ``10.0.0.1``,
``169.254.169.254``, ``[::1]``, ``[fd00:ec2::254]``, ``localhost``, ``0x7f000001``...) with each
character swapped for look-alikes the HTTP client may normalise to it: segmented digits
(U+1FBF0 to U+1FBF9), outlined digits (U+1CCF0 to U+1CCF9), fullwidth digits, mathematical digits
(U+1D7CE to U+1D7FF), superscripts, subscripts, circled digits, digits with a full stop (U+2488...),
fullwidth and ideographic full stops, fullwidth and small colons, fullwidth brackets, fullwidth,
circled and bold letters. Each URL goes through the save-time check and the real guarded session
(the one the webhook sender and the carriers use) with the dial intercepted underneath: a resolver
that answers numeric names as ``getaddrinfo`` would and no others, and a socket factory that
records every address and connects to none. Nothing is ever sent anywhere.
"""

from __future__ import annotations

import asyncio

import aiohttp
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.outbound import OutboundPolicy
from shiptrack.outbound.client import guarded_session
from shiptrack.outbound.destinations import check_destination
from tests.fakes.dial import RecordingSockets, Zone

TARGETS = [
    "127.0.0.1",
    "127.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "10.0.0.1",
    "192.168.0.1",
    "169.254.169.254",
    "100.100.100.200",
    "0.0.0.0",
    "localhost",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[64:ff9b::a9fe:a9fe]",
]

_SUPERSCRIPTS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
_CIRCLED = "\u24ea\u2460\u2461\u2462\u2463\u2464\u2465\u2466\u2467\u2468"


def _digit(d: int) -> list[str]:
    looks = [
        str(d),
        chr(0x1FBF0 + d),
        chr(0x1CCF0 + d),
        chr(0xFF10 + d),
        *(chr(0x1D7CE + 10 * style + d) for style in range(5)),
        _SUPERSCRIPTS[d],
        chr(0x2080 + d),
        _CIRCLED[d],
        chr(0x0660 + d),  # Arabic-Indic: stays a non-ASCII name
    ]
    if d:
        looks.append(chr(0x2487 + d))  # "1." ... "9." in one character
    return looks


def _letter(c: str) -> list[str]:
    i = ord(c) - ord("a")
    return [c, c.upper(), chr(0xFF41 + i), chr(0x24D0 + i), chr(0x1D41A + i)]


LOOKALIKES: dict[str, list[str]] = {
    **{str(d): _digit(d) for d in range(10)},
    **{c: _letter(c) for c in "abcdefhlostx"},
    ".": [".", "\uff0e", "\u3002", "\uff61", "\u2024", "\ufe52"],
    ":": [":", "\uff1a", "\ufe55", "\ufe13"],
    "[": ["[", "\uff3b"],
    "]": ["]", "\uff3d"],
}


@st.composite
def lookalike_hosts(draw: st.DrawFn) -> str:
    target = draw(st.sampled_from(TARGETS))
    return "".join(draw(st.sampled_from(LOOKALIKES.get(c, [c]))) for c in target)


async def _try(url: str, policy: OutboundPolicy) -> tuple[bool, list[str]]:
    """Whether the save-time check accepted ``url``, and every address a socket was asked for."""
    zone, sockets = Zone(), RecordingSockets()
    try:
        await check_destination(url, policy, field_name="url", resolver=zone)
        accepted = True
    except ValidationFailed:
        accepted = False
    client = guarded_session(
        policy, timeout=aiohttp.ClientTimeout(total=5), resolver=zone, socket_factory=sockets
    )
    async with client:
        try:
            async with client.post(url, data=b"{}", allow_redirects=False) as response:
                raise AssertionError(f"{url!r} was answered {response.status}")
        except (aiohttp.ClientError, OSError):
            pass
    return accepted, sockets.asked


@settings(max_examples=300, deadline=None)
@given(host=lookalike_hosts(), allow_private=st.booleans())
def test_no_lookalike_host_ever_reaches_a_refused_address(host: str, allow_private: bool) -> None:
    policy = OutboundPolicy(allow_private=allow_private)
    url = f"http://{host}:8080/hooks"

    accepted, asked = asyncio.run(_try(url, policy))

    # The save-time check may accept a spelling that is no address at all (a non-ASCII name that
    # does not resolve); then only the dial stands between it and the network, and it holds.
    assert all(policy.permits(address) for address in asked), (url, accepted, asked)
    if not allow_private:
        # By default every target is refused: no socket may even be asked for.
        assert asked == [], (url, accepted, asked)
