"""Property tests: every valid policy loads and reads back; every invalid one is refused."""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcer import nftables
from enforcer.policy import Policy
from tests.enforcer.strategies import policies
from tests.enforcer.support import enforcer, nft_json

pytestmark = pytest.mark.root

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _nft(ns: str, *args: str, script: str) -> None:
    result = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", *args],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _elements(listing: dict, name: str) -> list:
    for item in listing["nftables"]:
        if item.get("set", {}).get("name") == name:
            return item["set"].get("elem", [])
    raise AssertionError(f"no set {name}")


@SETTINGS
@given(policy=policies())
def test_valid_policies_load_and_read_back(netns: str, policy: Policy) -> None:
    script = nftables.render(policy)
    _nft(netns, "-c", "-f", "-", script=script)
    _nft(netns, "-f", "-", script=script)
    listing = json.loads(nft_json(netns))
    # Read back by hand from the kernel's JSON, not through our own parser.
    assert set(_elements(listing, "tunnels")) == set(policy.tunnels)
    kernel_eps = {
        (ipaddress.ip_address(a), proto, port)
        for name in ("endpoints4", "endpoints6")
        for a, proto, port in (e["concat"] for e in _elements(listing, name))
    }
    assert kernel_eps == {(e.address, e.protocol, e.port) for e in policy.endpoints}
    kernel_resolvers = {
        ipaddress.ip_address(a) for n in ("resolvers4", "resolvers6") for a in _elements(listing, n)
    }
    assert kernel_resolvers == set(policy.resolvers)
    hooks = {
        item["chain"]["hook"]: item["chain"]["policy"]
        for item in listing["nftables"]
        if "hook" in item.get("chain", {})
    }
    assert hooks == {"output": "drop", "input": "drop", "forward": "drop"}
    # And our own reader recovers the whole policy (what `status` relies on).
    assert nftables.read_policy(listing) == policy


def _bad_text(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def not_ip(text: str) -> bool:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return True
        return False

    return st.one_of(
        valid,
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
        ).filter(not_ip),
    )


GOOD = {"tunnel": "wg0", "endpoint": "203.0.113.1:51820/udp", "resolver": "198.18.0.53"}
BAD = {
    "tunnel": st.one_of(
        st.sampled_from(["lo", "", "a" * 16, "wg 0", 'wg"0', "wg0/1", "..", "wg*"]),
        st.from_regex(r"[a-z]{16,20}", fullmatch=True),
    ),
    "endpoint": st.one_of(
        st.builds("203.0.113.1:{}/udp".format, st.integers(-5, 0) | st.integers(65536, 99999)),
        st.sampled_from(
            [
                "203.0.113.1:51820/icmp",
                "203.0.113.1",
                "0.0.0.0:51820",
                "127.0.0.1:51820",
                "2001:db8::1:51820",
                "[2001:db8::1]",
                "224.0.0.1:51820",
                "vpn.example:51820",
            ]
        ),
    ),
    "resolver": _bad_text(st.sampled_from(["0.0.0.0", "224.0.0.53", "2001:db8::53", "10.0.0"])),
}


@SETTINGS
@given(field=st.sampled_from(sorted(BAD)), data=st.data())
def test_invalid_policies_refused(netns: str, field: str, data: st.DataObject) -> None:
    values = {**GOOD, field: data.draw(BAD[field], label=field)}
    result = enforcer(netns, "up", *(f"--{k}={v}" for k, v in values.items()))
    assert result.returncode == 2, (values, result.stdout)
    assert result.stderr.startswith("leakcert-enforcer: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert nft_json(netns) == ""
