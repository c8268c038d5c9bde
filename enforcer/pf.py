"""The pf backend (macOS): render a Policy as the rules of one anchor, `leakcert`.

Nothing here runs pf: there is no pfctl on Linux. `render` gives the text that
`pfctl -a leakcert -f -` loads in one transaction (a rule pfctl refuses leaves
the anchor's previous rules whole); `up_script` and `down_script` give the
/bin/sh commands a Mac runs as root to load, hook in, enable and remove it.

Every rule is `quick`, so the first match decides, in the order of the nftables
renderer's output chain: loopback, the endpoints, DHCP and neighbour discovery,
the DNS lock, the tunnels, the LAN (with lan_access), then `block return out`
and `block drop in`. Where pf differs from nftables, it says so here:

- pf cannot match a process. The endpoint rules can be narrowed to the socket's
  owner instead (`user`, the `tunnel_user` option: the user the tunnel's
  process runs as; pfctl looks the name up, so it must exist on the Mac);
  without it any process may reach the endpoint's exact address, protocol and
  port, as with nftables.
- pf cannot match a hop limit, so inbound neighbour discovery is allowed from
  any address (nftables requires hop limit 255). It is inbound only: no leak.
- pf passes a packet of an existing state without reading the rules, so the up
  script flushes the states after loading (nftables checks every output packet).
  Pass rules use `flags any`, so a flow the new rules allow re-creates its state.
- Non-first fragments carry no ports and fall to the final block (no scrub).
"""

from __future__ import annotations

import plistlib
import re

from enforcer.policy import Policy, PolicyError

ANCHOR = "leakcert"
PFCTL = "/sbin/pfctl"
TOKEN_FILE = "/var/run/leakcert-pf.token"
# Where `boot` on a Mac puts the up script and the LaunchDaemon that runs it.
UP_SCRIPT_PATH = "/Library/Application Support/leakcert/pf-up.sh"
LAUNCHD_LABEL = "org.leakcert.enforcer"
COMMENT_PREFIX = "leakcert-enforcer"
DNS_PORTS = (53, 853)
LAN4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
LAN6 = ("fe80::/10", "fc00::/7")
LINK6 = ("fe80::/10", "ff02::/16")
# ICMPv6 by number: pf's names for MLD differ between versions, numbers do not.
ND_TYPES = (133, 134, 135, 136)  # router solicit/advert, neighbour solicit/advert
MLD_TYPES = (130, 131, 132, 143)  # listener query, report, done, MLDv2 report
# A user name pf's parser takes as one word, or a uid.
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}|[0-9]{1,10}")
_HEREDOC = "LEAKCERT_PF_RULES"
# BSD interface names are a driver and a unit (utun3, en0): never a pf keyword.
_BSD_IFNAME = re.compile(r"[a-z]+[0-9]+")


def check_user(user: str) -> str:
    """A user name or uid for pf's `user` keyword, or a PolicyError."""
    if not _USER.fullmatch(user):
        raise PolicyError(f"pf user {user!r} is not a user name or uid")
    return user


def _check_tunnels(policy: Policy) -> None:
    for name in policy.tunnels:
        if not _BSD_IFNAME.fullmatch(name):
            raise PolicyError(f"pf: tunnel {name!r} is not a BSD interface name (e.g. utun3)")


def _list(items: list[str] | tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _state(proto: str | None) -> str:
    if proto == "icmp6":
        return "no state"
    # pfctl refuses `flags` on a rule of another protocol; on no protocol it is TCP's.
    return "flags any keep state" if proto in (None, "tcp") else "keep state"


def _rule(
    action: str,
    direction: str | None,
    *,
    on: str | None = None,
    af: str | None = None,
    proto: str | None = None,
    src: str = "any",
    sport: str | None = None,
    dst: str = "any",
    dport: str | None = None,
    icmp6: tuple[int, ...] = (),
    user: str | None = None,
) -> str:
    words = [action, *([direction] if direction else []), "quick"]
    words += [f"on {on}"] if on else []
    words += [af] if af else []
    words += [f"proto {proto}"] if proto else []
    if (src, sport, dst, dport) == ("any", None, "any", None) and not icmp6:
        words.append("all")
    else:
        words += ["from", src, *([f"port {sport}"] if sport else [])]
        words += ["to", dst, *([f"port {dport}"] if dport else [])]
    words += [f"icmp6-type {_list([str(t) for t in icmp6])}"] if icmp6 else []
    words += [f"user {user}"] if user else []
    if action == "pass":
        words.append(_state(proto))
    return " ".join(words)


def _header(policy: Policy | None) -> list[str]:
    if policy is None:
        flags = "block-all"
    else:
        flags = (
            f"mode={policy.mode} tunnel_ipv6={int(policy.tunnel_ipv6)}"
            f" lan_access={int(policy.lan_access)}"
        )
    return [
        f'# {COMMENT_PREFIX} anchor "{ANCHOR}" for pf: {flags}',
        f"# Load with `pfctl -a {ANCHOR} -f -` (one transaction). Every rule is quick:",
        "# the first match decides.",
    ]


def render(policy: Policy | None, tunnel_user: str | None = None) -> str:
    """The anchor's rules for `policy`; None renders block-all (loopback, DHCP and ND only)."""
    user = check_user(tunnel_user) if tunnel_user is not None else None
    if policy is not None:
        _check_tunnels(policy)
    lines = _header(policy)

    def section(comment: str, *rules: str) -> None:
        if rules:
            lines.extend(["", f"# {comment}", *rules])

    section("loopback", _rule("pass", None, on="lo0"))
    if policy is not None:
        eps = []
        for e in policy.endpoints:
            af = "inet" if e.address.version == 4 else "inet6"
            eps.append(
                _rule(
                    "pass",
                    "out",
                    af=af,
                    proto=e.protocol,
                    dst=str(e.address),
                    dport=str(e.port),
                    user=user,
                )
            )
        section(
            "each VPN endpoint: exactly its address, protocol and port "
            + (f"(sockets of user {user})" if user else "(any process: pf cannot match one)"),
            *eps,
        )
    section(
        "DHCPv4 and DHCPv6",
        _rule("pass", "out", af="inet", proto="udp", sport="68", dport="67"),
        _rule("pass", "in", af="inet", proto="udp", sport="67", dport="68"),
        _rule(
            "pass",
            "out",
            af="inet6",
            proto="udp",
            sport="546",
            dst=_list(["fe80::/10", "ff02::1:2"]),
            dport="547",
        ),
        _rule("pass", "in", af="inet6", proto="udp", src="fe80::/10", sport="547", dport="546"),
    )
    section(
        "IPv6 neighbour discovery and MLD (pf cannot match the hop limit)",
        _rule("pass", "out", af="inet6", proto="icmp6", dst=_list(LINK6), icmp6=ND_TYPES),
        _rule("pass", "in", af="inet6", proto="icmp6", icmp6=ND_TYPES),
        _rule("pass", "out", af="inet6", proto="icmp6", dst=_list(LINK6), icmp6=MLD_TYPES),
        _rule("pass", "in", af="inet6", proto="icmp6", src="fe80::/10", icmp6=MLD_TYPES),
    )
    if policy is not None:
        lines.extend(_policy_rules(policy))
    section(
        "everything else: refused on the way out, dropped on the way in",
        "block return out quick all",
        "block drop in quick all",
    )
    return "\n".join(lines) + "\n"


def _policy_rules(policy: Policy) -> list[str]:
    tunnels = _list(policy.tunnels)
    families = ["inet", "inet6"] if policy.tunnel_ipv6 else ["inet"]
    ports = _list([str(p) for p in DNS_PORTS])
    dns = []
    for af, version in (("inet", 4), ("inet6", 6)):
        resolvers = [str(r) for r in policy.resolvers if r.version == version]
        if resolvers and af in families:
            dns += [
                _rule(
                    "pass", "out", on=tunnels, af=af, proto=proto, dst=_list(resolvers), dport=ports
                )
                for proto in ("udp", "tcp")
            ]
    dns += [_rule("block return", "out", proto=proto, dport=ports) for proto in ("udp", "tcp")]
    lines = ["", "# DNS lock: 53 and 853 only to the VPN resolvers through the tunnel", *dns]
    lines += ["", "# the tunnels" + ("" if policy.tunnel_ipv6 else " (IPv4 only: IPv6 is blocked)")]
    lines += [_rule("pass", d, on=tunnels, af=af) for af in families for d in ("out", "in")]
    if policy.lan_access:
        lines += [
            "",
            "# LAN access: the private ranges only, never what DHCP calls local",
            _rule("pass", "out", af="inet", dst=_list(LAN4)),
            _rule("pass", "out", af="inet6", dst=_list(LAN6)),
        ]
    return lines


def up_script(policy: Policy | None, tunnel_user: str | None = None) -> str:
    """A /bin/sh script (run as root on macOS) that puts the anchor in force."""
    rules = render(policy, tunnel_user)
    summary = policy.summary() if policy is not None else "block-all"
    return "\n".join(
        [
            "#!/bin/sh",
            f'# {COMMENT_PREFIX}: put pf anchor "{ANCHOR}" in force (macOS, as root).',
            *(f"#   {line}" for line in summary.splitlines()),
            "set -eu",
            "",
            "# 1. The anchor's rules in one transaction: if pfctl refuses them, the",
            "#    rules in force stay as they were and the script stops here.",
            f"{PFCTL} -q -a {ANCHOR} -f - <<'{_HEREDOC}'",
            rules.rstrip("\n"),
            _HEREDOC,
            "",
            "# 2. pf reads an anchor only where the main ruleset names it: if it does",
            "#    not yet, load /etc/pf.conf again with the anchor appended.",
            f"if ! {PFCTL} -s rules 2>/dev/null | grep -q '^anchor \"{ANCHOR}\"'; then",
            f"    {{ cat /etc/pf.conf; echo 'anchor \"{ANCHOR}\"'; }} | {PFCTL} -q -f -",
            "fi",
            "",
            "# 3. Enable pf with a reference of our own: `down` releases only it.",
            f"if [ ! -s {TOKEN_FILE} ]; then",
            f"    {PFCTL} -E 2>&1 | sed -n 's/^Token : //p' > {TOKEN_FILE}",
            "fi",
            "",
            "# 4. pf passes packets of an existing state without reading the rules:",
            "#    forget every state, so nothing allowed before outlives these rules.",
            f"{PFCTL} -q -F states",
            "",
            "# 5. Never report success while pf is off (someone ran `pfctl -d`).",
            f"{PFCTL} -s info | grep -q '^Status: Enabled' || {{",
            "    echo 'leakcert-enforcer: pf is disabled: the anchor is not in force' >&2",
            "    exit 1",
            "}",
            "",
        ]
    )


def launchd_plist(script_path: str = UP_SCRIPT_PATH) -> str:
    """A LaunchDaemon that runs the up script at every boot (always-on)."""
    job = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": ["/bin/sh", script_path],
        "RunAtLoad": True,
        "StandardErrorPath": "/var/log/leakcert-enforcer.log",
    }
    return plistlib.dumps(job, sort_keys=True).decode()


def down_script() -> str:
    """A /bin/sh script (run as root on macOS) that empties the anchor and releases pf."""
    return "\n".join(
        [
            "#!/bin/sh",
            f'# {COMMENT_PREFIX}: remove pf anchor "{ANCHOR}" (macOS, as root).',
            "set -eu",
            f"{PFCTL} -q -a {ANCHOR} -F rules",
            f"if [ -s {TOKEN_FILE} ]; then",
            f'    {PFCTL} -X "$(cat {TOKEN_FILE})"',
            f"    rm -f {TOKEN_FILE}",
            "fi",
            "",
        ]
    )
