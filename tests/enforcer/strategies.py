"""Hypothesis strategies for policies, shared by the kernel-backed and the renderer tests."""

from __future__ import annotations

from hypothesis import strategies as st

from enforcer.policy import Endpoint, Policy

ifnames = st.from_regex(r"[a-z][a-z0-9_.-]{0,14}", fullmatch=True).filter(lambda n: n != "lo")
# BSD interface names (a driver and a unit): what pf's renderer takes.
bsd_ifnames = st.from_regex(r"(utun|wg|tun|ipsec)[0-9]{1,3}", fullmatch=True)
v4 = st.one_of(
    st.ip_addresses(v=4, network="192.0.2.0/24"),
    st.ip_addresses(v=4, network="198.51.100.0/24"),
    st.ip_addresses(v=4, network="203.0.113.0/24"),
    st.ip_addresses(v=4, network="198.18.0.0/15"),
)
v6 = st.ip_addresses(v=6, network="2001:db8::/32")
endpoints = st.builds(
    Endpoint,
    address=st.one_of(v4, v6),
    port=st.integers(1, 65535),
    protocol=st.sampled_from(["udp", "tcp"]),
)


@st.composite
def policies(draw: st.DrawFn, names: st.SearchStrategy[str] = ifnames) -> Policy:
    tunnel_ipv6 = draw(st.booleans())
    resolver = st.one_of(v4, v6) if tunnel_ipv6 else v4
    return Policy(
        tunnels=tuple(draw(st.lists(names, min_size=1, max_size=3))),
        endpoints=tuple(draw(st.lists(endpoints, min_size=1, max_size=4))),
        resolvers=tuple(draw(st.lists(resolver, max_size=3))),
        tunnel_ipv6=tunnel_ipv6,
        lan_access=draw(st.booleans()),
        mode=draw(st.sampled_from(["always-on", "session"])),
        endpoint_mark=draw(st.sampled_from([0, 51820, 0xFFFFFFFF])),
    )
