"""The policy model and the renderer's text, without root."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from enforcer import nftables
from enforcer.policy import Endpoint, Policy, PolicyError, load, to_toml


def _policy(**kw: object) -> Policy:
    base: dict[str, object] = {
        "tunnels": ("wg0",),
        "endpoints": ("203.0.113.1:51820/udp",),
        "resolvers": ("10.64.0.1",),
    }
    return Policy(**{**base, **kw})  # type: ignore[arg-type]


def test_endpoint_parse() -> None:
    assert Endpoint.parse("203.0.113.1:51820") == Endpoint(
        ipaddress.ip_address("203.0.113.1"), 51820, "udp"
    )
    ep = Endpoint.parse("[2001:db8::1]:443/tcp")
    assert (str(ep.address), ep.port, ep.protocol) == ("2001:db8::1", 443, "tcp")
    assert str(ep) == "[2001:db8::1]:443/tcp"


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"tunnels": ()}, "no tunnel interface"),
        ({"tunnels": ("lo",)}, "'lo'"),
        ({"tunnels": ("wg 0",)}, "not a valid interface name"),
        ({"tunnels": ("a" * 16,)}, "not a valid interface name"),
        ({"tunnels": ('wg"0',)}, "not a valid interface name"),
        ({"endpoints": ()}, "no VPN endpoint"),
        ({"endpoints": ("203.0.113.1:0",)}, "out of range"),
        ({"endpoints": ("203.0.113.1:65536",)}, "out of range"),
        ({"endpoints": ("203.0.113.1:51820/icmp",)}, "not udp or tcp"),
        ({"endpoints": ("0.0.0.0:51820",)}, "not a unicast"),
        ({"endpoints": ("2001:db8::1:51820",)}, "not ADDR:PORT"),
        ({"endpoints": ("vpn.example:51820",)}, "not a valid IP"),
        ({"resolvers": ("10.64.0.300",)}, "not a valid IP"),
        ({"resolvers": ("2001:db8::53",)}, "tunnel_ipv6 is off"),
        ({"resolvers": ("224.0.0.1",)}, "not a unicast"),
        ({"mode": "sometimes"}, "mode"),
        ({"lan_access": "yes"}, "true or false"),
    ],
)
def test_invalid_policies_refused_in_one_line(kw: dict[str, object], words: str) -> None:
    with pytest.raises(PolicyError, match=words) as info:
        _policy(**kw)
    assert "\n" not in str(info.value)


def test_normalised_and_comparable() -> None:
    a = _policy(tunnels=("wg1", "wg0", "wg1"), resolvers=("10.64.0.2", "10.64.0.1"))
    b = _policy(tunnels=("wg0", "wg1"), resolvers=("10.64.0.1", "10.64.0.2"))
    assert a == b and a.tunnels == ("wg0", "wg1")


def test_toml_round_trip(tmp_path: Path) -> None:
    policy = _policy(
        endpoints=("203.0.113.1:51820/udp", "[2001:db8::1]:443/tcp"),
        resolvers=("10.64.0.1", "2001:db8::53"),
        tunnel_ipv6=True,
        lan_access=True,
        mode="session",
    )
    path = tmp_path / "policy.toml"
    path.write_text(to_toml(policy))
    assert load(path) == policy


def test_toml_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('tunnels = ["wg0"]\nendpoint = "x"\n')
    with pytest.raises(PolicyError, match="unknown key 'endpoint'"):
        load(path)
    path.write_text("tunnels = [\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load(path)
    with pytest.raises(PolicyError, match="cannot read policy"):
        load(tmp_path / "missing.toml")


def test_render_shape() -> None:
    script = nftables.render(_policy())
    lines = script.splitlines()
    # One transaction: create-if-absent, delete, define; nothing else touched.
    assert lines[1:4] == [
        "table inet leakcert",
        "delete table inet leakcert",
        "table inet leakcert {",
    ]
    assert "flush ruleset" not in script
    assert "elements = { 203.0.113.1 . udp . 51820 }" in script
    # No rule accepts the endpoint address on any port (TunnelCrack ServerIP).
    assert "ip daddr 203.0.113.1" not in script
    assert script.count("policy drop") == 3


def test_render_ipv6_and_lan_switches() -> None:
    off = nftables.render(_policy())
    on = nftables.render(_policy(tunnel_ipv6=True, lan_access=True))
    assert "oifname @tunnels meta nfproto ipv4 accept" in off
    assert "oifname @tunnels accept" in on
    assert "192.168.0.0/16" not in off and "192.168.0.0/16" in on


def test_render_block_all_has_empty_sets() -> None:
    script = nftables.render(None)
    assert "elements" not in script
    assert "block-all" in script
