"""EDGE: where a fetch may lead. The operator's configured URLs are trusted; where they
redirect to, and URLs found in documents (WebSub hubs), are not: those may only reach
public addresses, checked on the address actually connected to, so a name that resolves
to a public address for the check and a private one for the connection (DNS rebinding)
gains nothing.

    with destinations(trusted={"feeds.example.org"}):   # around one request
        ...   # the transport (fetch/network.py) calls check_peer(host, address) on
              # the address it is about to connect to, and again on the connection's
              # peer before each request, so a kept-alive connection opened under
              # other rules sends nothing either

Refused: loopback, private (RFC 1918, unique local), link-local (cloud metadata at
169.254.169.254 among them), shared, multicast, reserved and unspecified addresses,
unless `allowed` names the host or a network holding the address.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_current = threading.local()


class Refused(Exception):
    """The destination is not one this fetch may reach; the message says why."""


@dataclass(frozen=True)
class Policy:
    trusted: frozenset[str] = frozenset()
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )

    def trusts(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.trusted or host in self.allowed_hosts

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in n for n in self.allowed_networks)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def allow_list(
    entries: Iterable[str],
) -> tuple[frozenset[str], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """Host names and CIDR networks (`10.1.2.0/24`, `intranet.example`) opened to fetches."""
    hosts, networks = set(), []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


@contextmanager
def destinations(trusted: Iterable[str] = (), allowed: Iterable[str] = ()) -> Iterator[None]:
    """Check every connection this thread opens inside against the rules above."""
    hosts, networks = allow_list(allowed)
    names = frozenset(h.lower().rstrip(".") for h in trusted if h)
    outer = getattr(_current, "policy", None)
    _current.policy = Policy(names, hosts, networks)
    try:
        yield
    finally:
        _current.policy = outer


def check_peer(host: str, peer: object) -> None:
    """Before connecting to `host`, and before each request on a connection to it, new
    or reused: the address (peer) must be allowed."""
    policy: Policy | None = getattr(_current, "policy", None)
    if policy is None or policy.trusts(host) or not isinstance(peer, tuple) or not peer:
        return
    address = ipaddress.ip_address(str(peer[0]).split("%")[0])
    if not policy.allows(address):
        raise Refused(f"{host} leads to a non-public address ({address})")
