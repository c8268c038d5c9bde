"""The cases: each one event under test, as data.

A case names its trigger, the probes its applications send, the lab it needs,
the oracles that judge it, the profiles it belongs to, and the foils it must
catch (the flawed subjects that prove it is sensitive). Its description and
requirement are shown verbatim in reports.
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
)
PROFILES = ("seed", "strict", "always-on")
ALL_PROFILES = frozenset(PROFILES)

WEB = ("http", "system-dns", "icmp", "ntp")
DNS = ("system-dns", "app-dns")
STUN = ("stun", "stun-endpoint")
IPV6 = ("http6", "icmp6", "stun6")
# Ports some recipes open to every address: only outside the tunnel do they show.
ELSEWHERE = ("vpn-port-elsewhere", "dhcp-elsewhere")
EVERYTHING = (*WEB, "app-dns", *STUN, *IPV6, *ELSEWHERE)

FAQ = "IVPN kill switch FAQ"


@dataclass(frozen=True)
class Case:
    id: str
    leak_class: str
    title: str
    description: str
    requirement: str
    trigger: str
    probes: tuple[str, ...] = EVERYTHING
    lan_ipv6: bool = False  # the LAN announces IPv6 from the start
    tunnel_ipv6: bool = True  # the tunnel carries IPv6
    dns_lock: bool = False  # also judged by the resolvers' logs
    profiles: frozenset[str] = ALL_PROFILES
    # The control and the foils that leak here, exactly: every other one passes
    # (tests/conformance/test_sensitivity.py holds the case to both).
    catches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        assert self.leak_class in LEAK_CLASSES, self.leak_class
        assert self.id.split(".")[0] == self.leak_class, self.id


CASES: tuple[Case, ...] = (
    Case(
        "connected.baseline",
        "connected",
        "Connected, nothing happens",
        "The tunnel is up and the applications use the network. Nothing may leave outside "
        "the tunnel, and the applications must get their answers through it: a kill switch "
        "that blocks its own tunnel is BROKEN, not safe.",
        f'{FAQ}: "only allowing traffic through the VPN tunnel. Everything else is blocked."',
        "connected",
        catches=("foil-server-ip",),
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
        "connected",
        probes=("http", "lan", "vpn-port-elsewhere", "dhcp-elsewhere"),
        catches=("none", "foil-watcher"),
    ),
    Case(
        "crash.sigkill",
        "crash",
        "VPN client killed (SIGKILL)",
        "Every process of the VPN client is killed at once, as an out-of-memory kill or a "
        "crash does. The tunnel is gone; a kill switch that lives in the client dies with it.",
        f'{FAQ}: "if the VPN client, any part of the tunnel, or your desktop OS crashes, no '
        "traffic will leave the computer until IVPN Firewall is disabled manually or a new "
        'VPN tunnel is established."',
        "crash",
        catches=("none", "foil-watcher", "foil-owner-rules", "foil-dns-anywhere", "foil-server-ip"),
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
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip", "foil-reconnect"),
    ),
    Case(
        "tunnel.server-unreachable",
        "tunnel",
        "VPN server stops answering",
        "The VPN server goes silent (outage, blocked by the network). Applications keep "
        "sending; a client that tears its tunnel down to reconnect must not let them out.",
        f'{FAQ}: "when the tunnel fails for any reason."',
        "server_unreachable",
        catches=("foil-server-ip", "foil-reconnect"),
    ),
    Case(
        "tunnel.disconnect",
        "tunnel",
        "User disconnects (always-on)",
        "The user disconnects the VPN. With an always-on kill switch nothing may leave "
        "until a new tunnel is up; without always-on the user chose to go unprotected.",
        f"{FAQ}: \"set the 'always-on' IVPN Firewall to protect the system all the time\"",
        "disconnect",
        profiles=frozenset({"always-on"}),
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip"),
    ),
    Case(
        "network.wifi-reconnect",
        "network",
        "Wi-Fi drops and reconnects",
        "The Wi-Fi signal drops and comes back; the client asks DHCP again. The network is "
        "reconfigured without notice while the tunnel is up.",
        f'{FAQ}: "Weak Wi-Fi signal which causes Wi-Fi to reconnect."',
        "wifi_reconnect",
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip", "foil-reconnect"),
    ),
    Case(
        "network.sleep-wake",
        "network",
        "Sleep and wake",
        "The computer sleeps: the VPN client is frozen and the link drops. On wake the "
        "network comes back before the VPN client runs again.",
        f'{FAQ}: "Awaking from Sleep and/or Hibernation states."',
        "sleep_wake",
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip", "foil-reconnect"),
    ),
    Case(
        "network.adapter-reset",
        "network",
        "Network adapter reset",
        "A network error resets the adapter: it goes down, loses its addresses, comes back "
        "and asks DHCP again.",
        f'{FAQ}: "Network errors that force the network adapter to reset."',
        "adapter_reset",
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-reconnect"),
    ),
    Case(
        "network.router-reboot",
        "network",
        "Router reboots",
        "The router restarts: the link flaps and its DHCP server, having forgotten every "
        "lease, hands out a new one.",
        f'{FAQ}: "Reboot or configuration change of the network router you are connected to."',
        "router_reboot",
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip", "foil-reconnect"),
    ),
    Case(
        "roam.other-network",
        "roam",
        "Roam to another network",
        "The computer moves to another network (another subnet, gateway and DHCP server), "
        "as when walking from one Wi-Fi to another.",
        f'{FAQ}: "Disconnection from or connection to Wi-Fi or wired network."',
        "roam",
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-reconnect"),
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
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip"),
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
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-server-ip"),
    ),
    Case(
        "boot.before-connect",
        "boot",
        "Reboot: from link-up until the VPN connects",
        "The computer reboots. Services start using the network as soon as the link is up, "
        "long before the VPN client connects. Only a kill switch loaded at boot blocks them.",
        f'{FAQ}: "no traffic will bypass the VPN tunnel even during the boot-up phase."',
        "reboot",
        catches=(
            "none",
            "foil-watcher",
            "foil-owner-rules",
            "foil-no-boot",
            "foil-dns-anywhere",
            "foil-server-ip",
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
        probes=(*IPV6, "http"),
        tunnel_ipv6=False,
        catches=("none", "foil-watcher", "foil-no-ipv6"),
    ),
    Case(
        "ipv6.from-start",
        "ipv6",
        "Dual-stack network, IPv4-only tunnel",
        "The network has IPv6 from the start and the tunnel carries IPv4 only.",
        f'{FAQ}: "When the IVPN Firewall is enabled it is impossible for any IPv6 traffic to '
        'leak outside of the VPN tunnel"',
        "connected",
        probes=(*IPV6, "http"),
        lan_ipv6=True,
        tunnel_ipv6=False,
        catches=("none", "foil-watcher", "foil-no-ipv6"),
    ),
    Case(
        "dns.app-resolver",
        "dns",
        "An application's own DNS resolver",
        "An application ignores the system's resolver and asks a public one itself. Even "
        "inside the tunnel, a query to any resolver but the VPN's is a DNS leak.",
        f'{FAQ}: "block all DNS queries that are sent to a non-IVPN DNS server making any DNS '
        'leaks impossible."',
        "connected",
        probes=(*DNS, "http"),
        dns_lock=True,
        catches=("none", "foil-watcher", "foil-dns-anywhere"),
    ),
    Case(
        "dns.tunnel-down",
        "dns",
        "DNS while the tunnel is down",
        "The tunnel interface is gone and applications resolve names: the system resolver "
        "and an application's own.",
        f'{FAQ}: "protecting against IP, DNS, and traffic leaks during a software crash."',
        "tunnel_removed",
        probes=DNS,
        dns_lock=True,
        catches=("none", "foil-watcher", "foil-dns-anywhere", "foil-reconnect"),
    ),
    Case(
        "webrtc.connected",
        "webrtc",
        "WebRTC STUN request while connected",
        "A browser's WebRTC stack sends STUN binding requests to learn its public address. "
        "The STUN server may only ever see the VPN's address.",
        f'{FAQ}: "the request to the STUN server may leak outside of the VPN and expose your '
        'ISP-issued IP address."',
        "connected",
        probes=(*STUN, "http"),
        catches=("foil-server-ip",),
    ),
    Case(
        "webrtc.crash",
        "webrtc",
        "WebRTC STUN request after a crash",
        "The VPN client is killed and a browser sends STUN binding requests.",
        f'{FAQ}: "if you are using our kill switch, then these leaks will be blocked."',
        "crash",
        probes=STUN,
        catches=("none", "foil-watcher", "foil-owner-rules", "foil-server-ip"),
    ),
)

BY_ID = {case.id: case for case in CASES}


def for_profile(profile: str) -> list[Case]:
    return [case for case in CASES if profile in case.profiles]
