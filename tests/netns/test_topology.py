"""Network safety: every address the lab uses is in a documentation or benchmark range."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from netns import topology

# RFC 5737 (TEST-NET-1/2/3), RFC 2544 (benchmarking), RFC 3849 (IPv6 documentation).
ALLOWED = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")
]
# The LAN's pushed DNS servers (case dns.lan-pushed): unique-local, on the router's
# LAN bridge only, never routed off the client's wire (docs/design.md, network safety).
LOCAL_ONLY = ipaddress.ip_network(topology.LAN_ULA6)
ADDRESS = re.compile(r"[\"'](\d+\.\d+\.\d+\.\d+(?:/\d+)?|[0-9a-f]*:[0-9a-f:]*(?:/\d+)?)[\"']")


def addresses(text: str) -> list[str]:
    """Literal addresses in source text (strings that parse as an address or prefix)."""
    found = []
    for candidate in ADDRESS.findall(text):
        try:
            ipaddress.ip_network(candidate, strict=False)
        except ValueError:
            continue
        found.append(candidate)
    return found


def allowed(text: str) -> bool:
    network = ipaddress.ip_network(text, strict=False)
    if network.version == 6 and (network.subnet_of(LOCAL_ONLY) or network.is_link_local):
        return True
    return any(network.subnet_of(a) for a in ALLOWED if a.version == network.version)


def test_every_address_of_the_topology_is_a_documentation_address() -> None:
    found = addresses(Path(topology.__file__).read_text())
    assert len(found) > 20
    assert [a for a in found if not allowed(a)] == []


def names_no_host(text: str) -> bool:
    """A default or half-default route, a netmask, or an address that never leaves a link."""
    network = ipaddress.ip_network(text, strict=False)
    address = network.network_address
    netmask = network.version == 4 and network.prefixlen == 32 and str(address).startswith("255.")
    return (
        (network.prefixlen <= 1 and "/" in text)
        or netmask
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
    )


# The private ranges a kill switch's "allow the LAN" rule matches: the enforcer's
# renderers name them in rules, and nothing sends a packet to them.
LAN_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7"}


def test_every_address_in_the_lab_and_suite_sources_is_a_documentation_address() -> None:
    root = Path(topology.__file__).resolve().parents[1]
    bad = [
        f"{source.relative_to(root)}: {text}"
        for folder in ("netns", "conformance", "enforcer", "vms")
        for source in (root / folder).rglob("*.py")
        for text in addresses(source.read_text())
        if not allowed(text)
        and not names_no_host(text)
        and not (folder == "enforcer" and text in LAN_RANGES)
    ]
    assert bad == []
