"""The nftables backend: render a Policy as one `inet leakcert` table and apply it atomically.

The script always has the shape

    table inet leakcert            # create if absent, so the delete cannot fail
    delete table inet leakcert     # drop the old rules ...
    table inet leakcert { ... }    # ... and add the new ones

and is fed to a single `nft -f -`, which is one kernel transaction: a replace
never opens a window with no rules, and a failed apply (bad syntax, a kernel
refusal) leaves the previous table exactly as it was.

Policy data lives in named sets (tunnels, endpoints, resolvers) and a comment
(on the table and on the first output rule) carries the flags, so `read_policy`
can recover the policy from `nft -j list table inet leakcert` alone.

Verdicts: traffic leaving the host that the policy refuses is rejected with
icmpx admin-prohibited (applications fail at once instead of timing out);
unsolicited inbound traffic is dropped.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from typing import Any

from enforcer.policy import Endpoint, Policy, PolicyError

FAMILY = "inet"
TABLE = "leakcert"
# A drop verdict in any base chain is final whatever other tables say, so plain
# "filter" priority coexists with firewalld, docker or wg-quick tables.
PRIORITY = "filter"
COMMENT_PREFIX = "leakcert-enforcer"
BLOCK_ALL = "block-all"
REJECT = "reject with icmpx admin-prohibited"

# DNS (53), DNS over TLS (853/tcp) and DNS over QUIC (853/udp).
DNS_PORTS = "{ udp . 53, tcp . 53, udp . 853, tcp . 853 }"
# The only networks "LAN access" ever opens (never what DHCP claims is local:
# TunnelCrack LocalNet).
LAN4 = "{ 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 }"
LAN6 = "{ fe80::/10, fc00::/7 }"
ND_TYPES = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"
MLD_TYPES = "mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report"


class NftError(Exception):
    """nft is missing or refused the script (one-line message; rules untouched)."""


def _elements(items: list[str]) -> str:
    return f"; elements = {{ {', '.join(items)} }}" if items else ""


def _endpoint_elements(endpoints: tuple[Endpoint, ...], version: int) -> list[str]:
    return [
        f"{e.address} . {e.protocol} . {e.port}" for e in endpoints if e.address.version == version
    ]


def render(policy: Policy | None) -> str:
    """The nft script for `policy`; None renders block-all (loopback, DHCP and ND only)."""
    if policy is None:
        comment = f"{COMMENT_PREFIX} {BLOCK_ALL}"
        tunnels: list[str] = []
        ep4: list[str] = []
        ep6: list[str] = []
        res4: list[str] = []
        res6: list[str] = []
        tunnel_ipv6 = lan = False
        mark = 0
    else:
        comment = (
            f"{COMMENT_PREFIX} mode={policy.mode} tunnel_ipv6={int(policy.tunnel_ipv6)}"
            f" lan_access={int(policy.lan_access)} endpoint_mark={policy.endpoint_mark}"
        )
        tunnels = [f'"{t}"' for t in policy.tunnels]
        ep4 = _endpoint_elements(policy.endpoints, 4)
        ep6 = _endpoint_elements(policy.endpoints, 6)
        res4 = [str(r) for r in policy.resolvers if r.version == 4]
        res6 = [str(r) for r in policy.resolvers if r.version == 6]
        tunnel_ipv6, lan = policy.tunnel_ipv6, policy.lan_access
        mark = policy.endpoint_mark
    # Only the tunnel's own socket carries its mark: another process that sends
    # to the endpoint's port is refused (Cure53 MUL-02-002).
    by_tunnel = f" meta mark {mark:#x}" if mark else ""

    # IPv6 rides the tunnel only when the tunnel carries IPv6.
    tun_family = "" if tunnel_ipv6 else "meta nfproto ipv4 "
    egress = [
        f"meta l4proto . th dport {DNS_PORTS} jump dns",
        f"oifname @tunnels {tun_family}accept",
    ]
    replies = [f"iifname @tunnels {tun_family}ct state established,related accept"]
    if lan:
        egress += [f"ip daddr {LAN4} accept", f"ip6 daddr {LAN6} accept"]
        replies += [
            f"ip saddr {LAN4} ct state established,related accept",
            f"ip6 saddr {LAN6} ct state established,related accept",
        ]
    dns = ["oifname @tunnels ip daddr @resolvers4 accept"]
    if tunnel_ipv6:
        dns.append("oifname @tunnels ip6 daddr @resolvers6 accept")
    dns.append(REJECT)

    def base(hook: str) -> str:
        return f"type filter hook {hook} priority {PRIORITY}; policy drop;"

    chains = {
        "output": [
            base("output"),
            # The metadata rides on a rule: nft 1.0.6 omits table comments from JSON.
            f'oif "lo" accept comment "{comment}"',
            # Exactly the endpoint's (address, protocol, port), never any port to
            # that address (TunnelCrack ServerIP). Before the DNS lock: a VPN
            # server may well listen on port 53.
            f"ip daddr . meta l4proto . th dport @endpoints4{by_tunnel} accept",
            f"ip6 daddr . meta l4proto . th dport @endpoints6{by_tunnel} accept",
            "meta nfproto ipv4 udp sport 68 udp dport 67 accept",
            "ip6 daddr { fe80::/10, ff02::1:2 } udp sport 546 udp dport 547 accept",
            f"ip6 daddr {{ fe80::/10, ff02::/16 }} icmpv6 type {{ {ND_TYPES} }} accept",
            f"ip6 daddr {{ fe80::/10, ff02::/16 }} icmpv6 type {{ {MLD_TYPES} }} accept",
            "jump egress",
            REJECT,
        ],
        "input": [
            base("input"),
            'iif "lo" accept',
            "ct state established,related accept",
            f"iifname @tunnels {tun_family}accept",
            "meta nfproto ipv4 udp sport 67 udp dport 68 accept",
            "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept",
            # Hop limit 255 proves the ND packet was not routed (RFC 4861).
            f"icmpv6 type {{ {ND_TYPES} }} ip6 hoplimit 255 accept",
            f"ip6 saddr fe80::/10 icmpv6 type {{ {MLD_TYPES} }} accept",
        ],
        # Containers and VMs behind this host get the same egress rules.
        "forward": [base("forward"), *replies, "jump egress", REJECT],
        "egress": egress,
        "dns": dns,
    }
    sets = {
        "tunnels": ("ifname", tunnels),
        "endpoints4": ("ipv4_addr . inet_proto . inet_service", ep4),
        "endpoints6": ("ipv6_addr . inet_proto . inet_service", ep6),
        "resolvers4": ("ipv4_addr", res4),
        "resolvers6": ("ipv6_addr", res6),
    }
    lines = [
        "# leakcert-enforcer ruleset: generated, applied in one transaction by `nft -f`",
        f"table {FAMILY} {TABLE}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
        f'\tcomment "{comment}"',
    ]
    for name, (kind, items) in sets.items():
        lines.append(f"\tset {name} {{ type {kind}{_elements(items)}; }}")
    for name, body in chains.items():
        lines += ["", f"\tchain {name} {{", *(f"\t\t{rule}" for rule in body), "\t}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def nft_binary() -> str:
    """Path of `nft` on PATH, or NftError."""
    path = shutil.which("nft")
    if path is None:
        raise NftError("nft not found on PATH (install nftables)")
    return path


def _first_error(stderr: str) -> str:
    # nft prints "file:line:col: Error: what" followed by the offending line and
    # carets; keep the first error line only.
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "Error:" in line:
            return line.split("Error:", 1)[1].strip()
    return lines[0] if lines else "no message"


def run_nft(args: list[str], script: str | None = None) -> str:
    """Run nft with `args` (feeding `script` on stdin); stdout, or NftError."""
    proc = subprocess.run(
        [nft_binary(), *args], input=script, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise NftError(f"nft refused the ruleset: {_first_error(proc.stderr)}")
    return proc.stdout


def apply(script: str) -> None:
    """Load `script` in one transaction; on failure the previous rules stay as they were."""
    run_nft(["-f", "-"], script)


def check(script: str) -> None:
    """Parse and validate `script` against the kernel without committing it (root only)."""
    run_nft(["-c", "-f", "-"], script)


def delete() -> bool:
    """Remove the table; False if it was not there. Other tables are never touched."""
    if list_json() is None:
        return False
    run_nft(["delete", "table", FAMILY, TABLE])
    return True


def list_json() -> dict[str, Any] | None:
    """`nft -j list table inet leakcert`, parsed; None when the table is absent."""
    proc = subprocess.run(
        [nft_binary(), "-j", "list", "table", FAMILY, TABLE],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        if "No such file or directory" in proc.stderr:
            return None
        raise NftError(f"cannot list table {FAMILY} {TABLE}: {_first_error(proc.stderr)}")
    return json.loads(proc.stdout)


def _objects(listing: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item[kind] for item in listing.get("nftables", []) if kind in item]


def comment(listing: dict[str, Any]) -> str:
    """The leakcert metadata comment (empty if none)."""
    for rule in _objects(listing, "rule"):
        if rule.get("chain") == "output":
            return str(rule.get("comment", ""))
    return ""


def _set_elements(listing: dict[str, Any], name: str) -> list[Any]:
    for s in _objects(listing, "set"):
        if s.get("name") == name:
            return list(s.get("elem", []))
    raise NftError(f"table {FAMILY} {TABLE} has no set {name!r}: not ours or tampered with")


def read_policy(listing: dict[str, Any]) -> Policy | None:
    """The policy a listed table enforces; None for block-all. NftError if unrecognisable."""
    text = comment(listing)
    if not text.startswith(COMMENT_PREFIX):
        raise NftError(f"table {FAMILY} {TABLE} was not written by leakcert-enforcer")
    if text == f"{COMMENT_PREFIX} {BLOCK_ALL}":
        return None
    try:
        flags = dict(word.split("=", 1) for word in text.split()[1:])
        endpoints = tuple(
            Endpoint(ipaddress.ip_address(a), int(port), proto)
            for name in ("endpoints4", "endpoints6")
            for a, proto, port in (e["concat"] for e in _set_elements(listing, name))
        )
        return Policy(
            tunnels=tuple(_set_elements(listing, "tunnels")),
            endpoints=endpoints,
            resolvers=tuple(
                _set_elements(listing, "resolvers4") + _set_elements(listing, "resolvers6")
            ),
            tunnel_ipv6=flags["tunnel_ipv6"] == "1",
            lan_access=flags["lan_access"] == "1",
            mode=flags["mode"],
            endpoint_mark=int(flags.get("endpoint_mark", "0")),
        )
    except (KeyError, ValueError, TypeError, PolicyError) as err:
        raise NftError(f"table {FAMILY} {TABLE} does not hold a valid policy: {err}") from None


def canonical(listing: dict[str, Any]) -> list[Any]:
    """A listing without metainfo and handles, so two loads of one script compare equal."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "handle"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(item) for item in listing.get("nftables", []) if "metainfo" not in item]


def expected_listing(script: str) -> dict[str, Any]:
    """How the kernel lists `script`, learned by loading it into a scratch network namespace."""
    nft = nft_binary()
    unshare = shutil.which("unshare")
    if unshare is None:
        raise NftError("unshare not found on PATH (install util-linux)")
    proc = subprocess.run(
        [unshare, "--net", "sh", "-c", f'"$0" -f - && "$0" -j list table {FAMILY} {TABLE}', nft],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise NftError(
            f"cannot load the ruleset in a scratch namespace: {_first_error(proc.stderr)}"
        )
    return json.loads(proc.stdout)
