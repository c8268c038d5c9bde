"""The cases: each one event under test, as data. Longer than 400 lines because it
is the case table itself, one entry per case, each with its words for the report.

A case names its trigger, the probes its applications send, the lab it needs,
the oracles that judge it, the profiles it belongs to, what it cannot see
(its limitations), and the foils it must catch (its `catches`:
`none` and the `foil-*` subjects, which prove it sensitive). Its description,
requirement and limitations are shown verbatim in reports.

Besides its probes, every case runs the stream (`netns.stream`) from the
moment the subject connects until the capture stops, and watches for its
settle window after the trigger's last act.
"""

from __future__ import annotations

from dataclasses import dataclass

LEAK_CLASSES = (
    "connected",
    "crash",
    "tunnel",
    "network",
    "roam",
    "routes",
    "dhcp121",
    "boot",
    "ipv6",
    "dns",
    "webrtc",
    # Issue 13, part B: attacks published since the seed.
    "tunnelcrack",
    "error",
    "service",
    "switching",
    "firewall",
    "forwarded",
    # Issue 13, part A.
    *("bound", "endpoint", "exposure", "flows", "names"),
)
# What each leak class holds, in one line: the report's legend.
LEAK_CLASS_MEANINGS = {
    "connected": "the tunnel is up and nothing happens",
    "crash": "the VPN client, the tunnel's process or the whole subject dies",
    "tunnel": "the tunnel fails or the user disconnects",
    "network": "the network changes under the tunnel (Wi-Fi, sleep, adapter, router)",
    "roam": "the computer moves to another network",
    "routes": "another program rewrites the routing table",
    "dhcp121": "the DHCP server pushes routes (TunnelVision)",
    "boot": "from boot until the VPN connects",
    "ipv6": "IPv6 beside an IPv4-only tunnel, or IPv6 routes from the LAN's router",
    "dns": "names asked of a resolver other than the VPN's",
    "webrtc": "a browser's STUN request for its public address",
    # Issue 13, part B.
    "tunnelcrack": "a hostile LAN's routes and resolver (TunnelCrack: LocalNet, ServerIP)",
    "error": "the VPN server refuses the client: connecting and error states",
    "service": "the subject's service is stopped as systemd does, restarted and upgraded",
    "switching": "the user cancels and switches servers, again and again",
    "firewall": "the firewall update fails while the client re-applies its rules",
    "forwarded": "a container or VM behind the client (forwarded traffic)",
    # Issue 13, part A.
    "bound": "programs bound to the physical interface, which no route steers",
    "endpoint": "another process sends to the VPN server's own port (Cure53 MUL-02-002)",
    "exposure": "the tunnel's address answers the LAN: ARP or a RST (CVE-2019-14899)",
    "flows": "connections opened before the kill switch keep going beside it",
    "names": "names asked on the LAN (mDNS, LLMNR, NetBIOS): a disclosure to the LAN, "
    "not to the internet; judged under strict only",
}
PROFILES = ("seed", "strict", "always-on")
# `strict` also judges disclosures to the LAN itself (names asked on it), which
# `seed` leaves to the user's "allow LAN" choice.
ALL_PROFILES = frozenset(PROFILES)

WEB = ("http", "system-dns", "icmp", "ntp")
DNS = ("system-dns", "app-dns")
STUN = ("stun", "stun-endpoint")
IPV6 = ("http6", "icmp6", "stun6")
# Ports some recipes open to every address: only outside the tunnel do they show.
ELSEWHERE = ("vpn-port-elsewhere", "dhcp-elsewhere")
EVERYTHING = (*WEB, "app-dns", *STUN, *IPV6, *ELSEWHERE)

FAQ = "IVPN kill switch FAQ"
# The foils that leak while merely connected (to the LAN, to
# the VPN server's other ports): the stream shows them in every case.
CONNECTED_LEAKERS = ("none", "foil-watcher", "foil-server-ip")
# ...and the foils that react to a network change by opening (for a moment or
# until they reconnect), or that let DNS out to the LAN's resolver after a renew.
NETWORK_CHANGE_LEAKERS = (
    *CONNECTED_LEAKERS,
    "foil-dns-anywhere",
    "foil-reconnect",
    "foil-nonatomic",
    "foil-reopen",
)
# ...and, when the tunnel itself is gone, the one that cleans up by removing its rules.
TUNNEL_GONE_LEAKERS = (*NETWORK_CHANGE_LEAKERS, "foil-cleanup")
CRASH_PROMISE = (
    f'{FAQ}: "if the VPN client, any part of the tunnel, or your desktop OS crashes, no '
    "traffic will leave the computer until IVPN Firewall is disabled manually or a new "
    'VPN tunnel is established."'
)

# How long a case keeps watching, with the stream running, after its trigger's
# last act: long enough for a kill switch that reacts late (a watcher, a
# cleanup that runs when the client dies, a rule rebuild) to show. Triggers
# after which clients reconnect get longer: the reconnect is where rules are
# rebuilt.
SETTLE = 1.5
RECONNECT_SETTLE = 2.5
RECONNECTING_TRIGGERS = frozenset(
    {
        "crash_client",
        "crash_tunnel",
        "tunnel_removed",
        "server_unreachable",
        "wifi_reconnect",
        "sleep_wake",
        "adapter_reset",
        "router_reboot",
        "roam",
        "connect_refused",
        "service_restart",
        "firewall_locked",
        "container_crash",
    }
)


@dataclass(frozen=True)
class Case:
    id: str
    leak_class: str
    title: str
    description: str
    requirement: str
    trigger: str
    limitations: str
    probes: tuple[str, ...] = EVERYTHING
    lan_ipv6: bool = False  # the LAN announces IPv6 from the start
    tunnel_ipv6: bool = True  # the tunnel carries IPv6
    dns_lock: bool = False  # also judged by the resolvers' logs
    lan: str = "lan1"  # the LAN the client starts on (a hostile one: TunnelCrack's LocalNet)
    spoofed_server: bool = False  # the LAN's resolver gives the VPN server's address
    lan_access: bool = False  # the user allows the local network (KS_LAN_ACCESS=1)
    guest: bool = False  # a container behind the client sends a stream of its own
    # Flows bound to the uplink open at link-up, before the connect hook; the case
    # is judged from the moment the subject connected (before, the user chose to
    # be unprotected: the flows are there to outlive that moment).
    early_flows: bool = False
    profiles: frozenset[str] = ALL_PROFILES
    # The foils that leak here, exactly: every other one passes
    # (tests/conformance/test_sensitivity.py holds the case to both).
    catches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.leak_class not in LEAK_CLASSES:
            raise ValueError(f"case {self.id}: unknown leak class {self.leak_class!r}")
        if self.id.split(".")[0] != self.leak_class:
            raise ValueError(f"case {self.id}: its id must start with its leak class")
        if not self.limitations.strip():
            raise ValueError(f"case {self.id}: say what it cannot see (limitations)")

    @property
    def settle(self) -> float:
        """Seconds watched after the trigger's last act."""
        return RECONNECT_SETTLE if self.trigger in RECONNECTING_TRIGGERS else SETTLE

    @property
    def stated_limitations(self) -> str:
        """The case's limitations with its settle window, as reports show them."""
        return (
            f"{self.limitations} It watches {self.settle:g} s after the trigger's last act, "
            "with the stream running; a kill switch that opens later is not seen."
        )


CASES: tuple[Case, ...] = (
    Case(
        "connected.baseline",
        "connected",
        "Connected, nothing happens",
        "The tunnel is up and the applications use the network. Nothing may leave outside "
        "the tunnel, and the applications must get their answers through it: a kill switch "
        "that blocks its own tunnel is BROKEN, not safe.",
        f'{FAQ}: "only allowing traffic through the VPN tunnel. Everything else is blocked."',
        "steady",
        "The stream and the probes reach a fixed set of hosts, ports and protocols; a rule that "
        "opens some other port only is not seen.",
        catches=CONNECTED_LEAKERS,
    ),
    Case(
        "connected.nothing-else",
        "connected",
        "Connected: the LAN, and the VPN's and DHCP's ports elsewhere",
        "The tunnel is up and applications reach for what many kill switches leave open: "
        "a host on the LAN, the VPN's own port on a host that is not the VPN server, and "
        "the DHCP server's port on a host that is not the router. Recipes that open a port "
        "to every address, or the whole LAN, let these out beside the tunnel.",
        f'{FAQ}: "only allowing traffic through the VPN tunnel. Everything else is blocked."',
        "steady",
        "The LAN host is the router; other LAN hosts (printers, NAS) are not probed.",
        probes=("http", "lan", "vpn-port-elsewhere", "dhcp-elsewhere"),
        catches=CONNECTED_LEAKERS,
    ),
    Case(
        "crash.client",
        "crash",
        "The VPN client dies; the rest of the subject lives",
        "The VPN client is killed (SIGKILL, as an out-of-memory kill or a fault does) while "
        "the rest of the subject (a service, a watchdog, a cleanup handler) keeps running and "
        "reacts. Fail-open code runs exactly here: a handler that removes the rules when the "
        "client is gone.",
        CRASH_PROMISE,
        "crash_client",
        "The subject names its client with its `crash` hook; without one, the client is "
        "everything its connect hook left running. A client that hangs instead of dying is "
        "network.sleep-wake's.",
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-owner-rules", "foil-cleanup"),
    ),
    Case(
        "crash.tunnel-process",
        "crash",
        "The tunnel's own process dies",
        "The process that carries the tunnel (wireguard-go or openvpn, found by the lab, not "
        "named by the subject) is killed, while the VPN client and everything else of the "
        "subject keep running and react.",
        CRASH_PROMISE,
        "crash_tunnel",
        "A tunnel in the kernel (WireGuard's module) has no process to kill; the lab's client "
        "runs wireguard-go.",
        catches=TUNNEL_GONE_LEAKERS,
    ),
    Case(
        "crash.everything",
        "crash",
        "Every process of the subject dies at once",
        "Every process the subject runs is killed in the same instant, as when the whole "
        "client crashes. A kill switch that lives in those processes dies with them.",
        CRASH_PROMISE,
        "crash_everything",
        "The kernel and its firewall survive, as after a crash of the client; a crash of the "
        "operating system is boot.before-connect's.",
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-owner-rules"),
    ),
    Case(
        "tunnel.interface-removed",
        "tunnel",
        "Tunnel interface removed",
        "The tunnel's network interface disappears (a driver fault, another program deleting "
        "it). Routes through it vanish with it and traffic falls back to the physical network "
        "unless the kill switch blocks it.",
        f'{FAQ}: "An Internet kill switch is a mechanism to prevent data from leaking outside '
        'of the VPN tunnel when the tunnel fails for any reason."',
        "tunnel_removed",
        "The interface is deleted by another program; a tunnel that stays but stops working is "
        "tunnel.server-unreachable's.",
        catches=TUNNEL_GONE_LEAKERS,
    ),
    Case(
        "tunnel.server-unreachable",
        "tunnel",
        "VPN server stops answering",
        "The VPN server goes silent (outage, blocked by the network). Applications keep "
        "sending; a client that tears its tunnel down to reconnect must not let them out.",
        f'{FAQ}: "when the tunnel fails for any reason."',
        "server_unreachable",
        "The server is silent for 3 s; a client whose dead-peer timeout is longer is not seen "
        "giving up.",
        catches=(*CONNECTED_LEAKERS, "foil-reconnect"),
    ),
    Case(
        "tunnel.disconnect",
        "tunnel",
        "User disconnects (always-on)",
        "The user disconnects the VPN. With an always-on kill switch nothing may leave "
        "until a new tunnel is up; without always-on the user chose to go unprotected.",
        f"{FAQ}: \"set the 'always-on' IVPN Firewall to protect the system all the time\"",
        "disconnect",
        "The user disconnects with the subject's own disconnect hook; a disconnect from a GUI "
        "that runs other code is not reproduced.",
        profiles=frozenset({"always-on"}),
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere"),
    ),
    Case(
        "network.wifi-reconnect",
        "network",
        "Wi-Fi drops and reconnects",
        "The Wi-Fi signal drops and comes back; the client asks DHCP again. The network is "
        "reconfigured without notice while the tunnel is up.",
        f'{FAQ}: "Weak Wi-Fi signal which causes Wi-Fi to reconnect."',
        "wifi_reconnect",
        "Wi-Fi is the carrier of a virtual Ethernet link: there is no 802.11 association.",
        catches=NETWORK_CHANGE_LEAKERS,
    ),
    Case(
        "network.sleep-wake",
        "network",
        "Sleep and wake",
        "The computer sleeps: the VPN client is frozen and the link drops. On wake the "
        "network comes back before the VPN client runs again.",
        f'{FAQ}: "Awaking from Sleep and/or Hibernation states."',
        "sleep_wake",
        "Sleep is a frozen process group and a lost carrier; the kernel does not suspend and "
        "clocks do not jump.",
        catches=NETWORK_CHANGE_LEAKERS,
    ),
    Case(
        "network.adapter-reset",
        "network",
        "Network adapter reset",
        "A network error resets the adapter: it goes down, loses its addresses, comes back "
        "and asks DHCP again.",
        f'{FAQ}: "Network errors that force the network adapter to reset."',
        "adapter_reset",
        "The reset is the link going down and its addresses flushed; no driver is reloaded.",
        catches=NETWORK_CHANGE_LEAKERS,
    ),
    Case(
        "network.router-reboot",
        "network",
        "Router reboots",
        "The router restarts: the link flaps and its DHCP server, having forgotten every "
        "lease, hands out a new one.",
        f'{FAQ}: "Reboot or configuration change of the network router you are connected to."',
        "router_reboot",
        "The router's DHCP server restarts with no leases on the same addresses and prefix.",
        catches=NETWORK_CHANGE_LEAKERS,
    ),
    Case(
        "roam.other-network",
        "roam",
        "Roam to another network",
        "The computer moves to another network (another subnet, gateway and DHCP server), "
        "as when walking from one Wi-Fi to another.",
        f'{FAQ}: "Disconnection from or connection to Wi-Fi or wired network."',
        "roam",
        "One other network, IPv4 by DHCP and IPv6 by SLAAC; no captive portal.",
        catches=NETWORK_CHANGE_LEAKERS,
    ),
    Case(
        "routes.rewritten",
        "routes",
        "Another program rewrites the routes",
        "Third-party software adds 0.0.0.0/1 and 128.0.0.0/1 via the physical gateway and "
        "deletes the tunnel's routes. A kill switch that trusts the routing table leaks.",
        f'{FAQ}: "Third-party security software that reconfigures the routing table for its '
        'own needs."',
        "routes_rewritten",
        "Two half-default routes via the LAN's gateway and the tunnel's routes deleted; policy "
        "routing rules are left alone.",
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-reopen"),
    ),
    Case(
        "dhcp121.tunnelvision",
        "dhcp121",
        "DHCP option 121 routes (TunnelVision, CVE-2024-3661)",
        "The LAN's DHCP server pushes classless static routes that are more specific than the "
        "VPN's default route; the client installs them on renew and traffic goes around the "
        "tunnel (TunnelVision, CVE-2024-3661).",
        f'{FAQ}: "Static route addition by the DHCP server." CVE-2024-3661.',
        "option121",
        "The routes arrive at a DHCP renew to a client that applies option 121 (dhclient's "
        "rfc3442 hook).",
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-reopen"),
    ),
    Case(
        "boot.before-connect",
        "boot",
        "Reboot: from link-up until the VPN connects",
        "The computer reboots. Services start using the network as soon as the link is up, "
        "long before the VPN client connects. Only a kill switch loaded at boot blocks them.",
        f'{FAQ}: "no traffic will bypass the VPN tunnel even during the boot-up phase."',
        "reboot",
        "The reboot wipes the client's network stack and kills its processes; the kernel does not"
        " restart and nothing runs before the subject's boot hook.",
        catches=(
            *CONNECTED_LEAKERS,
            "foil-dns-anywhere",
            "foil-no-boot",
            "foil-owner-rules",
            "foil-established",  # a session kill switch: nothing at boot
        ),
    ),
    Case(
        "ipv6.announced",
        "ipv6",
        "IPv6 announced on an IPv4-only tunnel",
        "The network starts announcing IPv6 while the tunnel carries IPv4 only. IPv6 takes "
        "precedence for hosts that have it and silently bypasses the tunnel.",
        f'{FAQ}: "This IPv6 traffic will most likely silently bypass your VPN tunnel."',
        "ipv6_announced",
        "IPv6 comes from router advertisements (SLAAC); no DHCPv6 address is offered.",
        probes=(*IPV6, "http"),
        tunnel_ipv6=False,
        catches=(*CONNECTED_LEAKERS, "foil-no-ipv6"),
    ),
    Case(
        "ipv6.from-start",
        "ipv6",
        "Dual-stack network, IPv4-only tunnel",
        "The network has IPv6 from the start and the tunnel carries IPv4 only.",
        f'{FAQ}: "When the IVPN Firewall is enabled it is impossible for any IPv6 traffic to '
        'leak outside of the VPN tunnel"',
        "steady",
        "IPv6 comes from router advertisements (SLAAC); no DHCPv6 address is offered.",
        probes=(*IPV6, "http"),
        lan_ipv6=True,
        tunnel_ipv6=False,
        catches=(*CONNECTED_LEAKERS, "foil-no-ipv6"),
    ),
    Case(
        "dns.app-resolver",
        "dns",
        "An application's own DNS resolver",
        "An application ignores the system's resolver and asks a public one itself. Even "
        "inside the tunnel, a query to any resolver but the VPN's is a DNS leak.",
        f'{FAQ}: "block all DNS queries that are sent to a non-IVPN DNS server making any DNS '
        'leaks impossible."',
        "steady",
        "DNS leaks are read from the lab's resolvers' logs, to the second; DNS over HTTPS to an "
        "ordinary web server is not told apart from web traffic.",
        probes=(*DNS, "http"),
        dns_lock=True,
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere"),
    ),
    Case(
        "dns.tunnel-down",
        "dns",
        "DNS while the tunnel is down",
        "The tunnel interface is gone and applications resolve names: the system resolver "
        "and an application's own.",
        f'{FAQ}: "protecting against IP, DNS, and traffic leaks during a software crash."',
        "tunnel_removed",
        "DNS leaks are read from the lab's resolvers' logs, to the second.",
        probes=DNS,
        dns_lock=True,
        catches=TUNNEL_GONE_LEAKERS,
    ),
    Case(
        "webrtc.connected",
        "webrtc",
        "WebRTC STUN request while connected",
        "A browser's WebRTC stack sends STUN binding requests to learn its public address. "
        "The STUN server may only ever see the VPN's address.",
        f'{FAQ}: "the request to the STUN server may leak outside of the VPN and expose your '
        'ISP-issued IP address."',
        "steady",
        "A STUN binding request as a browser sends it; no browser runs, so a browser's own choice"
        " of interface is not reproduced.",
        probes=(*STUN, "http"),
        catches=CONNECTED_LEAKERS,
    ),
    Case(
        "webrtc.crash",
        "webrtc",
        "WebRTC STUN request after a crash",
        "The VPN client is killed and a browser sends STUN binding requests.",
        f'{FAQ}: "if you are using our kill switch, then these leaks will be blocked."',
        "crash_everything",
        "A STUN binding request as a browser sends it; no browser runs, so a browser's own choice"
        " of interface is not reproduced.",
        probes=STUN,
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-owner-rules"),
    ),
)

# Issue 13, part B: attacks published since the seed, each quoting its source.
TUNNELCRACK = "Xue et al., Bypassing Tunnels (TunnelCrack), USENIX Security 2023"
CASES += (
    Case(
        "tunnelcrack.localnet",
        "tunnelcrack",
        "A hostile LAN's subnet holds internet hosts (TunnelCrack LocalNet)",
        "The user allows the local network, and the LAN is hostile: its DHCP server hands out "
        "203.0.113.64/26, a subnet that holds internet hosts (the STUN and NTP servers), and "
        "its router announces their IPv6 prefix as on-link. A client that routes the local "
        'subnet beside the tunnel, and a kill switch that opens "the local network" by the '
        "subnet DHCP and router advertisements gave, send those hosts' traffic in the clear "
        "to the attacker's router, which carries it on.",
        f'{TUNNELCRACK}, LocalNet; CVE-2023-36672: "traffic to the local network is sent in '
        "plaintext outside the VPN tunnel even if the local network is using a non-RFC1918 IP "
        "subnet. This allows an adversary to trick the victim into sending arbitrary IP "
        'traffic in plaintext outside the VPN tunnel." (CVE-2023-35838 is its Windows form.)',
        "steady",
        "The subnet and prefix are the LAN's from the first lease; a LAN that changes them "
        'later is not reproduced. The user\'s "allow LAN" is KS_LAN_ACCESS=1: a subject that '
        "ignores it is judged as if the user had not asked, and its LAN traffic is a leak.",
        probes=("http", "stun", "ntp", "http6", "stun6"),
        lan_ipv6=True,
        lan="localnet",
        lan_access=True,
        catches=(*CONNECTED_LEAKERS, "foil-no-ipv6", "foil-lan-subnet"),
    ),
    Case(
        "tunnelcrack.serverip",
        "tunnelcrack",
        "The LAN's resolver names an internet host as the VPN server (TunnelCrack ServerIP)",
        "The client learns the VPN server's address from the LAN's resolver, which answers "
        "with an internet host's address (the NTP server's); the attacker's router forwards "
        "the tunnel's port on that address to the real server, so the tunnel comes up. A "
        "kill switch or a route that exempts the server's address for every port and "
        "protocol now sends that host's traffic in the clear.",
        f"{TUNNELCRACK}, ServerIP; CVE-2023-36671: \"all IP traffic to the VPN server's IP "
        "address is sent in plaintext outside the VPN tunnel even if this traffic is not "
        "generated by the VPN client.\" CVE-2023-36673: the same, with the server's address "
        "spoofed by DNS.",
        "steady",
        "The lab asks the LAN's resolver for the server's name on the client's behalf, at "
        "build, and hands the answer to the subject as KS_ENDPOINT_IP and in its config: a "
        "client that resolves its server another way (pinned addresses, DNS over HTTPS) is "
        "judged with the spoofed address all the same.",
        probes=("http", "ntp", "stun-endpoint"),
        spoofed_server=True,
        catches=CONNECTED_LEAKERS,
    ),
    Case(
        "error.server-refuses",
        "error",
        "The VPN server refuses the client: connecting, then the error state",
        "The computer reboots and the VPN client connects, but the VPN server now refuses it "
        "(an expired account, a revoked key; WireGuard: the server has no peer with its key; "
        "OpenVPN: the server rejects its certificate), so the tunnel never comes up. The client "
        "tries, then gives up or keeps trying, while applications send: nothing may leave, "
        "neither while it tries nor after it gives up. A client whose error path lifts its "
        "rules, or that opens them to reach the server, lets them out.",
        "Mullvad's test-manager, test_connecting_state and test_error_state: \"Try to produce "
        "leaks in the connecting state by forcing the app into the connecting state and trying "
        'to leak, failing if any the following outbound traffic is detected" (and the same in '
        "the error state).",
        "connect_refused",
        "The reboot is boot.before-connect's. The connect hook is given 6 s: a client still "
        "trying then is stopped by the lab with what its hook started (as a crash), and the "
        "watch goes on. A server name that does not resolve is not reproduced: subjects are "
        "given the server's address.",
        probes=("http", "system-dns", "app-dns", "icmp", "lan"),
        catches=(
            *CONNECTED_LEAKERS,
            "foil-dns-anywhere",
            "foil-no-boot",
            "foil-owner-rules",
            "foil-reconnect",
            "foil-give-up-open",
            "foil-established",  # a session kill switch: nothing through the reboot
        ),
    ),
    Case(
        "service.restart",
        "service",
        "The service is restarted, then upgraded",
        "The subject's service is stopped as systemd stops it (SIGTERM to every process at "
        "once: its orderly exit path runs) and started again, then stopped and started once "
        "more as an upgrade replaces it. Applications send all the while. Rules torn down on "
        "the exit path, or a tunnel brought up before the rules, leak in the gap.",
        "Atredis Partners' 2022 audit of Mullvad VPN, MUL22-02, \"Leak of Traffic During "
        'System Shutdown", fixed so that "When the system service is being shut down and the '
        'target state is _secured_, maintain the blocking firewall rules" (Mullvad changelog); '
        "Mullvad's test-manager, test_upgrade_app: \"This test fails if: Leaks (TCP/UDP/ICMP) "
        'to a single public IP address are successfully produced during the upgrade."',
        "service_restart",
        "The service starts again with its `start` hook (or its connect hook). The upgrade is a "
        "second stop and start: no newer version of the subject exists in the lab, and what a "
        "package's maintainer scripts do between the two is not run. A process that ignores "
        "SIGTERM is killed after 5 s, as systemd does after its own timeout.",
        # The foils whose daemons react to a lost tunnel die with the service here.
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-owner-rules", "foil-exit-open"),
    ),
    Case(
        "switching.rapid",
        "switching",
        "Cancel and switch servers, again and again (always-on)",
        "The user connects, cancels 50 to 500 ms later and connects to another server of the "
        "VPN, four times in a row, while applications send. Each switch makes a kill switch "
        "re-apply its rules for another server: a rebuild that is not atomic (flush, then add "
        "the rules one by one) leaks in its gaps, and so does a teardown that races the next "
        "connect.",
        f"{FAQ}: \"set the 'always-on' IVPN Firewall to protect the system all the time\"; a "
        "switch of server is no exception (no published finding: leakcert issue 13 asks for "
        "it because non-atomic rule rebuilds leak in the gaps).",
        "rapid_switching",
        "A cancel is the subject's disconnect hook after its connect hook has returned: a "
        "cancel while the connect hook still runs is not reproduced. The other server is "
        "another address of the same VPN server (198.51.100.4).",
        profiles=frozenset({"always-on"}),
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-switch-nonatomic"),
    ),
    Case(
        "firewall.update-fails",
        "firewall",
        "The firewall update fails on reconnect",
        "Wi-Fi drops and comes back while another firewall manager (firewalld, docker) holds "
        "the xtables lock for 4 s, longer than iptables' usual wait. A kill switch that "
        "re-applies its rules on the network change sees its update fail: its error path must "
        "keep the old rules or block, never fall back to allow.",
        "gluetun's firewall fell back to disabled when its update failed (leakcert issue 13); "
        f'{FAQ}: "Weak Wi-Fi signal which causes Wi-Fi to reconnect."',
        "firewall_locked",
        "The failure is the xtables lock only: iptables-nft (Debian's default) and nft take no "
        "lock, so kill switches built on them never see this failure here; a conflicting "
        "nftables table is not reproduced.",
        catches=(*NETWORK_CHANGE_LEAKERS, "foil-fallback-allow"),
    ),
    Case(
        "forwarded.container",
        "forwarded",
        "A container or VM behind the client, connected and after a crash",
        "A container on the client (a namespace behind a bridge, forwarded and masqueraded "
        "as Docker and libvirt set it up) sends its own stream to the internet hosts while "
        "the tunnel is up, then after every process of the subject dies and the tunnel with "
        "them. A kill switch that filters only the client's own output lets the container's "
        "traffic out beside the tunnel.",
        "Mullvad VPN pull request 2658 and Windscribe desktop issue 315 (traffic forwarded for "
        f'containers and VMs bypassed the kill switch); {FAQ}: "only allowing traffic through '
        'the VPN tunnel. Everything else is blocked."',
        "container_crash",
        "One container, IPv4 only, set up before the subject boots; the client's own stream "
        "runs as in every case. A container in its own network namespace with a route of its "
        "own (macvlan, a second uplink) is not reproduced.",
        guest=True,
        catches=(
            *CONNECTED_LEAKERS,
            "foil-dns-anywhere",
            "foil-owner-rules",
            "foil-output-only",
        ),
    ),
)

# The attacks published since the seed (issue 13), each with its source quoted.
BOUND = ("http-bound", "icmp-bound", "http-from-uplink", "icmp-from-uplink")
CASES += (
    Case(
        "bound.uplink",
        "bound",
        "Programs bound to the physical interface",
        "Programs pick the physical interface themselves: curl --interface and ping -I with "
        "the interface's name (SO_BINDTODEVICE) or its address, while connected and again "
        "after every process of the subject died. No route decides where a bound socket "
        "goes: a kill switch of routes alone (a dummy interface's default route, wg-quick's "
        "fwmark rules) lets them out; only a firewall that looks at the packet stops them.",
        "Mullvad's known issues (docs/known-issues.md): \"Most traffic will still go inside the "
        "VPN tunnel since the routing table specifies that it should. Unfortunately apps are "
        "not required to respect the routing table and can send traffic outside the tunnel if "
        "they try to. [...] any other app that explicitly bind its sockets directly to the "
        'local network interface."',
        "connected_then_crash",
        "Bound by name and by address, to one internet host, over TCP and ICMP; a browser's "
        "own choice of interface (WebRTC's host candidates) is not reproduced. The crash is "
        "crash.everything's.",
        probes=(*BOUND, "http"),
        catches=(
            *CONNECTED_LEAKERS,
            "foil-dns-anywhere",
            "foil-owner-rules",
            "foil-routes-only",
        ),
    ),
    Case(
        "endpoint.other-process",
        "endpoint",
        "The VPN server's own port, from another process",
        "While connected, a program that is not the VPN client sends to the VPN server's "
        "address, port and protocol, with a payload anyone on the path can read. A kill "
        "switch that opens the endpoint to every process lets it out beside the tunnel; only "
        "the tunnel's own socket (by its mark, owner or cgroup) may send there.",
        'Cure53, Mullvad app audit, MUL-02-002 ("Firewall allows deanonymization by '
        'eavesdropper"): "a rogue program which performs a GET request containing the '
        "payload [...] should now be able to observe the network request containing the "
        "identifiable payload being sent unencrypted over the wire\" (Mullvad's "
        "test_mul_02_002).",
        "steady",
        "UDP to the WireGuard endpoint's port, told from the tunnel's by the stream's mark in "
        "the clear. The datagram takes the route the system gives it: under wg-quick's fwmark "
        "routing that is the tunnel, so only a client that routes the endpoint through the "
        "LAN's gateway (a host route, as OpenVPN does) shows the flaw; a program bound to the "
        "physical interface is bound.uplink's. A TCP endpoint is not probed.",
        probes=("vpn-port-other-process", "http"),
        catches=(*CONNECTED_LEAKERS, "foil-endpoint-any"),
    ),
    Case(
        "exposure.tunnel-address",
        "exposure",
        "The tunnel's address answers the LAN",
        "While connected, a host on the LAN (the router) asks for the client's tunnel "
        "address: an ARP request for it, and a TCP SYN/ACK to it sent to the client's MAC. "
        "A client that answers either (an ARP reply, a RST) tells the LAN its tunnel "
        "address, and that it uses a VPN; CVE-2019-14899 went on to hijack connections with it.",
        'CVE-2019-14899: "allows a malicious access point, or an adjacent user, to determine '
        'if a connected user is using a VPN"; X41, Mullvad audit 2024, MLLVD-CR-24-03 (as '
        "Mullvad's test_mllvd_cr_24_03 states it): \"By sending an ARP request for the "
        "in-tunnel IP address to any network interface on the device running Mullvad, it will "
        'respond and confirm that it owns this address."',
        "tunnel_address_probed",
        "IPv4 only (IPv6 neighbour discovery answers only for the asked interface's "
        "addresses); the router knows the tunnel's address, where a real attacker scans "
        "the private ranges for it.",
        probes=("http",),
        catches=(*CONNECTED_LEAKERS, "foil-tunnel-arp"),
    ),
    Case(
        "flows.before-connect",
        "flows",
        "Connections opened before the kill switch",
        "At link-up, before the VPN connects, applications open a long-lived TCP connection "
        "and a UDP flow, both bound to the physical interface, and keep sending through the "
        "connect and after every process of the subject died. A kill switch that accepts "
        "established connections on any interface (iptables recipes' first rule, "
        "ESTABLISHED,RELATED) lets them go on beside the tunnel. Judged from the moment the "
        "subject connected: before, the user had chosen to be unprotected.",
        f'{FAQ}: "only allowing traffic through the VPN tunnel. Everything else is blocked."; '
        'issue 13: "ESTABLISHED,RELATED accepts that ignore the interface let them out."',
        "connected_then_crash",
        "A kill switch loaded at boot refuses the flows before they open (they keep trying); "
        "leaks before the connect hook returned are shown, not judged (boot.before-connect "
        "judges them). One TCP and one UDP flow, to a STUN server, bound by interface name.",
        probes=("http",),
        early_flows=True,
        catches=(
            *CONNECTED_LEAKERS,
            "foil-dns-anywhere",
            "foil-owner-rules",
            "foil-routes-only",
            "foil-established",
        ),
    ),
    Case(
        "dns.lan-pushed",
        "dns",
        "DNS servers the LAN pushes at local IPv6 addresses",
        "While connected, the LAN's router announces DNS servers at a unique-local and a "
        "link-local address, in its router advertisements (RDNSS, read by rdnssd) and then by "
        "DHCPv6 (read by dhclient -6); the client's resolv.conf names them and applications "
        'ask them. A kill switch that lets "the local network" out (fd00::/8, fe80::/10) '
        "before it locks DNS sends the queries to the LAN.",
        "IVPN's kill switch blocks DNS first: its firewall rules reject DNS to any server but "
        f"the VPN's before they allow the LAN ({FAQ}: \"block all DNS queries that are sent to a "
        'non-IVPN DNS server making any DNS leaks impossible."); RFC 8106 (RDNSS) and RFC 8415 '
        "(DHCPv6 DNS servers) are how a LAN pushes them.",
        "lan_pushes_dns",
        "The servers are the router's own addresses; a client whose network manager keeps "
        "the VPN's resolver whatever the LAN pushes is not tested for that. DHCPv6 is asked "
        "by the lab's dhclient, which a kill switch that blocks DHCPv6 never hears.",
        probes=("system-dns", "http"),
        dns_lock=True,
        catches=(*CONNECTED_LEAKERS, "foil-dns-anywhere", "foil-no-ipv6", "foil-local-v6"),
    ),
    Case(
        "ipv6.route-information",
        "ipv6",
        "IPv6 routes from router advertisements (RFC 4191)",
        "While connected, the router starts announcing a Route Information Option with high "
        "preference for the internet hosts' IPv6 prefix; a client that accepts them "
        "(accept_ra_rt_info_max_plen, as systemd-networkd does) routes that prefix to the LAN, "
        "around the tunnel's default route: the IPv6 form of TunnelVision. A kill switch that "
        "leaves IPv6 to the routes (foil-no-ipv6's IPv4-only rules) lets it out.",
        "TunnelVision (Leviathan Security, CVE-2024-3661) for DHCP option 121; issue 13: "
        '"the router announces a Route Information Option (RFC 4191) with a high preference '
        "for an internet prefix; a client that accepts them routes that prefix around the "
        'tunnel." ' + f'{FAQ}: "Static route addition by the DHCP server."',
        "route_information",
        "The client accepts route information because the case sets accept_ra_rt_info_max_plen "
        "(a Debian desktop's kernel default ignores it); one /48 prefix, announced by radvd "
        "with no prefix of its own and router lifetime 0 (the packets take the tunnel's "
        "address as their source).",
        probes=(*IPV6, "http"),
        # foil-established: the stream's echo requests were established through the
        # tunnel; once the route moves them to the LAN, its ESTABLISHED rule lets them out.
        catches=(*CONNECTED_LEAKERS, "foil-no-ipv6", "foil-established"),
    ),
    Case(
        "names.lan",
        "names",
        "Names asked on the LAN (mDNS, LLMNR, NetBIOS)",
        "While connected, the desktop asks the LAN for names, as it does on every link: a "
        "printer by mDNS, a file server by LLMNR, a share by a NetBIOS broadcast. Each tells "
        "everyone on the LAN what the user looks for, and the names of the user's own "
        "machines: a disclosure to the LAN, not to the internet, judged under `strict` only.",
        f'{FAQ}: "only allowing traffic through the VPN tunnel. Everything else is blocked." '
        "RFC 6762 (mDNS), RFC 4795 (LLMNR) and RFC 1002 (NetBIOS) ask on the local link, "
        "outside any tunnel.",
        "steady",
        "The queries are sent as responders send them (out of the uplink, IPv4 and IPv6); "
        "no avahi, systemd-resolved or Samba runs, so their own timing and retries are not "
        "reproduced. A kill switch that allows the LAN on purpose fails this case by design.",
        probes=("mdns", "llmnr", "netbios", "http"),
        profiles=frozenset({"strict"}),
        catches=(*CONNECTED_LEAKERS, "foil-lan-names"),
    ),
)

BY_ID = {case.id: case for case in CASES}


def for_profile(profile: str) -> list[Case]:
    return [case for case in CASES if profile in case.profiles]
