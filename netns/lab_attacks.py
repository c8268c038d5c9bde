"""The lab's side of the attacks published since the seed (issue 13). A part of
`netns.lab.Lab`.

The hostile LAN of TunnelCrack (Xue et al., USENIX Security 2023): a router that
hands out a subnet holding internet hosts (LocalNet), or answers the VPN server's
name with an internet host's address (ServerIP). A VPN server that refuses the
client (Mullvad's connecting and error states).

Both attacks need the router to carry what the client then sends in the clear
to the real hosts, as the paper's attacker does: it answers ARP and neighbour
solicitations for the internet hosts inside its LAN's subnet and routes them to
the internet; it forwards the tunnel's port on the spoofed address to the real
VPN server, so the tunnel still comes up.
"""

from __future__ import annotations

import ipaddress
import signal
from pathlib import Path

from netns import home, namespaces, topology
from netns.errors import LabError
from netns.host import Host
from netns.procs import Daemon
from netns.registry import ETC_NETNS
from netns.topology import (
    GUEST_ADDRESS,
    GUEST_BRIDGE,
    GUEST_GATEWAY,
    GUEST_LINK,
    GUEST_NET,
    HOSTILE_LANS,
    LANS,
    LOOPBACK,
    SERVICES,
    Lan,
)
from netns.tunnel import Tunnel
from netns.wait import until


def starting_lan(name: str) -> Lan:
    """The LAN a lab's client starts on, by name: an ordinary one or a hostile one."""
    lans = LANS | HOSTILE_LANS
    if name not in lans:
        raise LabError(f"unknown LAN {name!r} (known: {', '.join(lans)})")
    return lans[name]


class LabAttacks:
    """The hostile LAN's router, the refusing server (a mixin of `Lab`)."""

    _guest_stream: Daemon | None = None
    # The same tunnel through another server of the VPN (`switch_server`).
    other_tunnel: Tunnel | None = None

    def roles(self) -> list[str]:
        """The lab's hosts: the topology's, and the container when the lab has one."""
        return [*topology.HOSTS, *(["guest"] if self.guest else [])]

    def _start_first_lan(self) -> Daemon:
        """The client's first LAN's dnsmasq, started before the VPN server: ready at once
        when the server's address is to be asked of it, else awaited with the others."""
        daemon = self._start_lan(self.lan)
        if self.lan.name in HOSTILE_LANS:
            self._wire_localnet()
        if self.spoofed_server:
            daemon.ready()
        return daemon

    def _wire_localnet(self) -> None:
        """The router proxies the internet hosts inside its LAN's subnet to the internet."""
        lan, router = self.lan, self.router
        prefix4, prefix6 = ipaddress.ip_network(lan.prefix4), ipaddress.ip_network(lan.prefix6)
        router.sysctl(
            {
                f"net.ipv4.conf.{lan.bridge}.proxy_arp": 1,
                f"net.ipv6.conf.{lan.bridge}.proxy_ndp": 1,
            }
        )
        for service in SERVICES:
            if ipaddress.ip_address(service.address4) in prefix4:
                # A host route out of the WAN: the router then answers ARP for it (proxy ARP).
                router.run("ip route replace %s/32 via %s", service.address4, topology.NET_BB4)
            if ipaddress.ip_address(service.address6) in prefix6:
                router.run("ip -6 route replace %s/128 via %s", service.address6, topology.NET_BB6)
                router.run("ip -6 neigh replace proxy %s dev %s", service.address6, lan.bridge)

    def _spoofed_endpoint(self, port: int, protocol: str) -> str:
        """Ask the LAN's resolver for the VPN server's name; forward its answer to the server.

        The answer is an internet host's address (`topology.SPOOFED_ENDPOINT`);
        the router forwards the tunnel's port on it to the real server, as
        TunnelCrack's ServerIP attacker does, so the tunnel comes up.
        """
        answer = self.router.run(
            "dig +short +tries=1 +time=2 @%s %s A", self.lan.gateway4, topology.VPN_NAME
        ).stdout.split()
        if answer != [topology.SPOOFED_ENDPOINT]:
            raise LabError(f"the LAN's resolver answered {topology.VPN_NAME} with {answer}")
        address = answer[0]
        self.router.run(
            "nft -f -",
            input="table ip serverip {\n chain prerouting {\n"
            "  type nat hook prerouting priority dstnat; policy accept;\n"
            f"  ip daddr {address} {protocol} dport {port} dnat to {topology.VPN_ENDPOINT}\n"
            " }\n}\n",
        )
        return address

    @property
    def _refusal_flag(self) -> Path:
        """While this file exists, the OpenVPN server rejects the client's certificate."""
        return self.workdir / "run" / "refuse-client"

    def refuse_client(self, refuse: bool = True) -> None:
        """The VPN server refuses the client from now on (or accepts it again).

        WireGuard: the server forgets the client's key, so its handshakes go
        unanswered, as with a peer configured with a wrong key. OpenVPN: the
        server's verify script rejects its certificate, so its TLS handshake fails.
        """
        if self.vpn_kind == "openvpn":
            if refuse:
                self._refusal_flag.touch()
            else:
                self._refusal_flag.unlink(missing_ok=True)
            return
        wg = self.names.server_wg
        if refuse:
            self.vpn.run("wg set %s peer %s remove", wg, self._client_key)
        else:
            self.vpn.run(
                "wg set %s peer %s allowed-ips %s", wg, self._client_key, self._client_allowed
            )

    def stop_subject(self, grace: float = 5.0) -> bool:
        """SIGTERM to every process of the subject, as systemd stops a service; what has
        not exited after `grace` seconds is killed. True if all exited in time."""
        return self.subject_cgroup.terminate(grace)

    def switch_server(self) -> Tunnel:
        """The client's tunnel goes through the other server from now on (and back)."""
        self.tunnel, self.other_tunnel = self.other_tunnel, self.tunnel
        return self.tunnel

    def hold_xtables_lock(self, seconds: float) -> None:
        """Another firewall manager (firewalld, docker) takes the client's xtables lock and
        holds it `seconds`: iptables-legacy's `-w` waits on it, then fails.

        The lock is the file where the subject's iptables looks for it: in its
        sandbox, or in its VPN container.
        """
        client = self.containers if self.containers is not None else self._sandbox
        if client is None or not client.alive():
            raise LabError(
                "the xtables lock lives where the subject runs (its sandbox or its VPN "
                "container), and neither is running"
            )
        log = self.logdir / "client-xtables-lock.log"
        client.run(
            f"flock /run/xtables.lock sh -c 'echo held; exec sleep {seconds:g}' &",
            cwd=Path("/"),
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            cgroup=self._cgroup.child("client").child("firewall-manager"),
            output=log,
            timeout=5,
        )
        until("another program to hold the xtables lock", lambda: "held" in log.read_text())

    @property
    def guest_host(self) -> Host:
        return self.hosts["guest"]

    def _wire_guest(self) -> None:
        """A container on the client (if the lab has one), as Docker sets one up: a bridge,
        a veth, forwarding, and masquerade of its network out of every other link."""
        if not self.guest:
            return
        namespace = self.names.namespace("guest")
        (ETC_NETNS / namespace).mkdir(parents=True, exist_ok=True)
        (ETC_NETNS / namespace / "resolv.conf").write_text("")
        namespaces.create(namespace)
        guest = Host("guest", namespace, self._cgroup.child("guest"), self.logdir, self.transcript)
        self.hosts["guest"] = guest
        client = self.client
        with client.iproute() as ipr:
            ipr.link("add", ifname=GUEST_BRIDGE, kind="bridge")
            bridge = ipr.link_lookup(ifname=GUEST_BRIDGE)[0]
            ipr.addr("add", index=bridge, address=GUEST_GATEWAY, prefixlen=24)
            peer = {"ifname": "eth0", "net_ns_fd": namespace}
            ipr.link("add", ifname=GUEST_LINK, kind="veth", peer=peer)
            veth = ipr.link_lookup(ifname=GUEST_LINK)[0]
            ipr.link("set", index=veth, master=bridge, state="up")
            ipr.link("set", index=bridge, state="up")
        with guest.iproute() as ipr:
            eth0 = ipr.link_lookup(ifname="eth0")[0]
            ipr.addr("add", index=eth0, address=GUEST_ADDRESS, prefixlen=24)
            for index in (eth0, LOOPBACK):
                ipr.link("set", index=index, state="up")
            ipr.route("add", dst="0.0.0.0/0", gateway=GUEST_GATEWAY)
        client.sysctl({"net.ipv4.ip_forward": 1})
        client.run(
            "nft -f -",
            input="table ip guests {\n chain postrouting {\n"
            "  type nat hook postrouting priority srcnat; policy accept;\n"
            f'  ip saddr {GUEST_NET} oifname != "{GUEST_BRIDGE}" masquerade\n'
            " }\n}\n",
        )

    def _start_guest_stream(self, rate: float) -> None:
        """The container's applications send a stream of their own to the internet hosts."""
        if not self.guest:
            return
        destinations = [service.address4 for service in SERVICES]
        self._guest_stream = self.guest_host.spawn(
            "stream",
            home.module_argv("netns.stream", str(rate / 4), *destinations),
            cgroup=self._cgroup.child("guest-stream"),
        )
        self._guest_stream.wait_for_log(r"stream ready")

    def _end_guest_stream(self) -> None:
        """Stop the container's stream, however it ended (teardown)."""
        if self._guest_stream is not None:
            self._guest_stream.stop()
            self._guest_stream = None

    def _stop_guest_stream(self) -> None:
        stream, self._guest_stream = self._guest_stream, None
        if stream is None:
            return
        stream.signal(signal.SIGTERM)
        if stream.wait(timeout=10) != 0:
            raise LabError(f"the container's stream ended badly: {stream.output()[-200:]}")
