"""The DNS-lock oracle reads what real resolvers logged."""

from __future__ import annotations

import time

import pytest

from netns import topology
from netns.dnslock import dns_lock_leaks, parse_query_log
from netns.lab import Lab
from tests.netns.support import tunnel_up

LOG = """\
Nov 24 20:41:44 dnsmasq[14551]: started, version 2.90 cachesize 150
Nov 24 20:41:45 dnsmasq[14551]: 1 198.51.100.3/46230 query[A] web.leakcert.test from 198.51.100.3
Nov 24 20:41:45 dnsmasq[14551]: 1 198.51.100.3/46230 config web.leakcert.test is 203.0.113.10
Nov 24 20:41:46 dnsmasq[145]: 2 2001:db8:1::50/53 query[AAAA] web.leakcert.test from 2001:db8:1::50
"""


def test_one_entry_per_query() -> None:
    queries = parse_query_log(LOG, "203.0.113.53")
    assert [(q.client, q.qtype, q.name) for q in queries] == [
        ("198.51.100.3", "A", "web.leakcert.test"),
        ("2001:db8:1::50", "AAAA", "web.leakcert.test"),
    ]
    assert queries[1].time - queries[0].time == 1.0


def test_only_the_vpn_resolver_is_allowed() -> None:
    vpn = parse_query_log(LOG, "198.18.0.53")
    public = parse_query_log(LOG, "203.0.113.53")
    assert dns_lock_leaks(vpn + public, {"198.18.0.53"}) == public


@pytest.mark.root
def test_real_resolvers_log_queries_through_and_around_the_tunnel(lab: Lab) -> None:
    before = time.time() - 1
    lab.client.run("dig +short @%s %s", topology.RESOLVER.address4, topology.WEB_NAME)
    tunnel_up(lab)
    lab.client.run("dig +short @%s %s", topology.VPN_RESOLVER, topology.WEB_NAME)
    lab.client.run("dig +short @%s %s", topology.RESOLVER.address4, topology.WEB_NAME)
    public = parse_query_log(lab.resolver.output(), topology.RESOLVER.address4)
    vpn = parse_query_log(lab.vpn_resolver.output(), topology.VPN_RESOLVER)
    # Around the tunnel the resolver sees the router's NAT address, through it the tunnel's.
    assert [q.client for q in public] == [topology.ROUTER_WAN4, topology.CLIENT_TUNNEL4]
    assert [q.client for q in vpn] == [topology.CLIENT_TUNNEL4]
    assert all(q.time >= before - 1 for q in public + vpn)
    assert dns_lock_leaks(public + vpn, {topology.VPN_RESOLVER}) == public
