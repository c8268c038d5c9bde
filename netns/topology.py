"""The lab's topology as data: who is where, on which addresses.

Only documentation and benchmark ranges are used, and no lab namespace is
ever linked to the machine's own.

      client                router                          net (the internet)
    ┌────────┐  wire   ┌──────────────┐   wan    ┌──────────────────────────────┐
    │ uplink ├─────────┤ wire ─ lan1  ├──────────┤ bb 198.51.100.1              │
    │ (DHCP) │ (veth)  │       (lan2) │  NAT     │ lo:  web .10  dns .53        │
    └────────┘         └──────────────┘          │      stun .78 ntp .123       │
        ╎ WireGuard tunnel 198.18.0.0/24         │      (203.0.113.0/24)        │
        ╎                                        └──────────────┬───────────────┘
        ╎                 vpn                                   │ bb
        ╎           ┌─────────────────────┐                     │
        └╌╌╌╌╌╌╌╌╌╌╌┤ wg 198.18.0.1       ├── wan 198.51.100.2 ─┘
                    │ resolver 198.18.0.53│   (also STUN on :3478)
                    └─────────────────────┘

The wire is the client's only link. Its router-side end is a port of the
bridge of the LAN the client is on (lan1, or lan2 after a roam) and is where
the capture runs, so one capture sees the client's every frame across roams.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

HOSTS = ("client", "router", "vpn", "net")
# Interface names: the client's only link, its router-side end, and each
# server's link to the internet.
UPLINK, WIRE, WAN = "uplink", "wire", "wan"
# Loopback's index in every network namespace (the kernel's LOOPBACK_IFINDEX): no lookup.
LOOPBACK = 1


@dataclass(frozen=True)
class Lan:
    """A LAN the router serves: its bridge, its addresses, its DHCP pool."""

    name: str
    bridge: str
    gateway4: str
    prefix4: str
    pool: tuple[str, str]
    gateway6: str
    prefix6: str

    @property
    def gateway4_cidr(self) -> str:
        return f"{self.gateway4}/{ipaddress.ip_network(self.prefix4).prefixlen}"

    @property
    def gateway6_cidr(self) -> str:
        return f"{self.gateway6}/{ipaddress.ip_network(self.prefix6).prefixlen}"


LAN1 = Lan(
    name="lan1",
    bridge="lan1",
    gateway4="192.0.2.1",
    prefix4="192.0.2.0/24",
    pool=("192.0.2.50", "192.0.2.150"),
    gateway6="2001:db8:1::1",
    prefix6="2001:db8:1::/64",
)
LAN2 = Lan(
    name="lan2",
    bridge="lan2",
    gateway4="198.19.2.1",
    prefix4="198.19.2.0/24",
    pool=("198.19.2.50", "198.19.2.150"),
    gateway6="2001:db8:2::1",
    prefix6="2001:db8:2::/64",
)
LANS = {lan.name: lan for lan in (LAN1, LAN2)}
# TunnelCrack's LocalNet (CVE-2023-36672, CVE-2023-35838): a hostile LAN whose
# subnet holds internet hosts' addresses (STUN's and NTP's; not the web host's,
# which the connect check reaches), and whose router announces the internet
# hosts' IPv6 prefix as on-link. A lab starts on it only when a case asks.
LOCALNET = Lan(
    name="localnet",
    bridge="lan3",
    gateway4="203.0.113.65",
    prefix4="203.0.113.64/26",
    pool=("203.0.113.100", "203.0.113.110"),
    gateway6="2001:db8:ff::1",
    prefix6="2001:db8:ff::/64",
)
HOSTILE_LANS = {LOCALNET.name: LOCALNET}

# A container or VM on the client (Docker's and libvirt's setup): a namespace
# behind a bridge of the client, forwarded and masqueraded by it.
GUEST_BRIDGE, GUEST_LINK = "guests", "guest0"
GUEST_NET, GUEST_GATEWAY, GUEST_ADDRESS = "198.19.100.0/24", "198.19.100.1", "198.19.100.2"

# The backbone between router, vpn and the internet hosts, on the net host's bridge.
BACKBONE4 = "198.51.100.0/24"
NET_BB4, NET_BB6 = "198.51.100.1", "2001:db8:fe::1"
VPN_WAN4, VPN_WAN6 = "198.51.100.2", "2001:db8:fe::2"
ROUTER_WAN4, ROUTER_WAN6 = "198.51.100.3", "2001:db8:fe::3"

# The VPN server.
VPN_ENDPOINT = VPN_WAN4
# Another server of the same VPN, to switch to: an address of the same host (its
# traffic forwarded to the first), so the tunnel and its addresses stay the same.
OTHER_ENDPOINT = "198.51.100.4"
WIREGUARD_PORT = 51820
OPENVPN_PORT = 1194
TUNNEL4 = "198.18.0.0/24"
TUNNEL6 = "2001:db8:100::/64"
VPN_TUNNEL4, VPN_TUNNEL6 = "198.18.0.1", "2001:db8:100::1"
CLIENT_TUNNEL4, CLIENT_TUNNEL6 = "198.18.0.2", "2001:db8:100::2"
VPN_RESOLVER = "198.18.0.53"


@dataclass(frozen=True)
class Service:
    """An internet host's service on the net host."""

    name: str
    address4: str
    address6: str
    port: int


WEB = Service("web", "203.0.113.10", "2001:db8:ff::10", 80)
RESOLVER = Service("dns", "203.0.113.53", "2001:db8:ff::53", 53)
STUN = Service("stun", "203.0.113.78", "2001:db8:ff::78", 3478)
NTP = Service("ntp", "203.0.113.123", "2001:db8:ff::123", 123)
SERVICES = (WEB, RESOLVER, STUN, NTP)

# The one place the lab uses addresses outside the documentation ranges: DNS servers a
# LAN pushes (RDNSS and DHCPv6) at a unique-local (RFC 4193) and a link-local address,
# the ranges kill switches wrongly trust (case dns.lan-pushed). They live on the
# router's LAN bridge only: a link-local address never leaves its link, and nothing
# in the lab routes the unique-local prefix off the client's wire.
LAN_ULA6 = "fd6c:6b63:6572::/64"
RDNSS_SERVERS = ("fd6c:6b63:6572::53", "fe80::53")
DHCP6_DNS_SERVERS = ("fd6c:6b63:6572::153", "fe80::153")

# Names every resolver of the lab answers by itself (no resolver forwards to another).
DOMAIN = "leakcert.test"
WEB_NAME = f"web.{DOMAIN}"
# TunnelCrack's ServerIP (CVE-2023-36671, CVE-2023-36673): the VPN server's name,
# which a hostile LAN's resolver answers with an internet host's address (NTP's);
# its router forwards the tunnel's port on that address to the real server.
VPN_NAME = f"vpn.{DOMAIN}"
SPOOFED_ENDPOINT = NTP.address4


@dataclass(frozen=True)
class Names:
    """Every name a lab creates carries its id, so labs never collide."""

    lab_id: str

    def namespace(self, role: str) -> str:
        return f"lc{self.lab_id}-{role}"

    @property
    def server_wg(self) -> str:
        # wireguard-go's control sockets are shared by every namespace: unique names.
        return f"wgs{self.lab_id}"

    @property
    def client_wg(self) -> str:
        return f"wgc{self.lab_id}"

    @property
    def server_ovpn(self) -> str:
        return f"ovs{self.lab_id}"

    @property
    def client_ovpn(self) -> str:
        # `tun` first: recipes match OpenVPN's device as `tun+`, as on a desktop.
        return f"tun{self.lab_id}"
