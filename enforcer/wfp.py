"""The WFP backend (Windows): render a Policy as a JSON description of WFP objects.

There is no Windows here, so nothing is applied: `render` gives a deterministic,
reviewable document that a small Windows-side applier loads with the Fwpm* API
(FwpmEngineOpen0, FwpmTransactionBegin0, FwpmProviderAdd0, FwpmSubLayerAdd0,
FwpmFilterAdd0, FwpmTransactionCommit0). The document names WFP's own
identifiers (layers, condition fields, match types, value types, flags), so a
reviewer reads it against Microsoft's documentation and the applier looks each
name up in a table.

The model:

- one provider and one sublayer of highest weight (0xFFFF). Within a sublayer
  the matching filter of highest weight decides; across sublayers a block
  overrides a permit, so another firewall can only block more;
- filters at FWPM_LAYER_ALE_AUTH_CONNECT_V4/V6 (outbound connections) and
  FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4/V6 (inbound ones; replies to allowed
  connections belong to their flow and are not classified there again);
- weights are FWP_UINT8 ranges (0-15), in the order of the nftables
  renderer's output chain: loopback 15, endpoints 14, DHCP and ND 13, DNS to
  the VPN resolvers 12, other DNS blocked 11, the tunnels 10, the LAN 9,
  block everything 0;
- every condition field appears at most once per filter, so a filter is the
  AND of its conditions and needs no rule about how WFP combines repeats;
- the tunnel is an interface LUID, which exists only on the machine: the
  condition names the interface alias and the applier resolves it with
  ConvertInterfaceAliasToLuid. An alias with no adapter drops the filters that
  name it; they only permit, so that fails closed;
- the tunnel's process, if given (`tunnel_app`), narrows the endpoint filters
  with FWPM_CONDITION_ALE_APP_ID (the applier calls FwpmGetAppIdFromFileName0).
  WireGuard for Windows sends from its kernel driver, which has no app id:
  give no app for it;
- always-on: provider, sublayer and filters are persistent (they survive a
  reboot and a BFE restart), and a block-all set is added again as boot-time
  filters, enforced from the moment tcpip.sys starts until BFE starts (the two
  flags cannot be set on one filter). session: nothing is persistent; the
  filters last until `down` or a reboot.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from typing import Any

from enforcer.policy import Policy, PolicyError

FORMAT = "leakcert-wfp/1"
NAMESPACE = uuid.UUID("6c65616b-6365-7274-2d77-66702d6b6579")
PROVIDER_KEY = str(uuid.uuid5(NAMESPACE, "provider"))
SUBLAYER_KEY = str(uuid.uuid5(NAMESPACE, "sublayer"))
SUBLAYER_WEIGHT = 0xFFFF

CONNECT = {4: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", 6: "FWPM_LAYER_ALE_AUTH_CONNECT_V6"}
ACCEPT = {4: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", 6: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6"}
PROTOCOL = {"icmp6": 58, "tcp": 6, "udp": 17}
DNS_PORTS = (53, 853)
LAN = {
    4: ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"),
    6: ("fe80::/10", "fc00::/7"),
}
ND_OUT = (133, 134, 135, 136)  # router solicit/advert, neighbour solicit/advert
MLD = (130, 131, 132, 143)  # listener query, report, done, MLDv2 report
WEIGHT = {
    "loopback": 15,
    "endpoint": 14,
    "dhcp-nd": 13,
    "dns-permit": 12,
    "dns-block": 11,
    "tunnel": 10,
    "lan": 9,
    "block": 0,
}
_APP = re.compile(r"[A-Za-z]:\\[^\x00-\x1f\"*?<>|]+")

Condition = dict[str, Any]


def check_app(path: str) -> str:
    """An absolute Windows path to the tunnel's executable, or a PolicyError."""
    if not _APP.fullmatch(path):
        raise PolicyError(f"WFP app {path!r} is not an absolute Windows path (C:\\...)")
    return path


def _cond(field: str, type_: str, value: Any, match: str = "FWP_MATCH_EQUAL") -> Condition:
    key = "value"
    if type_ == "FWP_UINT64" and field == "FWPM_CONDITION_IP_LOCAL_INTERFACE":
        key = "interfaceAlias"
    elif type_ == "FWP_BYTE_BLOB_TYPE":
        key = "appPath"
    return {"fieldKey": field, "matchType": match, "conditionValue": {"type": type_, key: value}}


def _remote(network: str) -> Condition:
    """The remote address: one host (its plain type) or a prefix (an address mask)."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        type_ = "FWP_UINT32" if net.version == 4 else "FWP_BYTE_ARRAY16_TYPE"
        return _cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", type_, str(net.network_address))
    if net.version == 4:
        value = {"addr": str(net.network_address), "mask": str(net.netmask)}
        return _cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_V4_ADDR_MASK", value)
    value = {"addr": str(net.network_address), "prefixLength": net.prefixlen}
    return _cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_V6_ADDR_MASK", value)


def _proto(name: str) -> Condition:
    return _cond("FWPM_CONDITION_IP_PROTOCOL", "FWP_UINT8", PROTOCOL[name])


def _port(side: str, port: int) -> Condition:
    return _cond(f"FWPM_CONDITION_IP_{side}_PORT", "FWP_UINT16", port)


def _icmp_type(number: int) -> Condition:
    return _cond("FWPM_CONDITION_ICMP_TYPE", "FWP_UINT16", number)


def _interface(alias: str) -> Condition:
    return _cond("FWPM_CONDITION_IP_LOCAL_INTERFACE", "FWP_UINT64", alias)


LOOPBACK = _cond(
    "FWPM_CONDITION_FLAGS",
    "FWP_UINT32",
    "FWP_CONDITION_FLAG_IS_LOOPBACK",
    "FWP_MATCH_FLAGS_ALL_SET",
)


class _Filters:
    """Filters in the order they are rendered; keys derive from their content."""

    def __init__(self, flags: list[str]) -> None:
        self.flags = flags
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, layer: str, rank: str, conditions: list[Condition]) -> None:
        action = "FWP_ACTION_BLOCK" if rank in ("block", "dns-block") else "FWP_ACTION_PERMIT"
        content = json.dumps([layer, action, self.flags, conditions], sort_keys=True)
        self.items.append(
            {
                "filterKey": str(uuid.uuid5(NAMESPACE, content)),
                "displayData": {"name": f"leakcert: {name}"},
                "layerKey": layer,
                "subLayerKey": SUBLAYER_KEY,
                "providerKey": PROVIDER_KEY,
                "weight": {"type": "FWP_UINT8", "value": WEIGHT[rank]},
                "flags": list(self.flags),
                "action": {"type": action},
                "filterCondition": conditions,
            }
        )


def _base(out: _Filters) -> None:
    """What every set has, block-all included: loopback, DHCP, ND/MLD, and block the rest."""
    for version in (4, 6):
        out.add(f"loopback out (IPv{version})", CONNECT[version], "loopback", [LOOPBACK])
        out.add(f"loopback in (IPv{version})", ACCEPT[version], "loopback", [LOOPBACK])
    udp = _proto("udp")
    out.add("DHCPv4 out", CONNECT[4], "dhcp-nd", [udp, _port("LOCAL", 68), _port("REMOTE", 67)])
    out.add("DHCPv4 in", ACCEPT[4], "dhcp-nd", [udp, _port("LOCAL", 68), _port("REMOTE", 67)])
    for dst in ("ff02::1:2/128", "fe80::/10"):
        conditions = [udp, _port("LOCAL", 546), _port("REMOTE", 547), _remote(dst)]
        out.add(f"DHCPv6 out to {dst}", CONNECT[6], "dhcp-nd", conditions)
    conditions = [udp, _port("LOCAL", 546), _port("REMOTE", 547), _remote("fe80::/10")]
    out.add("DHCPv6 in", ACCEPT[6], "dhcp-nd", conditions)
    icmp6 = _proto("icmp6")
    for number in ND_OUT + MLD:
        for dst in ("fe80::/10", "ff02::/16"):
            conditions = [icmp6, _icmp_type(number), _remote(dst)]
            out.add(f"ICMPv6 type {number} out to {dst}", CONNECT[6], "dhcp-nd", conditions)
    for number in ND_OUT:
        out.add(f"ICMPv6 type {number} in", ACCEPT[6], "dhcp-nd", [icmp6, _icmp_type(number)])
    for number in MLD:
        conditions = [icmp6, _icmp_type(number), _remote("fe80::/10")]
        out.add(f"ICMPv6 type {number} in from fe80::/10", ACCEPT[6], "dhcp-nd", conditions)
    for version in (4, 6):
        out.add(f"block out (IPv{version})", CONNECT[version], "block", [])
        out.add(f"block in (IPv{version})", ACCEPT[version], "block", [])


def _policy_filters(policy: Policy, out: _Filters, app: str | None) -> None:
    for e in policy.endpoints:
        conditions = [
            _remote(str(ipaddress.ip_network(e.address))),
            _proto(e.protocol),
            _port("REMOTE", e.port),
        ]
        if app is not None:
            conditions.append(_cond("FWPM_CONDITION_ALE_APP_ID", "FWP_BYTE_BLOB_TYPE", app))
        out.add(f"endpoint {e}", CONNECT[e.address.version], "endpoint", conditions)
    versions = (4, 6) if policy.tunnel_ipv6 else (4,)
    for tunnel in policy.tunnels:
        for r in policy.resolvers:
            if r.version not in versions:
                continue
            for proto in ("udp", "tcp"):
                for port in DNS_PORTS:
                    conditions = [
                        _interface(tunnel),
                        _remote(str(ipaddress.ip_network(r))),
                        _proto(proto),
                        _port("REMOTE", port),
                    ]
                    name = f"DNS {proto}/{port} to {r} through {tunnel}"
                    out.add(name, CONNECT[r.version], "dns-permit", conditions)
    for version in (4, 6):
        for proto in ("udp", "tcp"):
            for port in DNS_PORTS:
                name = f"other DNS {proto}/{port} (IPv{version})"
                conditions = [_proto(proto), _port("REMOTE", port)]
                out.add(name, CONNECT[version], "dns-block", conditions)
    for tunnel in policy.tunnels:
        for version in versions:
            for direction, layers in (("out", CONNECT), ("in", ACCEPT)):
                name = f"tunnel {tunnel} {direction} (IPv{version})"
                out.add(name, layers[version], "tunnel", [_interface(tunnel)])
    if policy.lan_access:
        for version in (4, 6):
            for net in LAN[version]:
                out.add(f"LAN {net}", CONNECT[version], "lan", [_remote(net)])


def render_document(policy: Policy | None, tunnel_app: str | None = None) -> dict[str, Any]:
    """The WFP objects for `policy` as a JSON-ready mapping; None renders block-all."""
    app = check_app(tunnel_app) if tunnel_app is not None else None
    always_on = policy is None or policy.mode == "always-on"
    persistent = ["FWPM_FILTER_FLAG_PERSISTENT"] if always_on else []
    filters = _Filters(persistent)
    if policy is not None:
        _policy_filters(policy, filters, app)
    _base(filters)
    boot: list[dict[str, Any]] = []
    if always_on:
        boot_filters = _Filters(["FWPM_FILTER_FLAG_BOOTTIME"])
        _base(boot_filters)
        boot = boot_filters.items
    return {
        "format": FORMAT,
        "policy": _policy_json(policy),
        "applier": {
            "session": "not dynamic: the objects outlive the applier",
            "transaction": "delete every filter, the sublayer and the provider of providerKey,"
            " then add these; one FwpmTransactionBegin0/FwpmTransactionCommit0, so a failure"
            " changes nothing",
            "down": "the same deletions in one transaction; for an always-on policy only when"
            " forced, as `leakcert-enforcer down --force`",
            "interfaceAlias": "ConvertInterfaceAliasToLuid; an alias with no adapter drops the"
            " filters naming it (permits only: fails closed)",
            "appPath": "FwpmGetAppIdFromFileName0",
        },
        "provider": {
            "providerKey": PROVIDER_KEY,
            "displayData": {"name": "leakcert", "description": "leakcert-enforcer kill switch"},
            "flags": ["FWPM_PROVIDER_FLAG_PERSISTENT"] if always_on else [],
        },
        "sublayer": {
            "subLayerKey": SUBLAYER_KEY,
            "providerKey": PROVIDER_KEY,
            "displayData": {"name": "leakcert", "description": "leakcert-enforcer filters"},
            "flags": ["FWPM_SUBLAYER_FLAG_PERSISTENT"] if always_on else [],
            "weight": SUBLAYER_WEIGHT,
        },
        "filters": sorted(filters.items, key=_order),
        "bootTimeFilters": sorted(boot, key=_order),
    }


def _order(item: dict[str, Any]) -> tuple[int, str, str]:
    # Highest weight first, as WFP evaluates them; then by layer and name, for reading.
    return (-item["weight"]["value"], item["layerKey"], item["displayData"]["name"])


def _policy_json(policy: Policy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "mode": policy.mode,
        "tunnels": list(policy.tunnels),
        "endpoints": [str(e) for e in policy.endpoints],
        "resolvers": [str(r) for r in policy.resolvers],
        "tunnel_ipv6": policy.tunnel_ipv6,
        "lan_access": policy.lan_access,
    }


def _dump(value: Any, indent: str = "") -> str:
    """JSON with a value on one line when it fits in 100 columns, else one member a line."""
    flat = json.dumps(value)
    if len(indent) + len(flat) <= 100 or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_dump(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(f"{inner}{_dump(v, inner)}" for v in value) + f"\n{indent}]"


def render(policy: Policy | None, tunnel_app: str | None = None) -> str:
    """The document as JSON for reading: the same policy gives the same bytes."""
    return _dump(render_document(policy, tunnel_app)) + "\n"
