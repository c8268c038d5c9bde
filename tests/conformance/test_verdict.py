"""How the oracles' findings become a verdict."""

from __future__ import annotations

from conformance.verdict import Verdict, decide


def test_one_packet_is_a_leak() -> None:
    assert decide(wire_leaks=1, dns_leaks=0, broken=None) == (
        Verdict.LEAK,
        "1 packet outside the tunnel",
    )


def test_a_dns_query_to_another_resolver_is_a_leak() -> None:
    verdict, reason = decide(wire_leaks=0, dns_leaks=2, broken=None)
    assert verdict is Verdict.LEAK and reason == "2 DNS queries to a resolver not the VPN's"


def test_a_leak_outranks_a_broken_tunnel() -> None:
    assert decide(wire_leaks=3, dns_leaks=0, broken="no answer")[0] is Verdict.LEAK


def test_a_subject_that_blocks_everything_is_broken_not_pass() -> None:
    assert decide(wire_leaks=0, dns_leaks=0, broken="no answer") == (Verdict.BROKEN, "no answer")


def test_pass_only_when_nothing_found() -> None:
    assert decide(wire_leaks=0, dns_leaks=0, broken=None)[0] is Verdict.PASS
