"""The lab: one set of namespaces built for one case, its primitives, its teardown.

How it is wired is `netns.lab_wiring`, what it knows of itself
`netns.lab_facts`, what triggers can do to it `netns.lab_faults`; this module
holds its lifecycle, its capture and its stream.

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
import signal
import tempfile
from pathlib import Path

from netns import daemons, docker_engine, home, registry, sysctls, topology
from netns.capture import (
    SENTINEL_ETHERTYPE,
    Capture,
    CaptureStats,
    IncompleteCapture,
    packet_socket,
)
from netns.container_client import ContainerClient, ContainerSpec
from netns.dhcp import DhcpClient, install_client_config
from netns.errors import LabError
from netns.host import Host, Step
from netns.lab_attacks import LabAttacks, starting_lan
from netns.lab_containers import LabContainers
from netns.lab_facts import LabFacts
from netns.lab_faults import LabFaults
from netns.lab_lan import LabLan
from netns.lab_wiring import LabWiring
from netns.monitor import NetlinkWakeup
from netns.procs import Cgroup, Daemon, become_subreaper, cgroup2_root
from netns.sandbox import Sandbox
from netns.stream import StreamSummary
from netns.topology import LAN1, LANS, UPLINK, WIRE, Names
from netns.tunnel import Tunnel
from netns.wait import until

VPN_KINDS = ("wireguard", "openvpn")
# The stream's packets a second, in all (three per destination per round).
STREAM_RATE = 1200.0


class Lab(LabWiring, LabFacts, LabFaults, LabContainers, LabAttacks, LabLan):
    """client, router, vpn and net, wired as in `netns.topology`.

    ipv6: the router announces IPv6 (SLAAC) from the start.
    tunnel_ipv6: the tunnel carries IPv6 (AllowedIPs ::/0 and a v6 address).
    vpn_kind: the tunnel's kind, "wireguard" (wireguard-go) or "openvpn".
    boot_client: bring the client's link up and lease an address while building;
    without it the client waits, link down, for `client_boot()` (a case that
    runs a subject's boot hook first).
    client_container: the client is containers (`netns.lab_containers`).
    lan, spoofed_server, guest: a hostile LAN, a spoofed VPN server, a container
    behind the client, for the attacks since the seed (`netns.lab_attacks`).
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        ipv6: bool = False,
        tunnel_ipv6: bool = True,
        boot_client: bool = True,
        vpn_kind: str = "wireguard",
        client_container: ContainerSpec | None = None,
        lan: str = LAN1.name,
        spoofed_server: bool = False,
        guest: bool = False,
    ) -> None:
        if vpn_kind not in VPN_KINDS:
            raise LabError(f"unknown tunnel kind {vpn_kind!r} (known: {', '.join(VPN_KINDS)})")
        self.spoofed_server, self.guest = spoofed_server, guest
        self.vpn_kind = vpn_kind
        self.client_container = client_container
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
        self.lan = starting_lan(lan)
        self._dnsmasq: dict[str, Daemon] = {}
        self._capture: Capture | None = None
        self._stream: Daemon | None = None
        self._stream_sending = False
        self.dhcp: DhcpClient | None = None
        self.tunnel: Tunnel | None = None
        self.tunnel_dir = self.workdir / "tunnel"
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
        docker_engine.sweep_dead()
        self.logdir = self.workdir / "logs"
        for folder in (self.logdir, self.state_dir, self.run_dir, self.workdir / "run"):
            folder.mkdir(parents=True, exist_ok=True)
        self._cgroup = Cgroup(cgroup2_root() / "leakcert" / self.lab_id)
        self.record.cgroup = str(self._cgroup.path)
        self.record.namespaces = [self.names.namespace(role) for role in self.roles()]
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
            self._create_namespace(role, namespace)
            cgroup = self._cgroup.child(role)
            if role == "client":
                cgroup = cgroup.child("system")
            self.hosts[role] = Host(role, namespace, cgroup, self.logdir, self.transcript)

        # Servers start as soon as their addresses exist and are awaited together
        # at the end: their start-ups overlap the wiring and each other.
        self._wire_net()
        starting = self._start_net_services()
        self._wire_router()
        self._wire_client()
        self._prepare_client()
        self._wire_guest()
        self._dnsmasq[self.lan.name] = self._start_first_lan()
        # The client's lease is asked for while the VPN server is wired and started.
        self._ask_lease()
        self._wire_vpn()
        starting += self._start_vpn()
        for daemon in (*starting, self._dnsmasq[self.lan.name]):
            daemon.ready()
        self._start_client()

    # A lab whose client is a VM guest (`vms.lab.GuestLab`) does these its own way.
    def _prepare_client(self) -> None:
        """The netns client's DHCP configuration and kernel settings, before anything runs."""
        install_client_config(registry.ETC_NETNS / self.client.namespace)
        sysctls.pin(self.client, [UPLINK])

    def _ask_lease(self) -> None:
        """The netns client's DHCP client; if the client boots with the lab, its links come
        up and it asks for its lease (`_start_client` awaits it)."""
        self.dhcp = DhcpClient(self.client, UPLINK, self.workdir / "run", self.client.cgroup)
        if self.boot_client:
            self._dnsmasq[self.lan.name].ready()
            self._client_links_up()
            self.dhcp.ask()

    def _start_client(self) -> None:
        """The netns client booted with the lab: its lease bound (and its IPv6, if any)."""
        if self.boot_client:
            self._client_bound()

    # ------------------------------------------------------------- teardown

    def teardown(self) -> None:
        """Remove everything this lab created; safe to call twice, and after a failed build."""
        if self._stream is not None:
            self._stream.stop()
            self._stream, self._stream_sending = None, False
        self._end_guest_stream()
        self.stop_attacks()
        if self._capture is not None:
            self._capture.abort()
            self._capture = None
        self._end_sandbox()
        self._remove_containers()
        for host in self.hosts.values():
            host.close()
        if self._built:
            self.record.release()
            self._built = False

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

    def prepare_stream(self, rate: float = STREAM_RATE) -> None:
        """Start the stream's process ahead, sending nothing until `start_stream()`: its
        interpreter starts while the client boots and connects, not after."""
        if self._stream is not None:
            raise LabError("a stream is already prepared or running")
        self._stream_rate = rate
        argv = home.module_argv("netns.stream", "--wait")
        # The client's resolv.conf itself: the one a new application reads.
        argv += ["--resolv-conf", str(registry.ETC_NETNS / self.client.namespace / "resolv.conf")]
        argv += [str(rate), *self.stream_destinations()]
        self._stream = self.client.spawn("stream", argv, cgroup=self._cgroup.child("stream"))

    def start_stream(self, rate: float = STREAM_RATE) -> None:
        """The client's applications send `netns.stream` from now until stop_stream().

        Its processes are the lab's, not the subject's: a crash, a freeze or the
        client's reboot never stops it.
        """
        if self._stream is None:
            self.prepare_stream(rate)
        if self._stream_rate != rate or self._stream_sending:
            raise LabError("a stream is already running, or prepared at another rate")
        stream = self._stream
        ready = stream.wait_for_log(r"stream ready")
        stream.signal(signal.SIGUSR1)
        stream.wait_for_log(r"stream sending", start=stream.log_start + ready.end())
        self._stream_sending = True
        self._start_guest_stream(rate)

    def stop_stream(self) -> StreamSummary:
        """Stop the stream and say what it sent."""
        if self._stream is None or not self._stream_sending:
            raise LabError("no stream is running")
        stream, self._stream, self._stream_sending = self._stream, None, False
        self._stop_guest_stream()
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

    def client_sandbox(self, readonly: tuple[Path, ...] = ()) -> Sandbox | ContainerClient:
        """The client as a subject's hooks see it (`netns.sandbox`), for this boot.

        Started on first use, ended by `client_reboot`: what the hooks of one
        boot leave running, the next hooks of that boot see. They may write the
        state and run folders, and read the tunnel's config and `readonly`.
        """
        readonly = (self.tunnel_dir, *readonly)
        if self.containers is not None:
            return self._container_boot((self.state_dir, self.run_dir), readonly[:1])
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
        if self.containers is not None:
            self.containers.stop()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    def client_boot(self) -> None:
        """The client's links come up and it asks DHCP for an address, as at boot."""
        self._client_links_up()
        self.dhcp.ask()
        self._client_bound()

    def _client_links_up(self) -> None:
        uplink = self.client.interface(UPLINK)
        with NetlinkWakeup(self.client.namespace) as wake, self.client.iproute() as ipr:
            for name in ("lo", UPLINK):
                ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
            until("the client's link to come up", lambda: uplink.operstate == "UP", wake=wake)

    def _client_bound(self) -> None:
        self.dhcp.wait_bound()
        if self.ipv6:
            self.wait_client_ipv6(required=False)
