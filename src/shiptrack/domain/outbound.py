"""Which destinations shiptrack may dial: the outbound policy (rules only, no I/O).

Every URL a user controls — webhook URLs, a carrier connection's ``base_url`` — is judged here,
when it is saved and again when it is dialled (``shiptrack.outbound`` does the I/O). By default
only public addresses are permitted: loopback, private, link-local (cloud metadata such as
``169.254.169.254`` and ``fd00:ec2::254``), shared (CGNAT), multicast, reserved, unspecified,
documentation and benchmarking addresses are refused, and IPv6 forms that carry an IPv4 address
(IPv4-mapped, IPv4-compatible, NAT64) are judged as the IPv4 address they reach.

Exceptions come from two settings: ``allow_private`` (``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE``) opens
loopback and private ranges, for development and tests; the allow-list
(``SHIPTRACK_OUTBOUND_ALLOW``) names networks and host names that may be reached. Link-local and
metadata addresses are the one thing neither opens by accident: only a listed network lying inside
their own range (``169.254.169.254/32``, ``fe80::/64``...) permits them.

Hosts are judged exactly as the HTTP client will dial them (after its IDNA normalisation): a host
that is not plain ASCII, or a number that is not a canonical dotted quad (``127.1``,
``0x7f000001``, ``2130706433``, ``0177.0.0.1``, which resolvers read as addresses), is refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Kind(Enum):
    """What an address is, as far as dialling it is concerned."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    #: Shared address space (CGNAT, 100.64.0.0/10): private to a provider, and home of some cloud
    #: metadata services (Alibaba's 100.100.100.200), so ``allow_private`` does not open it.
    SHARED = "shared"
    #: Link-local and cloud metadata: reachable only when listed explicitly.
    SENSITIVE = "link-local or metadata"
    #: Multicast, reserved, unspecified, documentation, benchmarking, deprecated transition.
    BLOCKED = "reserved"


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


#: Link-local ranges and cloud metadata addresses (AWS, Azure, GCP, Oracle: 169.254.169.254;
#: AWS IPv6: fd00:ec2::254 and its neighbours; Alibaba: 100.100.100.200). Checked first.
SENSITIVE_NETWORKS = _networks("169.254.0.0/16", "100.100.100.200/32", "fe80::/10", "fd00:ec2::/64")

#: Every non-public range, most specific kinds first (the first match decides).
_RANGES: tuple[tuple[Kind, tuple[IPNetwork, ...]], ...] = (
    (Kind.SENSITIVE, SENSITIVE_NETWORKS),
    (Kind.LOOPBACK, _networks("127.0.0.0/8", "::1/128")),
    (Kind.PRIVATE, _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    (Kind.SHARED, _networks("100.64.0.0/10")),
    (
        Kind.BLOCKED,
        _networks(
            "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host
            "192.0.0.0/24",  # IETF protocol assignments
            "192.0.2.0/24",  # documentation (TEST-NET-1)
            "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
            "198.18.0.0/15",  # benchmarking
            "198.51.100.0/24",  # documentation (TEST-NET-2)
            "203.0.113.0/24",  # documentation (TEST-NET-3)
            "224.0.0.0/4",  # multicast
            "240.0.0.0/4",  # reserved, and the broadcast address
            "::/128",  # unspecified
            "64:ff9b:1::/48",  # local-use NAT64
            "100::/64",  # discard-only
            "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
            "2001:db8::/32",  # documentation
            "2002::/16",  # 6to4 (deprecated)
            "3fff::/20",  # documentation
            "5f00::/16",  # SRv6 SIDs
            "fec0::/10",  # site-local (deprecated)
            "ff00::/8",  # multicast
        ),
    ),
)
#: Only global unicast IPv6 (2000::/3) can be public; everything outside it is blocked.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_LOOPBACK_NAMES = ("localhost",)
#: Names that never resolve (RFC 6761 asks resolvers to answer "no such name" without asking).
_NEVER_RESOLVES = ("invalid",)
#: Names for private use only (ICANN reserved ``.internal`` in 2024; ``.localhost`` is loopback).
_PRIVATE_USE = ("internal",)

_HOST_NAME = re.compile(
    r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*"
)
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_DOTTED_QUAD = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)


class HostRefused(ValueError):
    """A host that cannot be judged safely, so it is never dialled; the message says why."""


@dataclass(frozen=True, slots=True)
class Host:
    """A host exactly as the HTTP client dials it: a literal address, or a lower-case name
    without trailing dots."""

    name: str
    address: IPAddress | None = None


def read_host(raw_host: str) -> Host:
    """Read the host the HTTP client will dial (after its IDNA normalisation).

    Raises :class:`HostRefused` for a host that is not plain ASCII, is not a valid host name, or
    is a number that is not a canonical dotted quad (``127.1``, ``0x7f000001``, ``2130706433``,
    ``0177.0.0.1``: resolvers read those as addresses, in ways that differ between libraries).
    """
    if not raw_host.isascii():
        raise HostRefused("is not a plain ASCII host name")
    host = raw_host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        return Host(host, _ipv6_literal(host))
    name = host.rstrip(".")
    if not name or not _HOST_NAME.fullmatch(name):
        raise HostRefused("is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        if host != name or not _DOTTED_QUAD.fullmatch(name):
            raise HostRefused("is a number that is not a dotted-quad IPv4 address")
        return Host(name, ipaddress.IPv4Address(name))
    return Host(name)


def _ipv6_literal(host: str) -> ipaddress.IPv6Address:
    # A zone ("%25eth0" in a URL) only ever goes with link-local addresses; judge the address.
    text = host.replace("%25", "%").split("%", 1)[0]
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise HostRefused("is not a valid IPv6 address") from None


def parse_address(address: str | IPAddress) -> IPAddress:
    """An address from a resolver or a socket (an IPv6 zone such as ``%eth0`` is dropped)."""
    if isinstance(address, str):
        return ipaddress.ip_address(address.split("%", 1)[0])
    return address


def reached_address(address: IPAddress) -> IPAddress:
    """The address a connection to ``address`` actually reaches: the IPv4 address inside an
    IPv4-mapped, IPv4-compatible or NAT64 IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _IPV4_MAPPED or address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address in _IPV4_COMPATIBLE and int(address) > 1:
            return ipaddress.IPv4Address(int(address))
    return address


@lru_cache(maxsize=4096)
def kind_of(address: IPAddress) -> Kind:
    """What an address is (IPv6 forms carrying an IPv4 address are judged by that address)."""
    address = reached_address(address)
    for kind, networks in _RANGES:
        if any(address in network for network in networks if network.version == address.version):
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return Kind.BLOCKED
    return Kind.PUBLIC


class Verdict(Enum):
    """What to do with a host before any address is known."""

    #: Dial it (a permitted address, or a listed name).
    DIAL = "dial"
    #: Never dial it.
    REFUSE = "refuse"
    #: A name: judge every address it resolves to.
    RESOLVE = "resolve"
    #: A name that never resolves (``.invalid``): no lookup is needed to know.
    UNRESOLVABLE = "unresolvable"


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which destinations may be dialled. The default refuses everything but public addresses."""

    #: ``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE``: loopback and private ranges (never link-local).
    allow_private: bool = False
    #: Listed networks: every address inside may be dialled (link-local and metadata addresses
    #: only by a listed network lying inside their own range).
    networks: tuple[IPNetwork, ...] = ()
    #: Listed host names: may resolve to any address but a link-local or metadata one.
    names: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, *, allow_private: bool, allow_list: str) -> OutboundPolicy:
        """The policy of ``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE`` and ``SHIPTRACK_OUTBOUND_ALLOW``."""
        networks, names = parse_allow_list(allow_list)
        return cls(allow_private=allow_private, networks=networks, names=names)

    def permits(self, address: str | IPAddress, *, name: str | None = None) -> bool:
        """Whether ``address`` may be dialled (reached through the host ``name``, if one).

        A string that is not an address is never permitted.
        """
        try:
            ip = reached_address(parse_address(address))
        except ValueError:
            return False
        return _permits(self, ip, name)

    def judge(self, host: Host) -> Verdict:
        """What to do with a host before resolving it."""
        if host.address is not None:
            return Verdict.DIAL if self.permits(host.address) else Verdict.REFUSE
        if host.name in self.names:
            return Verdict.DIAL
        if _under(host.name, _LOOPBACK_NAMES):
            loopback = ("127.0.0.1", "::1")
            return Verdict.DIAL if any(self.permits(a) for a in loopback) else Verdict.REFUSE
        if _under(host.name, _NEVER_RESOLVES):
            return Verdict.UNRESOLVABLE
        if _under(host.name, _PRIVATE_USE) and not self.allow_private:
            return Verdict.REFUSE
        return Verdict.RESOLVE


@lru_cache(maxsize=65536)
def _permits(policy: OutboundPolicy, ip: IPAddress, name: str | None) -> bool:
    kind = kind_of(ip)
    if kind is Kind.SENSITIVE:
        return any(ip in listed and _inside_sensitive(listed) for listed in policy.networks)
    if kind is Kind.PUBLIC:
        return True
    if policy.allow_private and kind in (Kind.LOOPBACK, Kind.PRIVATE):
        return True
    if name is not None and name in policy.names and kind is not Kind.BLOCKED:
        return True
    return any(ip in listed for listed in policy.networks if listed.version == ip.version)


def _inside_sensitive(listed: IPNetwork) -> bool:
    """Whether a listed network lies wholly inside a link-local or metadata range (so listing
    ``0.0.0.0/0`` or ``fc00::/7`` never opens the metadata service by accident)."""
    return any(
        zone.version == listed.version
        and zone.network_address <= listed.network_address  # type: ignore[operator]
        and listed.broadcast_address <= zone.broadcast_address  # type: ignore[operator]
        for zone in SENSITIVE_NETWORKS
    )


def _under(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(name == suffix or name.endswith("." + suffix) for suffix in suffixes)


#: The policy when nothing is configured: public addresses only.
STRICT = OutboundPolicy()


@lru_cache(maxsize=64)
def parse_allow_list(text: str) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """Networks and host names from ``SHIPTRACK_OUTBOUND_ALLOW``
    (``10.0.0.0/8,hooks.internal,192.168.1.5``; an address alone is a one-address network).

    Raises :class:`ValueError` naming the first entry that is neither.
    """
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        networks_or_name = _allow_entry(entry)
        if isinstance(networks_or_name, str):
            names.add(networks_or_name)
        else:
            networks.append(networks_or_name)
    return tuple(networks), frozenset(names)


def _allow_entry(entry: str) -> IPNetwork | str:
    text = entry.lower().removeprefix("[").replace("]/", "/").removesuffix("]")
    if "/" in text or ":" in text or _DOTTED_QUAD.fullmatch(text):
        try:
            return ipaddress.ip_network(text)
        except ValueError as error:
            raise ValueError(
                f"SHIPTRACK_OUTBOUND_ALLOW entry {entry!r} is not a network: {error} "
                "(write a network as 10.0.0.0/8, an address as 192.168.1.5)"
            ) from None
    try:
        host = read_host(text)
    except HostRefused as error:
        raise ValueError(
            f"SHIPTRACK_OUTBOUND_ALLOW entry {entry!r} is neither a network nor a host name: "
            f"it {error}"
        ) from None
    return host.name
