"""Property tests of the pf and WFP renderers, read by independent models (no root, no engine).

For any valid policy: every packet gets a decision from the artifact itself
(nothing falls through to the engine's default pass), that decision is the
policy's meaning, no internet destination is reachable outside the tunnel but
the endpoints, and each endpoint is open for exactly its address, protocol and
port. The nftables ruleset is held to the same rules by the kernel in
test_traffic.py and test_properties.py.
"""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcer import nftables, pf, wfp
from enforcer.policy import Policy, PolicyError
from tests.enforcer.firewall_models import (
    LAYERS,
    LOOPBACK_IF,
    Packet,
    PfRuleset,
    WfpDocument,
    expected,
    is_endpoint,
)
from tests.enforcer.strategies import bsd_ifnames, policies, v4, v6

SETTINGS = settings(max_examples=150, deadline=None)
USER = "_leakcert"
APP = "C:\\Program Files\\OpenVPN\\bin\\openvpn.exe"
PHYSICAL = "en0"
SPECIAL = [ipaddress.ip_address(a) for a in ("ff02::1:2", "ff02::1", "ff02::16", "fe80::1")]
LANS = [
    st.ip_addresses(network=n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
] + [st.ip_addresses(network=n) for n in ("fe80::/10", "fc00::/7")]
maybe_policies = st.one_of(st.none(), policies(bsd_ifnames))


@st.composite
def packets(draw: st.DrawFn, policy: Policy | None) -> Packet:
    """Packets aimed where the rules draw lines: endpoints, resolvers, LAN, link-local, DNS."""
    known = [e.address for e in policy.endpoints] + list(policy.resolvers) if policy else []
    remote = draw(st.one_of(st.sampled_from([*known, *SPECIAL]), v4, v6, *LANS))
    ports = [53, 853, 67, 68, 546, 547, 443, *(e.port for e in policy.endpoints)] if policy else []
    port = st.one_of(st.sampled_from(ports or [53, 67, 68, 546, 547]), st.integers(1, 65535))
    protocols = ["udp", "tcp", "icmp6"] if remote.version == 6 else ["udp", "tcp"]
    interfaces = [*(policy.tunnels if policy else ()), PHYSICAL, LOOPBACK_IF]
    return Packet(
        direction=draw(st.sampled_from(["out", "in"])),
        interface=draw(st.sampled_from(interfaces)),
        protocol=draw(st.sampled_from(protocols)),
        remote=remote,
        remote_port=draw(port),
        local_port=draw(port),
        icmp_type=draw(st.sampled_from([1, 128, 129, 130, 131, 132, 133, 134, 135, 136, 143])),
        user=draw(st.sampled_from([USER, "nobody"])),
        app=draw(st.sampled_from([APP, "C:\\other.exe"])),
    )


def _pf_decide(policy: Policy | None, user: str | None, p: Packet) -> bool:
    decision = PfRuleset(pf.render(policy, user)).decide(p)
    assert decision != "default", f"no rule decides {p}: pf would pass it"
    return decision == "pass"


def _wfp_decide(
    policy: Policy | None, app: str | None, p: Packet, set_name: str = "filters"
) -> bool:
    decision = WfpDocument(wfp.render_document(policy, app), set_name).decide(p)
    assert decision != "default", f"no filter decides {p}: WFP would permit it"
    return decision == "permit"


@SETTINGS
@given(policy=maybe_policies, narrow=st.booleans(), data=st.data())
def test_each_artifact_decides_every_packet_as_the_policy_says(
    policy: Policy | None, narrow: bool, data: st.DataObject
) -> None:
    user, app = (USER, APP) if narrow else (None, None)
    ruleset = PfRuleset(pf.render(policy, user))
    document = wfp.render_document(policy, app)
    always_on = policy is None or policy.mode == "always-on"
    for p in data.draw(st.lists(packets(policy), min_size=1, max_size=20), label="packets"):
        decisions = {
            "pf": ruleset.decide(p),
            "wfp": WfpDocument(document).decide(p),
            # Until BFE starts, the boot-time filters alone: block-all.
            **(
                {"wfp boot": WfpDocument(document, "bootTimeFilters").decide(p)}
                if always_on
                else {}
            ),
        }
        assert "default" not in decisions.values(), (p, decisions)
        assert decisions["pf"] == (
            "pass" if expected(policy, p, user in (None, p.user)) else "block"
        ), p
        assert decisions["wfp"] == (
            "permit" if expected(policy, p, app in (None, p.app)) else "block"
        ), p
        if always_on:
            assert decisions["wfp boot"] == ("permit" if expected(None, p) else "block"), p


@SETTINGS
@given(policy=maybe_policies)
def test_every_artifact_blocks_by_default(policy: Policy | None) -> None:
    # nftables: each base chain drops what no rule accepts (the kernel proves the rest in
    # test_properties.py and test_traffic.py).
    hooks = re.findall(
        r"type filter hook (\w+) priority filter; policy (\w+);", nftables.render(policy)
    )
    assert sorted(hooks) == [("forward", "drop"), ("input", "drop"), ("output", "drop")]
    rules = PfRuleset(pf.render(policy)).rules
    last = [(r.action, r.direction, r.interfaces, r.protocol, r.src, r.dst) for r in rules[-2:]]
    assert last == [
        ("block", "out", None, None, ["any"], ["any"]),
        ("block", "in", None, None, ["any"], ["any"]),
    ]
    document = wfp.render_document(policy)
    for layer in LAYERS.values():
        in_layer = WfpDocument(document).layer(layer)
        lowest = min(in_layer, key=lambda f: f["weight"]["value"])
        assert lowest["action"]["type"] == "FWP_ACTION_BLOCK" and not lowest["filterCondition"]
        assert sum(not f["filterCondition"] for f in in_layer) == 1


@SETTINGS
@given(policy=policies(bsd_ifnames), remote=st.one_of(v4, v6), data=st.data())
def test_no_internet_destination_outside_the_tunnel_but_the_endpoints(
    policy: Policy, remote: ipaddress.IPv4Address | ipaddress.IPv6Address, data: st.DataObject
) -> None:
    p = Packet(
        direction="out",
        interface=PHYSICAL,
        protocol=data.draw(st.sampled_from(["udp", "tcp"])),
        remote=remote,
        remote_port=data.draw(st.integers(1, 65535)),
        local_port=data.draw(st.integers(1, 65535)),
        user=USER,
        app=APP,
    )
    # DHCPv4 (68 to 67) may go to any server address: the one documented exception.
    dhcp = (p.version, p.protocol, p.local_port, p.remote_port) == (4, "udp", 68, 67)
    allowed = is_endpoint(policy, p) or dhcp
    assert _pf_decide(policy, USER, p) == allowed
    assert _wfp_decide(policy, APP, p) == allowed


@SETTINGS
@given(policy=policies(bsd_ifnames), narrow=st.booleans())
def test_each_endpoint_exactly(policy: Policy, narrow: bool) -> None:
    user, app = (USER, APP) if narrow else (None, None)
    for e in policy.endpoints:
        exact = Packet("out", PHYSICAL, e.protocol, e.address, e.port, 40000, user=USER, app=APP)
        other_port = Packet(
            "out", PHYSICAL, e.protocol, e.address, e.port % 65535 + 1, 40000, user=USER, app=APP
        )
        other_protocol = Packet(
            "out", PHYSICAL, "tcp" if e.protocol == "udp" else "udp", e.address, e.port, 40000
        )
        stranger = Packet(
            "out", PHYSICAL, e.protocol, e.address, e.port, 40000
        )  # nobody, other.exe
        for p, allowed in (
            (exact, True),
            (other_port, is_endpoint(policy, other_port)),
            (other_protocol, is_endpoint(policy, other_protocol)),
            (stranger, not narrow),
        ):
            assert _pf_decide(policy, user, p) == allowed, (p, pf.render(policy, user))
            assert _wfp_decide(policy, app, p) == allowed, p


@SETTINGS
@given(policy=maybe_policies)
def test_wfp_document_is_well_formed(policy: Policy | None) -> None:
    document = wfp.render_document(policy, APP)
    always_on = policy is None or policy.mode == "always-on"
    filters, boot = document["filters"], document["bootTimeFilters"]
    keys = [f["filterKey"] for f in filters + boot]
    assert len(keys) == len(set(keys))
    for f in filters:
        assert f["flags"] == (["FWPM_FILTER_FLAG_PERSISTENT"] if always_on else [])
        assert 0 <= f["weight"]["value"] <= 15 and f["weight"]["type"] == "FWP_UINT8"
        fields = [c["fieldKey"] for c in f["filterCondition"]]
        assert len(fields) == len(set(fields)), f  # one value per field: AND only
    assert all(f["flags"] == ["FWPM_FILTER_FLAG_BOOTTIME"] for f in boot)
    assert bool(boot) == always_on
    assert document["provider"]["flags"] == (["FWPM_PROVIDER_FLAG_PERSISTENT"] if always_on else [])
    # Filters of one weight in one layer agree, so the order WFP picks among them is moot.
    for layer in LAYERS.values():
        actions: dict[int, set[str]] = {}
        for f in WfpDocument(document).layer(layer):
            actions.setdefault(f["weight"]["value"], set()).add(f["action"]["type"])
        assert all(len(a) == 1 for a in actions.values()), (layer, actions)
    # Rendering is deterministic: the same policy gives the same bytes.
    assert wfp.render(policy, APP) == wfp.render(policy, APP)
    assert json.loads(wfp.render(policy, APP)) == document


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: pf.render(None, "bad user"), "not a user name or uid"),
        (lambda: pf.render(Policy(("wg-home",), ("203.0.113.1:51820",))), "BSD interface"),
        (lambda: wfp.render(None, "openvpn.exe"), "absolute Windows path"),
        (lambda: wfp.render(None, 'C:\\a"b.exe'), "absolute Windows path"),
    ],
)
def test_options_are_checked(call: object, words: str) -> None:
    with pytest.raises(PolicyError, match=words):
        call()  # type: ignore[operator]
