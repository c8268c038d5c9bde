"""Independent readers of the pf and WFP artifacts, and what the policy means, packet by packet.

No pf or WFP runs on Linux, so the property tests read the rendered text the
way each engine would, within the subset the renderers emit:

- `PfRuleset` parses the anchor strictly (a word outside that subset is an
  error, never skipped) and evaluates it as pf does: the first matching quick
  rule decides; with no match pf's own default is to pass.
- `WfpDocument` evaluates the JSON as filter arbitration does within one
  sublayer: the matching filter of highest weight decides; with no match the
  sublayer has no say and the packet is permitted.
- `expected` is the policy's meaning (enforcer/README.md), written from the
  policy alone, never from an artifact.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from enforcer.policy import Policy

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LAN = {
    4: [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    + [ipaddress.ip_network("169.254.0.0/16")],
    6: [ipaddress.ip_network(n) for n in ("fe80::/10", "fc00::/7")],
}
LINK_LOCAL = ipaddress.ip_network("fe80::/10")
LINK_MULTICAST = ipaddress.ip_network("ff02::/16")
DHCP6_SERVERS = ipaddress.ip_address("ff02::1:2")
ND = {133, 134, 135, 136}
MLD = {130, 131, 132, 143}
LOOPBACK_IF = "lo0"


@dataclass(frozen=True)
class Packet:
    """The first packet of a flow, as the host sees it (ports of ICMPv6 are unused)."""

    direction: str  # "out" or "in"
    interface: str  # LOOPBACK_IF, a tunnel, or a physical interface
    protocol: str  # "udp", "tcp" or "icmp6"
    remote: Address
    remote_port: int = 0
    local_port: int = 0
    icmp_type: int = 0
    user: str = "nobody"  # the socket's owner (pf)
    app: str = "C:\\other.exe"  # the sending program (WFP)

    @property
    def version(self) -> int:
        return self.remote.version


def _in(address: Address, networks: list[Any]) -> bool:
    return any(address in n for n in networks)


def is_endpoint(policy: Policy, p: Packet) -> bool:
    return any(
        (e.address, e.protocol, e.port) == (p.remote, p.protocol, p.remote_port)
        for e in policy.endpoints
    )


def _always(p: Packet) -> bool:
    """What even block-all lets through: loopback, DHCP, neighbour discovery and MLD."""
    if p.interface == LOOPBACK_IF:
        return True
    udp, icmp6 = p.protocol == "udp", p.protocol == "icmp6" and p.version == 6
    ports = (p.local_port, p.remote_port)
    if p.direction == "out":
        return (
            (udp and p.version == 4 and ports == (68, 67))
            or (
                udp
                and p.version == 6
                and ports == (546, 547)
                and (p.remote in LINK_LOCAL or p.remote == DHCP6_SERVERS)
            )
            or (icmp6 and p.icmp_type in ND | MLD and _in(p.remote, [LINK_LOCAL, LINK_MULTICAST]))
        )
    return (
        (udp and p.version == 4 and ports == (68, 67))
        or (udp and p.version == 6 and ports == (546, 547) and p.remote in LINK_LOCAL)
        or (icmp6 and p.icmp_type in ND)
        or (icmp6 and p.icmp_type in MLD and p.remote in LINK_LOCAL)
    )


def expected(policy: Policy | None, p: Packet, identity_ok: bool = True) -> bool:
    """Whether the policy lets this packet through (README: "What the rules allow")."""
    if policy is not None and p.direction == "out" and is_endpoint(policy, p) and identity_ok:
        return True
    if _always(p):
        return True
    if policy is None:
        return False
    in_tunnel = p.interface in policy.tunnels and (p.version == 4 or policy.tunnel_ipv6)
    if p.direction == "in":
        return in_tunnel
    if p.protocol in ("udp", "tcp") and p.remote_port in (53, 853):
        return in_tunnel and p.remote in policy.resolvers
    if in_tunnel:
        return True
    return policy.lan_access and _in(p.remote, LAN[p.version])


# ---------------------------------------------------------------- pf


class PfSyntaxError(AssertionError):
    """A word the strict reader does not know: the renderer left the checked subset."""


def _tokens(line: str) -> list[str]:
    return line.replace("{", " { ").replace("}", " } ").replace(",", " ").split()


def _take_list(words: list[str]) -> list[str]:
    if words[0] != "{":
        return [words.pop(0)]
    words.pop(0)
    items = []
    while words[0] != "}":
        items.append(words.pop(0))
    words.pop(0)
    if not items:
        raise PfSyntaxError("empty list")
    return items


@dataclass
class PfRule:
    action: str
    direction: str | None
    interfaces: list[str] | None
    family: int | None
    protocol: str | None
    src: list[str]
    src_ports: list[int] | None
    dst: list[str]
    dst_ports: list[int] | None
    icmp6_types: list[int] | None
    user: str | None

    @classmethod
    def parse(cls, line: str) -> PfRule:
        words = _tokens(line)
        action = words.pop(0)
        if action not in ("pass", "block"):
            raise PfSyntaxError(f"unknown action in {line!r}")
        if action == "block":
            style = words.pop(0)
            if style not in ("return", "drop"):
                raise PfSyntaxError(f"block without return/drop in {line!r}")
        direction = words.pop(0) if words[0] in ("in", "out") else None
        if words.pop(0) != "quick":
            raise PfSyntaxError(f"rule is not quick: {line!r}")
        rule = cls(action, direction, None, None, None, ["any"], None, ["any"], None, None, None)
        if words[0] == "on":
            words.pop(0)
            rule.interfaces = _take_list(words)
        if words[0] in ("inet", "inet6"):
            rule.family = 4 if words.pop(0) == "inet" else 6
        if words[0] == "proto":
            words.pop(0)
            rule.protocol = words.pop(0)
            if rule.protocol not in ("udp", "tcp", "icmp6"):
                raise PfSyntaxError(f"unknown protocol in {line!r}")
        if words[0] == "all":
            words.pop(0)
        else:
            for side in ("from", "to"):
                if words.pop(0) != side:
                    raise PfSyntaxError(f"expected {side!r} in {line!r}")
                hosts = _take_list(words)
                for h in hosts:
                    if h != "any":
                        ipaddress.ip_network(h)  # raises on anything else
                ports = None
                if words and words[0] == "port":
                    words.pop(0)
                    ports = [int(x) for x in _take_list(words)]
                if side == "from":
                    rule.src, rule.src_ports = hosts, ports
                else:
                    rule.dst, rule.dst_ports = hosts, ports
        state_words = []
        while words:
            word = words.pop(0)
            if word == "icmp6-type":
                rule.icmp6_types = [int(x) for x in _take_list(words)]
            elif word == "user":
                rule.user = words.pop(0)
            elif word in ("flags", "keep", "no"):
                state_words += [word, words.pop(0)]
            else:
                raise PfSyntaxError(f"unknown word {word!r} in {line!r}")
        if action == "pass" and state_words not in (
            ["keep", "state"],
            ["no", "state"],
            ["flags", "any", "keep", "state"],
        ):
            raise PfSyntaxError(f"pass rule without a known state option: {line!r}")
        if "flags" in state_words and rule.protocol not in (None, "tcp"):
            raise PfSyntaxError(f"flags on a rule that is not tcp: {line!r}")
        return rule

    def matches(self, p: Packet) -> bool:
        local_ports = [p.local_port]
        if self.direction not in (None, p.direction):
            return False
        if self.interfaces is not None and p.interface not in self.interfaces:
            return False
        if self.family not in (None, p.version):
            return False
        if self.protocol not in (None, p.protocol):
            return False
        # pf's "from" is the source: the host on the way out, the remote on the way in.
        src_is_local = p.direction == "out"
        src = (None, local_ports) if src_is_local else (p.remote, [p.remote_port])
        dst = (p.remote, [p.remote_port]) if src_is_local else (None, local_ports)
        for hosts, ports, (addr, pkt_ports) in (
            (self.src, self.src_ports, src),
            (self.dst, self.dst_ports, dst),
        ):
            if hosts != ["any"]:
                if addr is None:
                    raise PfSyntaxError("a rule names the host's own address: not modelled")
                if not any(addr in ipaddress.ip_network(h) for h in hosts):
                    return False
            if ports is not None and (p.protocol == "icmp6" or pkt_ports[0] not in ports):
                return False
        if self.icmp6_types is not None and p.icmp_type not in self.icmp6_types:
            return False
        return self.user in (None, p.user)


class PfRuleset:
    def __init__(self, text: str) -> None:
        lines = [line.strip() for line in text.splitlines()]
        self.rules = [PfRule.parse(line) for line in lines if line and not line.startswith("#")]

    def decide(self, p: Packet) -> str:
        """ "pass", "block", or "default" (no rule matched: pf would pass it)."""
        for rule in self.rules:
            if rule.matches(p):
                return rule.action
        return "default"


# ---------------------------------------------------------------- WFP

LAYERS = {
    ("out", 4): "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
    ("out", 6): "FWPM_LAYER_ALE_AUTH_CONNECT_V6",
    ("in", 4): "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
    ("in", 6): "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6",
}
PROTOCOLS = {"icmp6": 58, "tcp": 6, "udp": 17}


def _wfp_condition(c: dict[str, Any], p: Packet) -> bool:
    field, match, value = c["fieldKey"], c["matchType"], c["conditionValue"]
    kind = value["type"]
    if field == "FWPM_CONDITION_FLAGS":
        assert (match, kind, value["value"]) == (
            "FWP_MATCH_FLAGS_ALL_SET",
            "FWP_UINT32",
            "FWP_CONDITION_FLAG_IS_LOOPBACK",
        ), c
        return p.interface == LOOPBACK_IF
    assert match == "FWP_MATCH_EQUAL", c
    if field == "FWPM_CONDITION_IP_LOCAL_INTERFACE":
        assert kind == "FWP_UINT64", c
        return p.interface == value["interfaceAlias"]
    if field == "FWPM_CONDITION_ALE_APP_ID":
        assert kind == "FWP_BYTE_BLOB_TYPE", c
        return p.app == value["appPath"]
    if field == "FWPM_CONDITION_IP_PROTOCOL":
        assert kind == "FWP_UINT8", c
        return PROTOCOLS[p.protocol] == value["value"]
    if field in ("FWPM_CONDITION_IP_REMOTE_PORT", "FWPM_CONDITION_IP_LOCAL_PORT"):
        assert kind == "FWP_UINT16", c
        port = p.remote_port if "REMOTE" in field else p.local_port
        return p.protocol != "icmp6" and port == value["value"]
    if field == "FWPM_CONDITION_ICMP_TYPE":
        assert kind == "FWP_UINT16", c
        return p.protocol == "icmp6" and p.icmp_type == value["value"]
    if field == "FWPM_CONDITION_IP_REMOTE_ADDRESS":
        v = value["value"]
        if kind in ("FWP_UINT32", "FWP_BYTE_ARRAY16_TYPE"):
            return p.remote == ipaddress.ip_address(v)
        if kind == "FWP_V4_ADDR_MASK":
            return p.remote in ipaddress.ip_network(f"{v['addr']}/{v['mask']}")
        if kind == "FWP_V6_ADDR_MASK":
            return p.remote in ipaddress.ip_network(f"{v['addr']}/{v['prefixLength']}")
    raise AssertionError(f"condition not modelled: {c}")


class WfpDocument:
    def __init__(self, document: dict[str, Any], set_name: str = "filters") -> None:
        self.filters = document[set_name]

    def layer(self, name: str) -> list[dict[str, Any]]:
        return [f for f in self.filters if f["layerKey"] == name]

    def decide(self, p: Packet) -> str:
        """ "permit", "block", or "default" (no filter matched: WFP would permit it)."""
        candidates = sorted(
            self.layer(LAYERS[(p.direction, p.version)]),
            key=lambda f: -f["weight"]["value"],
        )
        for f in candidates:
            if all(_wfp_condition(c, p) for c in f["filterCondition"]):
                return "permit" if f["action"]["type"] == "FWP_ACTION_PERMIT" else "block"
        return "default"
