"""How a lab is built: its links and addresses, and the servers on them (the
internet's, the VPN server, each LAN's DHCP and router advertisements). A part
of `netns.lab.Lab`."""

from __future__ import annotations

from pathlib import Path

from netns import daemons, openvpn, topology
from netns.host import Host
from netns.procs import Daemon
from netns.topology import LANS, LOOPBACK, UPLINK, WAN, WIRE, Lan
from netns.tunnel import Tunnel, wireguard_keys, write_wireguard_client


class LabWiring:
    """The steps that wire the lab's hosts and start its servers (a mixin of `Lab`)."""

    def _sysctl_all(self, host: Host, forwarding: bool) -> None:
        settings: dict[str, object] = {
            "net.ipv6.conf.all.accept_dad": 0,
            "net.ipv6.conf.default.accept_dad": 0,
        }
        if forwarding:
            settings |= {"net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1}
        host.sysctl(settings)

    def _veth(self, host: Host, ifname: str, peer: Host, peer_ifname: str) -> None:
        with host.iproute() as ipr:
            ipr.link(
                "add",
                ifname=ifname,
                kind="veth",
                peer={"ifname": peer_ifname, "net_ns_fd": peer.namespace},
            )

    def _wire_net(self) -> None:
        net = self.net
        self._sysctl_all(net, forwarding=False)
        with net.iproute() as ipr:
            ipr.link("add", ifname="bb", kind="bridge")
            bb = ipr.link_lookup(ifname="bb")[0]
            # The internet hosts' addresses live on loopback: reachable, and no dummy module needed.
            srv = LOOPBACK
            ipr.addr("add", index=bb, address=topology.NET_BB4, prefixlen=24)
            ipr.addr("add", index=bb, address=topology.NET_BB6, prefixlen=64)
            for service in topology.SERVICES:
                ipr.addr("add", index=srv, address=service.address4, prefixlen=32)
                ipr.addr("add", index=srv, address=service.address6, prefixlen=128)
            for index in (bb, srv):
                ipr.link("set", index=index, state="up")

    def _attach_to_backbone(self, host: Host, port: str, addr4: str, addr6: str) -> None:
        self._veth(host, WAN, self.net, port)
        with self.net.iproute() as ipr:
            index = ipr.link_lookup(ifname=port)[0]
            ipr.link("set", index=index, master=ipr.link_lookup(ifname="bb")[0], state="up")
        with host.iproute() as ipr:
            wan = ipr.link_lookup(ifname=WAN)[0]
            ipr.addr("add", index=wan, address=addr4, prefixlen=24)
            ipr.addr("add", index=wan, address=addr6, prefixlen=64)
            for index in (wan, LOOPBACK):
                ipr.link("set", index=index, state="up")
            ipr.route("add", dst="0.0.0.0/0", gateway=topology.NET_BB4)
            ipr.route("add", dst="::/0", gateway=topology.NET_BB6, family=10)

    def _wire_vpn(self) -> None:
        self._sysctl_all(self.vpn, forwarding=True)
        self._attach_to_backbone(self.vpn, "p-vpn", topology.VPN_WAN4, topology.VPN_WAN6)
        # The other server is the same one on another address, as load balancers do.
        with self.vpn.iproute() as ipr:
            wan = ipr.link_lookup(ifname=WAN)[0]
            ipr.addr("add", index=wan, address=topology.OTHER_ENDPOINT, prefixlen=24)
        self.vpn.run(
            "nft -f -",
            input="table ip other {\n chain prerouting {\n"
            "  type nat hook prerouting priority dstnat; policy accept;\n"
            f"  ip daddr {topology.OTHER_ENDPOINT} dnat to {topology.VPN_ENDPOINT}\n"
            " }\n}\n",
        )
        with self.net.iproute() as ipr:
            ipr.route("add", dst=topology.TUNNEL4, gateway=topology.VPN_WAN4)
            ipr.route("add", dst=topology.TUNNEL6, gateway=topology.VPN_WAN6, family=10)

    def _wire_router(self) -> None:
        router = self.router
        self._sysctl_all(router, forwarding=True)
        self._attach_to_backbone(router, "p-router", topology.ROUTER_WAN4, topology.ROUTER_WAN6)
        with self.net.iproute() as ipr:
            for lan in LANS.values():
                ipr.route("add", dst=lan.prefix6, gateway=topology.ROUTER_WAN6, family=10)
        with router.iproute() as ipr:
            for lan in {**LANS, self.lan.name: self.lan}.values():
                ipr.link("add", ifname=lan.bridge, kind="bridge")
                index = ipr.link_lookup(ifname=lan.bridge)[0]
                ipr.addr("add", index=index, address=lan.gateway4, prefixlen=24)
                ipr.link("set", index=index, state="up")
        # A home router: the LANs leave to the internet behind NAT.
        router.run(
            "nft -f -",
            input="table ip nat {\n"
            " chain postrouting {\n"
            "  type nat hook postrouting priority srcnat; policy accept;\n"
            f'  oifname "{WAN}" masquerade\n'
            " }\n"
            "}\n",
        )

    def _wire_client(self) -> None:
        self._veth(self.client, UPLINK, self.router, WIRE)
        with self.router.iproute() as ipr:
            wire = ipr.link_lookup(ifname=WIRE)[0]
            bridge = ipr.link_lookup(ifname=self.lan.bridge)[0]
            ipr.link("set", index=wire, master=bridge, state="up")

    def _start_net_services(self) -> list[Daemon]:
        """The internet's servers, started: the caller awaits them (`Daemon.ready`)."""
        net, run = self.net, self.workdir / "run"
        self.resolver = daemons.start_resolver(
            net, run, "dns", [topology.RESOLVER.address4, topology.RESOLVER.address6]
        )
        return [
            self.resolver,
            daemons.start_stun(
                net, run, [topology.STUN.address4, topology.STUN.address6], topology.STUN.port
            ),
            daemons.start_ntp(net, run, [topology.NTP.address4, topology.NTP.address6]),
            daemons.start_web(net, run),
        ]

    def _start_vpn(self) -> list[Daemon]:
        """The VPN server, ready; its resolver and STUN server started, for the caller to await."""
        vpn = self.vpn
        # The resolver and the STUN server first: their start-ups overlap the server's.
        with vpn.iproute() as ipr:
            ipr.addr("add", index=LOOPBACK, address=topology.VPN_RESOLVER, prefixlen=32)
        self.vpn_resolver = daemons.start_resolver(
            vpn, self.workdir / "run", "dns", [topology.VPN_RESOLVER]
        )
        # A STUN server on the VPN server's own address: traffic to the endpoint's
        # address on any other port must stay in the tunnel (TunnelCrack's ServerIP).
        stun = daemons.start_stun(
            vpn, self.workdir / "run", [topology.VPN_ENDPOINT], topology.STUN.port
        )
        tunnel_dir = self.tunnel_dir
        (tunnel_dir / "other").mkdir(parents=True, exist_ok=True)
        port = topology.OPENVPN_PORT if self.vpn_kind == "openvpn" else topology.WIREGUARD_PORT
        endpoint = (
            self._spoofed_endpoint(port, "udp") if self.spoofed_server else topology.VPN_ENDPOINT
        )
        if self.vpn_kind == "openvpn":
            self.tunnel = self._start_openvpn(tunnel_dir, endpoint)
        else:
            self.tunnel = self._start_wireguard(tunnel_dir, endpoint)
        return [self.vpn_resolver, stun]

    def _start_wireguard(self, tunnel_dir: Path, endpoint: str) -> Tunnel:
        vpn, wg = self.vpn, self.names.server_wg
        server, client = wireguard_keys()
        key = self.workdir / "run" / "server.key"
        key.write_text(server.private)
        key.chmod(0o600)
        daemons.start_wireguard_go(vpn, wg)
        allowed = f"{topology.CLIENT_TUNNEL4}/32"
        if self.tunnel_ipv6:
            allowed += f",{topology.CLIENT_TUNNEL6}/128"
        # Kept for `refuse_client`, which makes the server forget the client and remember it.
        self._client_key, self._client_allowed = client.public, allowed
        vpn.run(
            "wg set %s listen-port %s private-key %s peer %s allowed-ips %s",
            wg,
            topology.WIREGUARD_PORT,
            key,
            client.public,
            allowed,
        )
        with vpn.iproute() as ipr:
            index = ipr.link_lookup(ifname=wg)[0]
            ipr.addr("add", index=index, address=topology.VPN_TUNNEL4, prefixlen=24)
            ipr.addr("add", index=index, address=topology.VPN_TUNNEL6, prefixlen=64)
            ipr.link("set", index=index, state="up")
        self.other_tunnel = write_wireguard_client(
            tunnel_dir / "other",
            self.names.client_wg,
            client,
            server.public,
            ipv6=self.tunnel_ipv6,
            endpoint=topology.OTHER_ENDPOINT,
        )
        return write_wireguard_client(
            tunnel_dir,
            self.names.client_wg,
            client,
            server.public,
            ipv6=self.tunnel_ipv6,
            endpoint=endpoint,
        )

    def _start_openvpn(self, tunnel_dir: Path, endpoint: str) -> Tunnel:
        pki = openvpn.make_pki(self.workdir / "run" / "pki")
        config = openvpn.write_server_config(
            self.workdir / "run",
            self.names.server_ovpn,
            pki,
            ipv6=self.tunnel_ipv6,
            refuse_while=self._refusal_flag,
        )
        daemons.start_openvpn(self.vpn, config)
        self.other_tunnel = openvpn.write_openvpn_client(
            tunnel_dir / "other",
            self.names.client_ovpn,
            pki,
            ipv6=self.tunnel_ipv6,
            endpoint=topology.OTHER_ENDPOINT,
        )
        return openvpn.write_openvpn_client(
            tunnel_dir, self.names.client_ovpn, pki, ipv6=self.tunnel_ipv6, endpoint=endpoint
        )

    def _options_file(self, lan: Lan) -> Path:
        return self.workdir / "run" / f"dhcp-options-{lan.name}"

    def _start_lan(self, lan: Lan) -> Daemon:
        """The LAN's dnsmasq, started: the caller awaits it (`Daemon.ready`)."""
        options = self._options_file(lan)
        if not options.exists():
            options.write_text("")
        with self.router.iproute() as ipr:
            index = ipr.link_lookup(ifname=lan.bridge)[0]
            v6 = [
                a
                for a in ipr.get_addr(index=index, family=10)
                if a.get_attr("IFA_ADDRESS") == lan.gateway6
            ]
            if self.ipv6 and not v6:
                ipr.addr("add", index=index, address=lan.gateway6, prefixlen=64)
            if not self.ipv6 and v6:
                ipr.addr("del", index=index, address=lan.gateway6, prefixlen=64)
        spoofed = {topology.VPN_NAME: topology.SPOOFED_ENDPOINT} if self.spoofed_server else {}
        return daemons.start_lan_dnsmasq(
            self.router,
            lan,
            self.workdir / "run",
            ipv6=self.ipv6,
            options_file=options,
            spoofed=spoofed,
        )
