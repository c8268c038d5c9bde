"""The lab: one set of namespaces built for one case, its primitives, its teardown.

    with Lab(workdir) as lab:          # client bound by DHCP, tunnel server ready
        lab.start_capture(path)
        lab.client.run("curl -s http://%s/", WEB.address4)
        lab.carrier(False)             # a primitive of a trigger
        stats = lab.stop_capture()     # proven complete, or IncompleteCapture

Every name carries the lab's id; what the lab creates is written to its
registry record first, so teardown (and the sweep of labs whose owner died)
removes exactly that.
"""

from __future__ import annotations

import ipaddress
import json
import os
import select
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from pyroute2 import netns as pyroute2_netns

from netns import daemons, openvpn, registry, sysctls, topology
from netns.capture import (
    SENTINEL_ETHERTYPE,
    Capture,
    CaptureStats,
    IncompleteCapture,
    packet_socket,
)
from netns.dhcp import DhcpClient, install_client_config
from netns.errors import LabError
from netns.host import Host, Step
from netns.oracle import Endpoint, WireFacts
from netns.procs import Cgroup, Daemon, become_subreaper, cgroup2_root
from netns.sandbox import Sandbox
from netns.stream import StreamSummary
from netns.topology import LAN1, LANS, Lan, Names
from netns.tunnel import Tunnel, wireguard_keypair, write_wireguard_client
from netns.wait import until

UPLINK = "uplink"
VPN_KINDS = ("wireguard", "openvpn")
_IFA_F_TENTATIVE = 0x40
_IFF_LOWER_UP = 1 << 16
_RTN_UNICAST = 1
WIRE = "wire"
WAN = "wan"
# The stream's packets a second, in all (three per destination per round).
STREAM_RATE = 1200.0


class Lab:
    """client, router, vpn and net, wired as in `netns.topology`.

    ipv6: the router announces IPv6 (SLAAC) from the start.
    tunnel_ipv6: the tunnel carries IPv6 (AllowedIPs ::/0 and a v6 address).
    vpn: the tunnel's kind, "wireguard" (wireguard-go) or "openvpn".
    boot_client: bring the client's link up and lease an address while building;
    without it the client waits, link down, for `client_boot()` (a case that
    runs a subject's boot hook first).
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        ipv6: bool = False,
        tunnel_ipv6: bool = True,
        boot_client: bool = True,
        vpn: str = "wireguard",
    ) -> None:
        if vpn not in VPN_KINDS:
            raise LabError(f"unknown tunnel kind {vpn!r} (known: {', '.join(VPN_KINDS)})")
        self.vpn_kind = vpn
        self.lab_id = os.urandom(3).hex()
        self.names = Names(self.lab_id)
        self.ipv6 = ipv6
        self.tunnel_ipv6 = tunnel_ipv6
        self.boot_client = boot_client
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"leakcert-{self.lab_id}-"))
        self.record = registry.LabRecord.for_this_process(self.lab_id)
        self.hosts: dict[str, Host] = {}
        # What the lab made its hosts do, in order (the evidence behind a surprise).
        self.transcript: list[Step] = []
        self.lan = LAN1
        self._dnsmasq: dict[str, Daemon] = {}
        self._capture: Capture | None = None
        self._stream: Daemon | None = None
        self.dhcp: DhcpClient | None = None
        self.tunnel: Tunnel | None = None
        self._sandbox: Sandbox | None = None
        self._built = False

    # ----------------------------------------------------------------- build

    def __enter__(self) -> Lab:
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    @property
    def client(self) -> Host:
        return self.hosts["client"]

    @property
    def router(self) -> Host:
        return self.hosts["router"]

    @property
    def vpn(self) -> Host:
        return self.hosts["vpn"]

    @property
    def net(self) -> Host:
        return self.hosts["net"]

    @property
    def subject_cgroup(self) -> Cgroup:
        """Where a subject's hooks and everything they leave running belong."""
        return self._cgroup.child("client").child("subject")

    @property
    def state_dir(self) -> Path:
        """The client's persistent state (survives a reboot): KS_STATE_DIR."""
        return self.workdir / "client-state"

    @property
    def run_dir(self) -> Path:
        """The client's volatile state (emptied at reboot): KS_RUN_DIR."""
        return self.workdir / "client-run"

    def build(self) -> None:
        daemons.check_tools(daemons.OPENVPN_TOOLS if self.vpn_kind == "openvpn" else None)
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, nftables)")
        become_subreaper()
        registry.sweep_dead()
        self.logdir = self.workdir / "logs"
        for folder in (self.logdir, self.state_dir, self.run_dir, self.workdir / "run"):
            folder.mkdir(parents=True, exist_ok=True)
        self._cgroup = Cgroup(cgroup2_root() / "leakcert" / self.lab_id)
        self.record.cgroup = str(self._cgroup.path)
        self.record.namespaces = [self.names.namespace(role) for role in topology.HOSTS]
        if self.vpn_kind == "wireguard":
            self.record.wireguard_ifs = [self.names.server_wg, self.names.client_wg]
        self.record.workdir = str(self.workdir)
        self.record.remove_workdir = self._own_workdir
        self.record.save()
        self._cgroup.create()
        self._built = True

        for role in topology.HOSTS:
            namespace = self.names.namespace(role)
            etc = registry.ETC_NETNS / namespace
            etc.mkdir(parents=True, exist_ok=True)
            # Each host resolves through its own file, never the machine's resolver.
            (etc / "resolv.conf").write_text("")
            pyroute2_netns.create(namespace)
            cgroup = self._cgroup.child(role)
            if role == "client":
                cgroup = cgroup.child("system")
            self.hosts[role] = Host(role, namespace, cgroup, self.logdir, self.transcript)
        install_client_config(registry.ETC_NETNS / self.client.namespace)

        self._wire_net()
        self._wire_vpn()
        self._wire_router()
        self._wire_client()
        sysctls.pin(self.client, [UPLINK])
        self._start_net_services()
        self._start_vpn()
        self._dnsmasq[LAN1.name] = self._start_lan(LAN1)
        self.dhcp = DhcpClient(self.client, UPLINK, self.workdir / "run", self.client.cgroup)
        if self.boot_client:
            self.client_boot()

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
            srv = ipr.link_lookup(ifname="lo")[0]
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
            for index in (wan, ipr.link_lookup(ifname="lo")[0]):
                ipr.link("set", index=index, state="up")
            ipr.route("add", dst="0.0.0.0/0", gateway=topology.NET_BB4)
            ipr.route("add", dst="::/0", gateway=topology.NET_BB6, family=10)

    def _wire_vpn(self) -> None:
        self._sysctl_all(self.vpn, forwarding=True)
        self._attach_to_backbone(self.vpn, "p-vpn", topology.VPN_WAN4, topology.VPN_WAN6)
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
            for lan in LANS.values():
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
            ipr.link("set", index=wire, master=ipr.link_lookup(ifname=LAN1.bridge)[0], state="up")

    def _start_net_services(self) -> None:
        net, run = self.net, self.workdir / "run"
        self.resolver = daemons.start_resolver(
            net, run, "dns", [topology.RESOLVER.address4, topology.RESOLVER.address6]
        )
        daemons.start_stun(
            net, run, [topology.STUN.address4, topology.STUN.address6], topology.STUN.port
        )
        daemons.start_ntp(net, run, [topology.NTP.address4, topology.NTP.address6])
        daemons.start_web(net, run)

    def _start_vpn(self) -> None:
        vpn = self.vpn
        tunnel_dir = self.workdir / "tunnel"
        tunnel_dir.mkdir(exist_ok=True)
        if self.vpn_kind == "openvpn":
            self.tunnel = self._start_openvpn(tunnel_dir)
        else:
            self.tunnel = self._start_wireguard(tunnel_dir)
        with vpn.iproute() as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.addr("add", index=lo, address=topology.VPN_RESOLVER, prefixlen=32)
        self.vpn_resolver = daemons.start_resolver(
            vpn, self.workdir / "run", "dns", [topology.VPN_RESOLVER]
        )
        # A STUN server on the VPN server's own address: traffic to the endpoint's
        # address on any other port must stay in the tunnel (TunnelCrack's ServerIP).
        daemons.start_stun(vpn, self.workdir / "run", [topology.VPN_ENDPOINT], topology.STUN.port)

    def _start_wireguard(self, tunnel_dir: Path) -> Tunnel:
        vpn, wg = self.vpn, self.names.server_wg
        server, client = wireguard_keypair(), wireguard_keypair()
        key = self.workdir / "run" / "server.key"
        key.write_text(server.private)
        key.chmod(0o600)
        daemons.start_wireguard_go(vpn, wg)
        allowed = f"{topology.CLIENT_TUNNEL4}/32"
        if self.tunnel_ipv6:
            allowed += f",{topology.CLIENT_TUNNEL6}/128"
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
        return write_wireguard_client(
            tunnel_dir, self.names.client_wg, client, server.public, ipv6=self.tunnel_ipv6
        )

    def _start_openvpn(self, tunnel_dir: Path) -> Tunnel:
        pki = openvpn.make_pki(self.workdir / "run" / "pki")
        config = openvpn.write_server_config(
            self.workdir / "run", self.names.server_ovpn, pki, ipv6=self.tunnel_ipv6
        )
        daemons.start_openvpn(self.vpn, config)
        return openvpn.write_openvpn_client(
            tunnel_dir, self.names.client_ovpn, pki, ipv6=self.tunnel_ipv6
        )

    def _options_file(self, lan: Lan) -> Path:
        return self.workdir / "run" / f"dhcp-options-{lan.name}"

    def _start_lan(self, lan: Lan) -> Daemon:
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
        return daemons.start_lan_dnsmasq(
            self.router, lan, self.workdir / "run", ipv6=self.ipv6, options_file=options
        )

    # ------------------------------------------------------------- teardown

    def teardown(self) -> None:
        """Remove everything this lab created; safe to call twice, and after a failed build."""
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        if self._capture is not None:
            self._capture.abort()
            self._capture = None
        self._end_sandbox()
        if self._built:
            self.record.release()
            self._built = False

    # ------------------------------------------------------------- facts

    def _operstate(self, ifname: str, host: Host | None = None) -> str:
        with (host or self.client).iproute() as ipr:
            links = ipr.get_links(ifname=ifname)
            return links[0].get_attr("IFLA_OPERSTATE") if links else "ABSENT"

    def client_mac(self) -> str:
        with self.client.iproute() as ipr:
            links = ipr.get_links(ifname=UPLINK)
        if not links:
            raise LabError(f"the client's uplink `{UPLINK}` is gone (deleted on the client)")
        return links[0].get_attr("IFLA_ADDRESS")

    def client_sysctls(self) -> dict[str, str]:
        """The client's pinned kernel network settings as they are now (`netns.sysctls`)."""
        return sysctls.read(self.client, [UPLINK])

    def client_addresses(self, family: int = 2) -> list[str]:
        """The client's usable addresses on its uplink (2 = IPv4, 10 = IPv6; global scope).

        An IPv6 address still in duplicate address detection cannot be used yet
        and is left out.
        """
        with self.client.iproute() as ipr:
            index = ipr.link_lookup(ifname=UPLINK)[0]
            return [
                a.get_attr("IFA_ADDRESS")
                for a in ipr.get_addr(index=index, family=family)
                if a["scope"] == 0 and not (a.get_attr("IFA_FLAGS") or 0) & _IFA_F_TENTATIVE
            ]

    def client_routes(self, family: int = 2, table: int = 254) -> list[tuple[str, str | None]]:
        """(destination/prefix, gateway) of the client's routes in `table` (main)."""
        with self.client.iproute() as ipr:
            routes = ipr.get_routes(family=family, table=table)
        found = []
        for route in routes:
            dst = route.get_attr("RTA_DST")
            default = "0.0.0.0" if family == 2 else "::"
            found.append((f"{dst or default}/{route['dst_len']}", route.get_attr("RTA_GATEWAY")))
        return found

    def router_addresses(self) -> frozenset[str]:
        """Every address the router has on the LANs the client can be on."""
        found = set()
        with self.router.iproute() as ipr:
            for lan in LANS.values():
                index = ipr.link_lookup(ifname=lan.bridge)[0]
                found |= {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index)}
        return frozenset(
            found
            | {lan.gateway4 for lan in LANS.values()}
            | {lan.gateway6 for lan in LANS.values()}
        )

    def lan_resolvers(self) -> dict[str, Daemon]:
        """The ISP's resolvers (the router's dnsmasq on each LAN it served), by address."""
        return {LANS[name].gateway4: daemon for name, daemon in self._dnsmasq.items()}

    def wire_facts(self) -> WireFacts:
        """What the oracle needs to judge this lab's capture."""
        tunnel = self.tunnel
        return WireFacts(
            client_mac=self.client_mac(),
            router_addresses=self.router_addresses(),
            endpoints=(Endpoint(tunnel.endpoint_ip, tunnel.endpoint_port, tunnel.endpoint_proto),),
        )

    def wait_client_ipv6(self, timeout: float = 15.0, *, required: bool = True) -> str | None:
        """Wait for a SLAAC address in the LAN's prefix and an IPv6 default route.

        A client whose IPv6 is switched off (a kill switch may do that) takes
        none: then there is nothing to wait for, and None comes back. Not
        `required`, a client that has taken none by the timeout (its firewall
        may drop the announcements) gives None too, instead of an error.
        """
        if self.client.run("cat /proc/sys/net/ipv6/conf/%s/disable_ipv6", UPLINK).stdout != "0\n":
            return None
        prefix = ipaddress.ip_network(self.lan.prefix6)

        def ready() -> str | None:
            addresses = [a for a in self.client_addresses(10) if ipaddress.ip_address(a) in prefix]
            default = any(dst == "::/0" for dst, _ in self.client_routes(10))
            return addresses[0] if addresses and default else None

        try:
            return until("the client's SLAAC address and IPv6 default route", ready, timeout)
        except LabError:
            if required:
                raise
            return None

    # ------------------------------------------------------------- capture

    def start_capture(self, pcap: Path) -> None:
        """Capture the wire (router side) into `pcap`, from now until stop_capture()."""
        if self._capture is not None:
            raise LabError("a capture is already running")
        self._capture = Capture(self.router, WIRE, pcap)
        self._capture.start()

    def stop_capture(self) -> CaptureStats:
        """Prove the capture complete (sentinel, drops, counts) and stop it."""
        capture, self._capture = self._capture, None
        if capture is None:
            raise LabError("no capture is running")
        return capture.stop(self.send_sentinel)

    def send_sentinel(self, payload: bytes) -> None:
        """A frame the client sends last; when it is in the pcap, so is all before it."""
        mac = bytes.fromhex(self.client_mac().replace(":", ""))
        frame = b"\xff" * 6 + mac + SENTINEL_ETHERTYPE.to_bytes(2, "big") + payload
        try:
            with packet_socket(self.client.namespace, UPLINK) as sock:
                sock.send(frame.ljust(60, b"\0"))
        except OSError as exc:
            # Without the sentinel the capture cannot be proven complete: no verdict.
            raise IncompleteCapture(f"cannot send the sentinel frame: {exc.strerror}") from None

    # ------------------------------------------------------------- stream

    def stream_destinations(self) -> tuple[str, ...]:
        """Where the stream sends: internet hosts, the VPN server off its port, the LANs."""
        return (
            topology.WEB.address4,
            topology.STUN.address4,
            topology.NTP.address4,
            topology.WEB.address6,
            topology.STUN.address6,
            topology.VPN_ENDPOINT,
            *(lan.gateway4 for lan in LANS.values()),
            # A broadcast leaves at once; a packet to a host waits for ARP, which a
            # link that just came back may take a second to answer.
            *(str(ipaddress.ip_network(lan.prefix4).broadcast_address) for lan in LANS.values()),
            *(lan.gateway6 for lan in LANS.values()),
        )

    def start_stream(self, rate: float = STREAM_RATE) -> None:
        """The client's applications send `netns.stream` from now until stop_stream().

        Its processes are the lab's, not the subject's: a crash, a freeze or the
        client's reboot never stops it.
        """
        if self._stream is not None:
            raise LabError("a stream is already running")
        self._stream_rate = rate
        checkout = Path(__file__).resolve().parents[1]
        self._stream = self.client.spawn(
            "stream",
            [
                "env",
                f"PYTHONPATH={checkout}",
                sys.executable,
                "-m",
                "netns.stream",
                # The client's resolv.conf itself: the one a new application reads.
                "--resolv-conf",
                str(registry.ETC_NETNS / self.client.namespace / "resolv.conf"),
                str(rate),
                *self.stream_destinations(),
            ],
            cgroup=self._cgroup.child("stream"),
        )
        self._stream.wait_for_log(r"stream ready")

    def stop_stream(self) -> StreamSummary:
        """Stop the stream and say what it sent."""
        stream, self._stream = self._stream, None
        if stream is None:
            raise LabError("no stream is running")
        stream.signal(signal.SIGTERM)
        code = stream.wait(timeout=10)
        last = (stream.output().strip().splitlines() or [""])[-1]
        try:
            counts = json.loads(last)
        except ValueError:
            counts = None
        if code != 0 or not isinstance(counts, dict):
            raise LabError(f"the stream ended badly ({code}): {last[:200]}")
        return StreamSummary(
            self._stream_rate,
            self.stream_destinations(),
            counts["packets"],
            counts["sent"],
            counts["refused"],
            counts["seconds"],
        )

    # ------------------------------------------------------------- primitives

    def carrier(self, up: bool) -> None:
        """The client's link loses or regains carrier (a Wi-Fi drop), as the router ends it."""
        with self.router.iproute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=WIRE)[0], state="up" if up else "down")
        until(
            f"the client's carrier to be {'up' if up else 'down'}",
            lambda: self.client_has_carrier() == up,
        )

    def client_has_carrier(self) -> bool:
        with self.client.iproute() as ipr:
            return bool(ipr.get_links(ifname=UPLINK)[0]["flags"] & _IFF_LOWER_UP)

    def wifi_reconnect(self) -> None:
        """Carrier down and up, then DHCP again, as a desktop does when Wi-Fi comes back."""
        self.carrier(False)
        self.carrier(True)
        self.dhcp.renew()
        if self.ipv6:
            self.wait_client_ipv6()

    def adapter_reset(self) -> None:
        """The client's adapter goes down, loses its addresses, comes up and asks DHCP again."""
        self.dhcp.stop()
        with self.client.iproute() as ipr:
            index = ipr.link_lookup(ifname=UPLINK)[0]
            ipr.link("set", index=index, state="down")
            ipr.flush_addr(index=index)
            ipr.link("set", index=index, state="up")
        until("the client's link to come back up", lambda: self._operstate(UPLINK) == "UP")
        self.dhcp.start()
        if self.ipv6:
            self.wait_client_ipv6(required=False)

    def roam(self, lan_name: str = "lan2") -> None:
        """The client's link moves to another LAN (its own subnet, gateway and DHCP server)."""
        lan = LANS[lan_name]
        self.carrier(False)
        with self.router.iproute() as ipr:
            wire = ipr.link_lookup(ifname=WIRE)[0]
            ipr.link("set", index=wire, master=ipr.link_lookup(ifname=lan.bridge)[0])
        self.lan = lan
        if lan.name not in self._dnsmasq:
            self._dnsmasq[lan.name] = self._start_lan(lan)
        self.carrier(True)
        self.dhcp.start()
        until(
            f"a lease on {lan.name}",
            lambda: any(
                ipaddress.ip_address(a) in ipaddress.ip_network(lan.prefix4)
                for a in self.client_addresses()
            ),
        )
        if self.ipv6:
            self.wait_client_ipv6()

    def router_reboot(self) -> None:
        """The router restarts: its DHCP server forgets every lease and the link flaps."""
        lan = self.lan
        self._dnsmasq.pop(lan.name).stop()
        (self.workdir / "run" / f"dnsmasq-{lan.name}.leases").unlink(missing_ok=True)
        self.carrier(False)
        self._dnsmasq[lan.name] = self._start_lan(lan)
        self.carrier(True)
        self.dhcp.renew()
        if self.ipv6:
            self.wait_client_ipv6()

    def inject_routes(self, prefixes: list[str], via: str | None = None) -> None:
        """Another program adds routes on the client, via the LAN gateway by default."""
        gateway = via or self.lan.gateway4
        for prefix in prefixes:
            self.client.run("ip route replace %s via %s dev %s", prefix, gateway, UPLINK)

    def delete_routes(self, dev: str) -> int:
        """Another program deletes every route through `dev`, in every table; returns how many."""
        deleted = 0
        with self.client.iproute() as ipr:
            links = ipr.link_lookup(ifname=dev)
            if not links:
                return 0
            for family in (2, 10):
                for route in ipr.route("dump", family=family):
                    if route.get_attr("RTA_OIF") == links[0] and route["type"] == _RTN_UNICAST:
                        ipr.route("del", **_route_key(route))
                        deleted += 1
        return deleted

    def push_option121(self, routes: list[str]) -> None:
        """The DHCP server adds option 121 routes (TunnelVision) and the client renews.

        `routes` are prefixes the router claims; the default route is added as
        RFC 3442 requires (a client ignores option 3 when 121 is present).
        """
        lan = self.lan
        pairs = [f"{prefix},{lan.gateway4}" for prefix in [*routes, "0.0.0.0/0"]]
        self._options_file(lan).write_text(
            "option:classless-static-route," + ",".join(pairs) + "\n"
        )
        self._dnsmasq[lan.name].signal(1)  # SIGHUP: dnsmasq re-reads its options file
        self._dnsmasq[lan.name].wait_for_log(r"read .*dhcp-options-" + lan.name)
        self.dhcp.renew()

    def set_ipv6(self, on: bool) -> str | None:
        """The router starts (or stops) announcing IPv6 on the client's LAN.

        Returns the client's new SLAAC address, or None when it took none (a
        kill switch may refuse the announcements: that is not an error).
        """
        self.ipv6 = on
        lan = self.lan
        self._dnsmasq.pop(lan.name).stop()
        self._dnsmasq[lan.name] = self._start_lan(lan)
        return self.wait_client_ipv6(required=False) if on else None

    def vpn_unreachable(self, blocked: bool = True) -> None:
        """The VPN server stops answering (its packets dropped on its side), or answers again."""
        if blocked:
            self.vpn.run(
                "nft -f -",
                input="table inet blackhole {\n chain input {\n"
                "  type filter hook input priority -10; policy accept;\n"
                f"  udp dport {self.tunnel.endpoint_port} drop\n }}\n}}\n",
            )
        else:
            self.vpn.run("nft delete table inet blackhole")

    def freeze_subject(self) -> None:
        """Every process of the subject stops (sleep)."""
        self.subject_cgroup.freeze()

    def thaw_subject(self) -> None:
        """Every process of the subject runs again (wake)."""
        self.subject_cgroup.thaw()

    def kill_subject(self) -> None:
        """SIGKILL to every process the subject's hooks left running."""
        self.subject_cgroup.kill()

    def tunnel_processes(self) -> list[int]:
        """The client's own tunnel processes, by pid: wireguard-go for its interface, or openvpn.

        Found by the lab among the subject's processes, whatever the subject says.
        """
        found = []
        for pid in self.subject_cgroup.pids():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            program = os.path.basename(argv[0]).decode(errors="replace")
            if self.vpn_kind == "wireguard":
                mine = program == "wireguard-go" and self.tunnel.interface.encode() in argv[1:]
            else:
                mine = program == "openvpn"
            if mine:
                found.append(pid)
        return found

    def kill_tunnel(self) -> list[int]:
        """SIGKILL the client's tunnel processes (and nothing else); their pids."""
        pids = self.tunnel_processes()
        if not pids:
            raise LabError(f"no {self.vpn_kind} process of the client's tunnel is running")
        for pid in pids:
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            with os.fdopen(pidfd, "rb", buffering=0) as handle:
                signal.pidfd_send_signal(handle.fileno(), signal.SIGKILL)
                # A pidfd becomes readable when its process has exited: the event, not a poll.
                if not select.select([handle], [], [], 10)[0]:
                    raise LabError(f"the tunnel's process {pid} did not die of SIGKILL")
        return pids

    def client_reboot(self) -> None:
        """Wipe the client's network stack as a reboot does; the wire and its capture stay.

        Processes, nftables and both iptables' rules, every interface but the
        uplink, addresses, routes and policy rules go; the uplink is left down
        (a boot brings it up: `client_boot`). The state folder survives, the run
        folder is emptied.
        """
        # The power goes first: nothing leaves while the rules are being wiped
        # (the stream, the lab's applications, keeps sending through a reboot).
        with self.client.iproute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=UPLINK)[0], state="down")
        self._cgroup.child("client").kill()
        self._end_sandbox()
        if self.dhcp is not None:
            self.dhcp.forget_process()
        client = self.client
        client.run("nft flush ruleset")
        for tool in ("iptables-legacy", "ip6tables-legacy"):
            if shutil.which(tool):
                for table in ("filter", "nat", "mangle", "raw", "security"):
                    client.run(f"{tool} -t {table} -F && {tool} -t {table} -X", check=False)
                client.run(
                    f"{tool} -P OUTPUT ACCEPT; {tool} -P INPUT ACCEPT; {tool} -P FORWARD ACCEPT",
                    check=False,
                )
        with client.iproute() as ipr:
            keep = {ipr.link_lookup(ifname="lo")[0], ipr.link_lookup(ifname=UPLINK)[0]}
            for link in ipr.get_links():
                if link["index"] not in keep:
                    ipr.link("del", index=link["index"])
            uplink = ipr.link_lookup(ifname=UPLINK)[0]
            ipr.link("set", index=uplink, state="down")
            ipr.flush_addr(index=uplink)
        client.run(
            "ip -4 route flush table all; ip -6 route flush table all;"
            " ip -4 rule flush; ip -6 rule flush;"
            " ip -4 rule add priority 32766 table main;"
            " ip -4 rule add priority 32767 table default;"
            " ip -6 rule add priority 32766 table main",
        )
        sysctls.pin(client, [UPLINK])
        (registry.ETC_NETNS / client.namespace / "resolv.conf").write_text("")
        shutil.rmtree(self.run_dir)
        self.run_dir.mkdir()

    def client_sandbox(self, readonly: tuple[Path, ...] = ()) -> Sandbox:
        """The client as a subject's hooks see it (`netns.sandbox`), for this boot.

        Started on first use, ended by `client_reboot`: what the hooks of one
        boot leave running, the next hooks of that boot see. They may write the
        state and run folders, and read the tunnel's config and `readonly`.
        """
        readonly = (self.tunnel.config.parent, *readonly)
        if self._sandbox is None:
            self._sandbox = Sandbox(
                self.client,
                self.workdir / "client-root",
                self._cgroup.child("client").child("sandbox"),
                writable=(self.state_dir, self.run_dir),
                readonly=readonly,
            )
            self._sandbox.start()
        elif self._sandbox.readonly != readonly:
            raise LabError("one boot of the client has one sandbox: its folders cannot change")
        return self._sandbox

    def _end_sandbox(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    def client_boot(self) -> None:
        """The client's links come up and it asks DHCP for an address, as at boot."""
        with self.client.iproute() as ipr:
            for name in ("lo", UPLINK):
                ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        until("the client's link to come up", lambda: self._operstate(UPLINK) == "UP")
        self.dhcp.start()
        if self.ipv6:
            self.wait_client_ipv6(required=False)


def _route_key(route) -> dict:
    """The fields that name one route for deletion (netlink matches on each given one)."""
    key = {
        "family": route["family"],
        "dst_len": route["dst_len"],
        "scope": route["scope"],
        "table": route.get_attr("RTA_TABLE"),
        "oif": route.get_attr("RTA_OIF"),
    }
    for attr, name in (
        ("RTA_DST", "dst"),
        ("RTA_GATEWAY", "gateway"),
        ("RTA_PRIORITY", "priority"),
    ):
        if route.get_attr(attr) is not None:
            key[name] = route.get_attr(attr)
    return key
