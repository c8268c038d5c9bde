"""Real packets against the applied rules: what reaches the far side, and what does not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from tests.enforcer.support import Bench, enforcer, nft_json, policy_flags, sh

pytestmark = pytest.mark.root


@dataclass(frozen=True)
class Case:
    proto: str
    host: str
    port: int
    allowed: bool
    policy: dict[str, bool | int] = field(default_factory=dict)
    dev: str | None = None
    sport: int | None = None
    broadcast: bool = False
    mark: int = 0


CASES = {
    "tunnel": Case("udp", "198.18.0.1", 9000, True),
    "tunnel tcp": Case("tcp", "198.18.0.1", 9000, True),
    "tunnel v6 with tunnel_ipv6": Case("udp", "2001:db8:2::1", 9000, True, {"tunnel_ipv6": True}),
    "tunnel v6 without tunnel_ipv6": Case("udp", "2001:db8:2::1", 9000, False),
    "endpoint port": Case("udp", "203.0.113.1", 51820, True),
    "endpoint other port": Case("udp", "203.0.113.1", 51821, False),
    # With a mark, only the tunnel's own socket reaches the endpoint (Cure53 MUL-02-002).
    "endpoint port, the tunnel's mark": Case(
        "udp", "203.0.113.1", 51820, True, {"endpoint_mark": 51820}, mark=51820
    ),
    "endpoint port, another process": Case(
        "udp", "203.0.113.1", 51820, False, {"endpoint_mark": 51820}
    ),
    "endpoint tcp same port": Case("tcp", "203.0.113.1", 51820, False),
    "other host v4": Case("udp", "203.0.113.99", 9000, False),
    "other host v4 tcp": Case("tcp", "203.0.113.99", 9000, False),
    "other host v6": Case("udp", "2001:db8:3::99", 9000, False, {"tunnel_ipv6": True}),
    "dns to vpn resolver via tunnel": Case("udp", "198.18.0.53", 53, True),
    "dns tcp to vpn resolver via tunnel": Case("tcp", "198.18.0.53", 53, True),
    "dns to other resolver via tunnel": Case("udp", "198.18.1.53", 53, False),
    "dot to other resolver via tunnel": Case("tcp", "198.18.1.53", 853, False),
    "dns to other resolver via uplink": Case("udp", "192.0.2.53", 53, False),
    "dns to vpn resolver via uplink": Case("udp", "198.18.0.53", 53, False, dev="up0"),
    "dhcp discover": Case("udp", "255.255.255.255", 67, True, dev="up0", sport=68, broadcast=True),
    "lan with lan_access": Case("udp", "192.168.7.1", 9000, True, {"lan_access": True}),
    "lan without lan_access": Case("udp", "192.168.7.1", 9000, False),
    "dns on lan with lan_access": Case("udp", "192.168.7.1", 53, False, {"lan_access": True}),
    # The uplink's own subnet is "local" by DHCP's word only (TunnelCrack LocalNet).
    "uplink subnet with lan_access": Case("udp", "198.51.100.1", 9000, False, {"lan_access": True}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_allowed_and_blocked(bench: Bench, case: Case) -> None:
    bench.up(*policy_flags(**case.policy))
    got = bench.reaches(
        case.proto,
        case.host,
        case.port,
        dev=case.dev,
        sport=case.sport,
        broadcast=case.broadcast,
        mark=case.mark,
    )
    assert got == case.allowed


def test_bench_leaks_without_rules(fresh_bench: Bench) -> None:
    # The control: with no table, the blocked destinations are reachable, so a
    # "blocked" verdict above is the rules' doing and not the bench's.
    assert fresh_bench.reaches("udp", "203.0.113.99", 9000)
    assert fresh_bench.reaches("udp", "192.0.2.53", 53)
    assert fresh_bench.reaches("udp", "2001:db8:3::99", 9000)


def test_blocked_send_fails_fast(bench: Bench) -> None:
    # Output is rejected, not silently dropped: the application hears at once.
    bench.up(*policy_flags())
    _, result = bench.send("udp", "203.0.113.99", 9000)
    assert result.startswith("error E")
    _, result = bench.send("tcp", "203.0.113.99", 9000)
    assert result.startswith("error E")


def test_session_mode_down_removes(fresh_bench: Bench) -> None:
    fresh_bench.up(*policy_flags(mode="session"))
    assert not fresh_bench.reaches("udp", "203.0.113.99", 9000)
    result = enforcer(fresh_bench.client, "down")
    assert result.returncode == 0, result.stderr
    assert fresh_bench.reaches("udp", "203.0.113.99", 9000)


def test_always_on_down_needs_force(fresh_bench: Bench) -> None:
    fresh_bench.up(*policy_flags(mode="always-on"))
    result = enforcer(fresh_bench.client, "down")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert not fresh_bench.reaches("udp", "203.0.113.99", 9000)
    assert enforcer(fresh_bench.client, "down", "--force").returncode == 0
    assert enforcer(fresh_bench.client, "down").returncode == 0  # absent is fine


def test_status(fresh_bench: Bench) -> None:
    ns = fresh_bench.client
    assert enforcer(ns, "status").returncode == 1
    fresh_bench.up(*policy_flags(lan_access=True))
    result = enforcer(ns, "status")
    assert result.returncode == 0 and "wgt0" in result.stdout
    assert enforcer(ns, "status", *policy_flags(lan_access=True)).returncode == 0
    assert enforcer(ns, "status", *policy_flags()).returncode == 1
    # A rule deleted by hand: no longer what we applied.
    listing = json.loads(nft_json(ns))["nftables"]
    handle = next(
        str(i["rule"]["handle"]) for i in listing if i.get("rule", {}).get("chain") == "dns"
    )
    sh(
        "ip",
        "netns",
        "exec",
        ns,
        "nft",
        "delete",
        "rule",
        "inet",
        "leakcert",
        "dns",
        "handle",
        handle,
    )
    assert enforcer(ns, "status").returncode == 1


def test_block_all(fresh_bench: Bench) -> None:
    result = enforcer(fresh_bench.client, "block")
    assert result.returncode == 0, result.stderr
    assert enforcer(fresh_bench.client, "status").returncode == 0
    blocked = [
        fresh_bench.send("udp", host, port)[0]
        for host, port in (("198.18.0.1", 9000), ("203.0.113.1", 51820), ("192.168.7.1", 9000))
    ]
    # DHCP still passes, and serves as the marker: sent last, it arrives after the others would.
    dhcp, _ = fresh_bench.send("udp", "255.255.255.255", 67, dev="up0", sport=68, broadcast=True)
    assert fresh_bench.wait_for(dhcp)
    assert not any(fresh_bench.wait_for(token, timeout=0.1) for token in blocked)


def test_up_answers_arp_only_for_the_asked_interface(fresh_bench: Bench) -> None:
    # The LAN must not learn the tunnel's address by asking for it (MLLVD-CR-24-03).
    fresh_bench.run(fresh_bench.client, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=0")
    fresh_bench.up(*policy_flags())
    assert (
        fresh_bench.run(fresh_bench.client, "sysctl", "-n", "net.ipv4.conf.all.arp_ignore") == "2\n"
    )
