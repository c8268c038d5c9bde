"""Triggers of the attacks published since the seed (issue 13), each built from the
verbs of a running case, as `conformance.triggers`' are (they join its TRIGGERS)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from netns.topology import WEB

if TYPE_CHECKING:
    from conformance.case_run import CaseRun

# The internet hosts' IPv6 prefix, announced as a more specific route than the tunnel's.
ANNOUNCED_ROUTE = str(ipaddress.ip_network(f"{WEB.address6}/48", strict=False))


def connected_then_crash(run: CaseRun) -> Iterator[None]:
    """The applications send while connected, and again once every process of the subject died."""
    run.trigger("applications send while connected; then every process of the subject dies")
    yield
    run.crash_everything()
    yield


def tunnel_address_probed(run: CaseRun) -> Iterator[None]:
    run.trigger("the LAN probes for the client's tunnel address")
    run.probe_tunnel_address()
    yield


def lan_pushes_dns(run: CaseRun) -> Iterator[None]:
    run.trigger("the LAN pushes IPv6 DNS servers (RDNSS, then DHCPv6)")
    run.announce_rdnss()
    yield
    run.offer_dhcp6_dns()
    yield


def route_information(run: CaseRun) -> Iterator[None]:
    run.trigger("the router announces a route for the internet's prefix (RFC 4191)")
    run.announce_route(ANNOUNCED_ROUTE)
    yield


TRIGGERS: dict[str, Callable[[CaseRun], Iterator[None]]] = {
    fn.__name__: fn
    for fn in (connected_then_crash, tunnel_address_probed, lan_pushes_dns, route_information)
}
