"""Where a declared name may take an agent: the proxy resolves names itself and connects
only to the addresses it checked (never re-resolving, so a DNS answer that changes between
the check and the connect, "DNS rebinding", changes nothing).

Refused unless the operator allows their range: every address that is not globally routable
(loopback, RFC 1918 private, carrier-grade NAT, link-local and with it the cloud metadata
address 169.254.169.254, unique-local IPv6, multicast, reserved, unspecified), including
such addresses wrapped in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The name resolved to nothing an agent may reach; the message says why (for the agent)."""


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    inner = _embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


@dataclass(frozen=True)
class AddressPolicy:
    """The operator's exceptions: ranges of non-public addresses agents may reach (an
    internal price service), and names resolved by the operator's table first (as
    `curl --resolve`), e.g. split-horizon names."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    overrides: Mapping[str, tuple[IPAddress, ...]] | None = None

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of `host` an agent may reach, in the resolver's order."""
        if self.overrides and host in self.overrides:
            found: Sequence[IPAddress] = self.overrides[host]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise AddressRefused(f"{host} does not resolve ({exc})") from None
            found = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
        allowed = [address for address in found if self.permits(address)]
        if not allowed:
            shown = ", ".join(str(a) for a in found[:4])
            raise AddressRefused(
                f"{host} resolves to {shown}, not a public address (loopback, private, link-local and metadata addresses "
                "are refused unless the operator allows their range)"
            )
        return allowed


def policy_from(allowed_networks: list[str], resolve: Mapping[str, list[str]]) -> AddressPolicy:
    """The operator's config (`egress.allow_networks`, `egress.resolve`) as an AddressPolicy."""
    return AddressPolicy(
        allowed_networks=tuple(ipaddress.ip_network(network) for network in allowed_networks),
        overrides={name.lower(): tuple(ipaddress.ip_address(a) for a in addresses) for name, addresses in resolve.items()},
    )
