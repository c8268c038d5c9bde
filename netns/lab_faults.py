"""The lab's primitives: what triggers do to the client's world (a reboot, a carrier
lost, an adapter reset, a roam, a router reboot, routes pushed or rewritten, IPv6
announced, the VPN server silenced, the tunnel's process killed). A part of
`netns.lab.Lab`."""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import shutil
import signal
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from netns import registry, sysctls
from netns.errors import LabError
from netns.monitor import NetlinkWakeup
from netns.topology import LANS, LOOPBACK, UPLINK, WIRE, Lan
from netns.wait import until

_RTN_UNICAST = 1


class LabFaults:
    """Faults and events the lab can cause (a mixin of `Lab`)."""

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
            keep = {LOOPBACK, ipr.link_lookup(ifname=UPLINK)[0]}
            for link in ipr.get_links():
                if link["index"] not in keep:
                    try:
                        ipr.link("del", index=link["index"])
                    except NetlinkError as exc:
                        # A veth's peer goes with it: already gone is what we wanted.
                        if exc.code != errno.ENODEV:
                            raise
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

    def carrier(self, up: bool) -> None:
        """The client's link loses or regains carrier (a Wi-Fi drop), as the router ends it."""
        with NetlinkWakeup(self.client.namespace) as wake:
            with self.router.iproute() as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname=WIRE)[0], state="up" if up else "down")
            until(
                f"the client's carrier to be {'up' if up else 'down'}",
                lambda: self.client_has_carrier() == up,
                wake=wake,
            )

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
        uplink = self.client.interface(self.uplink)
        with self.client_wake() as wake:
            self.client.run(
                "ip link set %s down && ip addr flush dev %s && ip link set %s up",
                *[self.uplink] * 3,
            )
            until("the client's link to come back up", lambda: uplink.operstate == "UP", wake=wake)
        self.dhcp.start()
        if self.ipv6:
            self.wait_client_ipv6(required=False)

    def roam(self, lan_name: str = "lan2") -> None:
        """The client's link moves to another LAN (its own subnet, gateway and DHCP server)."""
        lan = LANS[lan_name]
        self.carrier(False)
        self.move_wire(lan)
        self.carrier(True)
        self.lease_on(lan)

    def move_wire(self, lan: Lan) -> None:
        """The wire's far end moves to `lan`'s bridge: the client's frames reach that LAN."""
        with self.router.iproute() as ipr:
            wire = ipr.link_lookup(ifname=WIRE)[0]
            ipr.link("set", index=wire, master=ipr.link_lookup(ifname=lan.bridge)[0])
        self.lan = lan
        if lan.name not in self._dnsmasq:
            self._dnsmasq[lan.name] = self._start_lan(lan).ready()

    def lease_on(self, lan: Lan) -> None:
        """The client asks DHCP now, and has an address of `lan` (and SLAAC's, with IPv6)."""
        with self.client_wake() as wake:
            self.dhcp.start()
            until(
                f"a lease on {lan.name}",
                lambda: any(
                    ipaddress.ip_address(a) in ipaddress.ip_network(lan.prefix4)
                    for a in self.client_addresses()
                ),
                wake=wake,
            )
        if self.ipv6:
            self.wait_client_ipv6()

    def router_reboot(self) -> None:
        """The router restarts: its DHCP server forgets every lease and the link flaps."""
        lan = self.lan
        self._dnsmasq.pop(lan.name).stop()
        (self.workdir / "run" / f"dnsmasq-{lan.name}.leases").unlink(missing_ok=True)
        self.carrier(False)
        self._dnsmasq[lan.name] = self._start_lan(lan).ready()
        self.carrier(True)
        self.dhcp.renew()
        if self.ipv6:
            self.wait_client_ipv6()

    def inject_routes(self, prefixes: list[str], via: str | None = None) -> None:
        """Another program adds routes on the client, via the LAN gateway by default."""
        gateway = via or self.lan.gateway4
        for prefix in prefixes:
            self.client.run("ip route replace %s via %s dev %s", prefix, gateway, self.uplink)

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
        self._dnsmasq[lan.name] = self._start_lan(lan).ready()
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

    def kill_hook(self, hook: str) -> None:
        """SIGKILL to every process the subject's `hook` runs left running."""
        self.subject_cgroup.child(hook).kill()

    def subject_pids(self) -> set[int]:
        """The subject's live processes, whichever hook started them."""
        return set(self.subject_cgroup.pids())

    def exited(self, pids: set[int], timeout: float) -> set[int]:
        """Those of `pids` that have died, waiting up to `timeout` for the first.

        A signal is sent at once but a process (wireguard-go and its threads)
        takes its time to die: its pidfd becoming readable is the event.
        """
        pidfds: dict[int, int] = {}
        gone: set[int] = set()
        try:
            for pid in pids:
                try:
                    pidfds[pid] = os.pidfd_open(pid)
                except ProcessLookupError:
                    gone.add(pid)
            if pidfds and not gone:
                select.select(list(pidfds.values()), [], [], timeout)
            ready = select.select(list(pidfds.values()), [], [], 0)[0] if pidfds else []
            return gone | {pid for pid, fd in pidfds.items() if fd in ready}
        finally:
            for fd in pidfds.values():
                os.close(fd)

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
