"""The outbound network policy of `fetch`: which resolved addresses a function may connect to.

The check runs on addresses, after DNS resolution, in the connection step itself (see transport.py),
so a name that resolves to a private address, or re-resolves to one later, is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints (AWS, GCP, Azure, OpenStack share 169.254.169.254; AWS's IPv6
# one; Alibaba's). Most already fall in a refused range; naming them gives a clearer message.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# IPv6 forms that carry an IPv4 address a gateway may translate to (NAT64 well-known prefix).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressDenied(Exception):
    """A connection to `host` was refused because every address it resolves to is refused."""

    def __init__(self, host: str, address: IPAddress, reason: str) -> None:
        shown = host if host == str(address) else f"{host} ({address})"
        super().__init__(
            f"connections to {shown} are not allowed: {reason} "
            "(an operator can allow its range with FLUX_EDGE_NET_ALLOW)"
        )
        self.host = host
        self.address = address
        self.reason = reason


def parse_allow_list(text: str) -> tuple[IPNetwork, ...]:
    """Parse FLUX_EDGE_NET_ALLOW: comma-separated CIDRs (or single addresses); ValueError if bad."""
    networks: list[IPNetwork] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as error:
            raise ValueError(f"FLUX_EDGE_NET_ALLOW: {item!r} is not a CIDR ({error})") from None
    return tuple(networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why a public-internet-only policy refuses `address`, or None when it is a global address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = refusal_reason(embedded)
        return None if inner is None else f"{inner}, embedded in an IPv6 address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    # is_global is False for the rest of the special ranges (shared 100.64/10, documentation...).
    return None if address.is_global else "a non-public address"


class OutboundPolicy:
    """Public addresses only, plus the operator's allowed CIDRs."""

    def __init__(self, allow: Iterable[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)

    @classmethod
    def from_text(cls, allow_list: str) -> OutboundPolicy:
        """A policy from FLUX_EDGE_NET_ALLOW's text."""
        return cls(parse_allow_list(allow_list))

    def reason(self, address: IPAddress) -> str | None:
        """Why `address` is refused, or None when a function may connect to it."""
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        for candidate in candidates:
            if any(candidate.version == net.version and candidate in net for net in self.allow):
                return None
        return refusal_reason(address)

    async def resolve(self, host: str, port: int) -> list[str]:
        """The allowed addresses of `host`, in resolver order; AddressDenied if there are none.

        The caller connects to these exact addresses, never to the name again, so a second DNS
        answer (rebinding) cannot swap in an address that was not checked.
        """
        literal = _literal(host)
        if literal is not None:
            found = [literal]
        else:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            found = []
            for _family, _type, _proto, _name, sockaddr in infos:
                address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
                if address not in found:
                    found.append(address)
        allowed: list[str] = []
        first_refusal: tuple[IPAddress, str] | None = None
        for address in found:
            reason = self.reason(address)
            if reason is None:
                allowed.append(str(address))
            elif first_refusal is None:
                first_refusal = (address, reason)
        if not allowed:
            assert first_refusal is not None  # getaddrinfo raises rather than answer nothing
            raise AddressDenied(host, *first_refusal)
        return allowed


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
