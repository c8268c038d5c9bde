"""What the lab knows of itself: the client's addresses, routes and settings, the
router's addresses, the facts the oracle judges with. A part of `netns.lab.Lab`."""

from __future__ import annotations

import ipaddress
from contextlib import AbstractContextManager

from netns import sysctls
from netns.errors import LabError
from netns.monitor import NetlinkWakeup
from netns.oracle import Endpoint, WireFacts
from netns.procs import Daemon
from netns.topology import LANS, UPLINK
from netns.wait import Wake, until


class LabFacts:
    """The lab's facts, read from its hosts' kernels (a mixin of `Lab`)."""

    uplink = UPLINK  # the client's interface to the LAN (a guest names its own)

    def client_wake(self) -> AbstractContextManager[Wake | None]:
        """What announces a change of the client's links, addresses and routes (`wait.until`)."""
        return NetlinkWakeup(self.client.namespace)

    def client_mac(self) -> str:
        mac = self.client.interface(self.uplink).mac
        if mac is None:
            raise LabError(f"the client's uplink `{self.uplink}` is gone (deleted on the client)")
        return mac

    def client_sysctls(self) -> dict[str, str]:
        """The client's pinned kernel network settings as they are now (`netns.sysctls`)."""
        return sysctls.read(self.client, [self.uplink])

    def client_addresses(self, family: int = 2) -> list[str]:
        """The client's usable addresses on its uplink (2 = IPv4, 10 = IPv6; global scope)."""
        return self.client.interface(self.uplink).addresses(family)

    def client_routes(self, family: int = 2, table: int = 254) -> list[tuple[str, str | None]]:
        """(destination/prefix, gateway) of the client's routes in `table` (main)."""
        return self.client.routes(family, table)

    def client_has_carrier(self) -> bool:
        return self.client.interface(self.uplink).carrier

    def router_addresses(self) -> frozenset[str]:
        """Every address the router has on the LANs the client can be on."""
        found = set()
        lans = {**LANS, self.lan.name: self.lan}.values()
        with self.router.iproute() as ipr:
            for lan in lans:
                index = ipr.link_lookup(ifname=lan.bridge)[0]
                found |= {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)}
        return frozenset(found | {lan.gateway4 for lan in lans} | {lan.gateway6 for lan in lans})

    def lan_resolvers(self) -> dict[str, Daemon]:
        """The ISP's resolvers (the router's dnsmasq on each LAN it served), by address."""
        lans = {**LANS, self.lan.name: self.lan}
        return {lans[name].gateway4: daemon for name, daemon in self._dnsmasq.items()}

    def wire_facts(self) -> WireFacts:
        """What the oracle needs to judge this lab's capture."""
        tunnels = (self.tunnel, self.other_tunnel)
        return WireFacts(
            client_mac=self.client_mac(),
            router_addresses=self.router_addresses(),
            endpoints=tuple(
                dict.fromkeys(
                    Endpoint(t.endpoint_ip, t.endpoint_port, t.endpoint_protocol)
                    for t in tunnels
                    if t is not None
                )
            ),
            tunnel_addresses=frozenset(
                a.split("/")[0]
                for t in tunnels
                if t is not None
                for a in (t.address4, t.address6)
                if a
            ),
        )

    def wait_client_ipv6(self, timeout: float = 15.0, *, required: bool = True) -> str | None:
        """Wait for a SLAAC address in the LAN's prefix and an IPv6 default route.

        A client whose IPv6 is switched off (a kill switch may do that) takes
        none: then there is nothing to wait for, and None comes back. Not
        `required`, a client that has taken none by the timeout (its firewall
        may drop the announcements) gives None too, instead of an error.
        """
        disabled = self.client.run("cat /proc/sys/net/ipv6/conf/%s/disable_ipv6", self.uplink)
        if disabled.stdout != "0\n":
            return None
        prefix = ipaddress.ip_network(self.lan.prefix6)

        def ready() -> str | None:
            addresses = [a for a in self.client_addresses(10) if ipaddress.ip_address(a) in prefix]
            default = any(dst == "::/0" for dst, _ in self.client_routes(10))
            return addresses[0] if addresses and default else None

        try:
            with self.client_wake() as wake:
                return until(
                    "the client's SLAAC address and IPv6 default route", ready, timeout, wake=wake
                )
        except LabError:
            if required:
                raise
            return None
