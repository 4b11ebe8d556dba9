"""The outbound policy (``shiptrack.domain.outbound``) and how a URL's host is read for it
(``shiptrack.outbound.destinations.dial_host``, which parses exactly as the HTTP client does).

Covers: every address kind that must never be dialled by default (loopback, private, link-local
and cloud metadata, CGNAT, multicast, reserved, documentation, benchmarking, 6to4/Teredo, IPv4
inside IPv6: mapped, compatible, NAT64) and public neighbours; every spelling of a blocked host —
literal, bracketed, IPv4-mapped, legacy numeric (``127.1``, ``0x7f000001``, ``2130706433``,
``0177.0.0.1``), trailing dots, special names, and Unicode look-alikes that the client normalises
to ASCII (segmented digits, fullwidth digits and stops, mathematical and circled digits...); what
``allow_private`` opens and what it never opens (metadata); the allow-list's networks and names,
metadata only when listed inside its own range; and the allow-list parser's errors, which name the
bad entry, also when the settings are read.
"""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from shiptrack.domain.outbound import (
    STRICT,
    HostRefused,
    Kind,
    OutboundPolicy,
    Verdict,
    kind_of,
    parse_allow_list,
    read_host,
)
from shiptrack.outbound.destinations import dial_host
from shiptrack.settings import Settings

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "169.254.169.254",
    "169.254.170.2",
    "100.64.0.1",
    "100.127.255.255",
    "100.100.100.200",
    "198.18.0.1",
    "198.19.255.255",
    "192.0.0.8",
    "192.0.2.10",
    "192.88.99.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "2002:7f00:1::1",  # 6to4 (of 127.0.0.1)
    "2002:808:808::1",  # 6to4 is refused even around a public address
    "2001:0:4136:e378::1",  # Teredo
    "5f00::1",
    "4000::1",  # outside global unicast
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "198.20.0.1",
    "223.255.255.254",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8: how IPv6-only hosts reach the IPv4 internet
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert STRICT.permits(address) is False
    assert STRICT.permits(ipaddress.ip_address(address.split("%")[0])) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address: str) -> None:
    assert STRICT.permits(address) is True
    assert kind_of(ipaddress.ip_address(address)) is Kind.PUBLIC


def test_something_that_is_not_an_address_is_never_permitted() -> None:
    assert STRICT.permits("example.com") is False
    assert STRICT.permits("") is False


# --- every spelling of a blocked host ----------------------------------------------------------

#: URLs whose host is, however written, an address (or name) refused by default. The Unicode ones
#: are what the HTTP client dials after its IDNA/UTS-46 normalisation.
REFUSED_URLS = [
    "http://127.0.0.1:8080/hooks/track",
    "http://127.8.9.10/",
    "http://localhost/hooks",
    "http://LOCALHOST:9000/hooks",
    "http://localhost./",
    "http://localhost../",
    "http://api.localhost/",
    "http://metadata.internal/",
    "http://metadata.google.internal./",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "https://255.255.255.255/",
    "http://[::1]/",
    "http://[::1]:8080/hooks",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[::]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.0.0.01/",
    "http://127.0.0.1./",
    "http://user:pw@127.0.0.1/",
    "http://example.com@127.0.0.1/",
    # Unicode look-alikes the client turns into ASCII digits, stops and letters.
    "http://\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1/",  # segmented digits
    "http://\U0001ccf1\U0001ccf0.\U0001ccf0.\U0001ccf0.\U0001ccf1/",  # outlined digits: 10.0.0.1
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",  # fullwidth digits and stops
    "http://127\u30020\u30020\u30021/",  # ideographic full stops
    "http://127\uff610\uff610\uff611/",  # halfwidth ideographic full stops
    "http://\U0001d7cf\U0001d7d4\U0001d7d7.\U0001d7d0\U0001d7d3\U0001d7d2."
    "\U0001d7cf\U0001d7d4\U0001d7d7.\U0001d7d0\U0001d7d3\U0001d7d2/",  # bold 169.254.169.254
    "http://\u00b9\u00b2\u2077.0.0.1/",  # superscripts
    "http://\u2460\u2461\u2466.0.0.1/",  # circled digits
    "http://1\uff12\U0001fbf7.0.0.1/",  # mixed
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/",  # circled "localhost"
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # fullwidth "localhost"
    "http://\uff3b::1\uff3d/",  # fullwidth brackets
    "http://[::1\uff3d/",
    "http://[\uff1a\uff1a1]/",  # fullwidth colons
]


def judged(url: str) -> Verdict:
    """What the strict policy does with the host the client would dial for ``url``."""
    try:
        return STRICT.judge(dial_host(url))
    except HostRefused:
        return Verdict.REFUSE


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_every_spelling_of_a_blocked_host_is_refused(url: str) -> None:
    assert judged(url) is Verdict.REFUSE


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1/", "127.0.0.1"),
        ("http://\uff11\uff10\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "10.0.0.1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
        ("http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:80/", "localhost"),
        ("https://Hooks.Example.COM./x", "hooks.example.com"),
    ],
)
def test_the_host_judged_is_the_one_the_client_dials(url: str, host: str) -> None:
    assert dial_host(url).name == host


@pytest.mark.parametrize(
    "raw_host",
    ["h\u00e9.example", "127.0.0.1\u200b", "exa mple.com", "a..b", "-a.example", "%31.0.0.1", ""],
)
def test_hosts_that_are_not_plain_ascii_host_names_are_refused(raw_host: str) -> None:
    with pytest.raises(HostRefused):
        read_host(raw_host)


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://93.184.215.14/hook", Verdict.DIAL),
        ("https://[2606:4700:4700::1111]:8443/hook", Verdict.DIAL),
        ("https://hooks.example.com/track", Verdict.RESOLVE),
        ("https://xn--bcher-kva.example/track", Verdict.RESOLVE),
        ("https://b\u00fccher.example/track", Verdict.RESOLVE),  # IDNA: xn--bcher-kva.example
        ("https://receiver.invalid/hooks", Verdict.UNRESOLVABLE),
    ],
)
def test_public_addresses_dial_and_names_are_resolved_then_judged(
    url: str, verdict: Verdict
) -> None:
    assert judged(url) is verdict


# --- allow_private ------------------------------------------------------------------------------

PRIVATE_ALLOWED = OutboundPolicy(allow_private=True)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "fd12::1"]
)
def test_allow_private_opens_loopback_and_private_ranges(address: str) -> None:
    assert PRIVATE_ALLOWED.permits(address) is True


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "fd00:ec2::254",
        "fe80::1",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_allow_private_never_opens_metadata_link_local_shared_or_reserved(address: str) -> None:
    assert PRIVATE_ALLOWED.permits(address) is False


def test_allow_private_lets_loopback_and_internal_names_through_to_resolution() -> None:
    assert PRIVATE_ALLOWED.judge(read_host("localhost")) is Verdict.DIAL
    assert PRIVATE_ALLOWED.judge(read_host("db.internal")) is Verdict.RESOLVE
    assert STRICT.judge(read_host("db.internal")) is Verdict.REFUSE


# --- the allow-list -----------------------------------------------------------------------------


def allowing(entries: str, *, allow_private: bool = False) -> OutboundPolicy:
    return OutboundPolicy.from_settings(allow_private=allow_private, allow_list=entries)


def test_a_listed_network_permits_its_addresses_only() -> None:
    policy = allowing("10.0.0.0/8, 192.168.1.5")
    assert policy.permits("10.20.30.40") is True
    assert policy.permits("::ffff:10.20.30.40") is True
    assert policy.permits("192.168.1.5") is True
    assert policy.permits("192.168.1.6") is False
    assert policy.permits("127.0.0.1") is False
    assert policy.judge(read_host("10.0.0.1")) is Verdict.DIAL


def test_listing_loopback_lets_localhost_through() -> None:
    policy = allowing("127.0.0.0/8")
    assert policy.judge(read_host("localhost")) is Verdict.DIAL
    assert policy.permits("127.0.0.1", name="localhost") is True
    assert policy.permits("::1", name="localhost") is False


def test_a_listed_name_may_resolve_to_private_addresses_but_only_under_that_name() -> None:
    policy = allowing("hooks.internal,carrier-proxy")
    assert policy.judge(read_host("hooks.internal")) is Verdict.DIAL
    assert policy.judge(read_host("HOOKS.internal.")) is Verdict.DIAL
    assert policy.judge(read_host("other.internal")) is Verdict.REFUSE
    assert policy.permits("10.0.0.7", name="hooks.internal") is True
    assert policy.permits("127.0.0.1", name="carrier-proxy") is True
    assert policy.permits("10.0.0.7", name="other.example") is False
    assert policy.permits("10.0.0.7") is False


def test_a_listed_name_never_reaches_metadata_or_reserved_addresses() -> None:
    policy = allowing("hooks.internal")
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "0.0.0.0", "::"):
        assert policy.permits(address, name="hooks.internal") is False, address


@pytest.mark.parametrize(
    ("entries", "address"),
    [
        ("169.254.169.254", "169.254.169.254"),
        ("169.254.0.0/16", "169.254.169.254"),
        ("fd00:ec2::254/128", "fd00:ec2::254"),
        ("[fe80::]/64", "fe80::1"),
        ("100.100.100.200", "100.100.100.200"),
    ],
)
def test_metadata_is_reachable_when_listed_inside_its_own_range(entries: str, address: str) -> None:
    assert allowing(entries).permits(address) is True


@pytest.mark.parametrize(
    ("entries", "address"),
    [
        ("0.0.0.0/0", "169.254.169.254"),
        ("169.0.0.0/8", "169.254.169.254"),
        ("::/0", "fd00:ec2::254"),
        ("fd00::/8", "fd00:ec2::254"),
        ("fc00::/7", "fd00:ec2::254"),
        ("100.64.0.0/10", "100.100.100.200"),
    ],
)
def test_a_wide_listed_network_never_opens_metadata(entries: str, address: str) -> None:
    policy = allowing(entries, allow_private=True)
    assert policy.permits(address) is False


def test_a_wide_listed_network_opens_everything_else_inside_it() -> None:
    policy = allowing("0.0.0.0/0,fc00::/7")
    assert policy.permits("10.0.0.1") is True
    assert policy.permits("100.64.0.1") is True
    assert policy.permits("fd12::1") is True


def test_the_allow_list_parser_reads_networks_addresses_and_names() -> None:
    networks, names = parse_allow_list(
        " 10.0.0.0/8 ,hooks.internal,, 192.168.1.5,[fd00::]/8, H.Lan."
    )
    assert networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.5/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert names == frozenset({"hooks.internal", "h.lan"})
    assert parse_allow_list("") == ((), frozenset())


@pytest.mark.parametrize(
    "entry",
    [
        "10.0.0.1/8",
        "10.0.0.0/33",
        "300.1.1.1/32",
        "*.corp.example",
        "0x7f000001",
        "127.1",
        "b\u00fc",
    ],
)
def test_a_bad_allow_list_entry_is_an_error_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match="SHIPTRACK_OUTBOUND_ALLOW") as caught:
        parse_allow_list(f"10.0.0.0/8,{entry}")
    assert repr(entry) in str(caught.value)


def test_settings_refuse_a_bad_allow_list_naming_the_entry() -> None:
    with pytest.raises(ValidationError, match=r"'10\.0\.0\.1/8'"):
        Settings(outbound_allow="10.0.0.1/8")


def test_settings_build_one_policy_from_both_settings() -> None:
    policy = Settings(webhook_allow_private=True, outbound_allow="hooks.internal").outbound_policy
    assert policy == OutboundPolicy(allow_private=True, names=frozenset({"hooks.internal"}))
    assert Settings(webhook_allow_private=False, outbound_allow="").outbound_policy == STRICT
