"""Real third-party kill-switch recipes, each held to a LEAK and a PASS (or, for the
ones with no kill switch at all, two LEAKs for different reasons).

The subjects (conformance/subjects/) install or call the real tools: wg-quick
from Debian's wireguard-tools, its man page's PostUp/PreDown iptables lines
(with and without the ip6tables pair), ufw's common recipe, OpenVPN with and
without a guide's iptables kill switch, protonvpn-cli and vpnkillswitch. Each row is a
verdict that is stable and says something about the recipe; if one flips, the
tool or the lab changed, and the reason in the message says how.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import BY_ID
from conformance.judge import Verdict
from conformance.runner import run_case

pytestmark = pytest.mark.root

ROWS = [
    # wg-quick alone has no kill switch: once its process dies, traffic takes the LAN.
    ("wg-quick", "crash.tunnel-process", Verdict.LEAK),
    # ...and even while the tunnel is up, its fwmark routing leaves the LAN outside
    # it: the stream's packets to the LAN's router and broadcast address leave.
    ("wg-quick", "connected.baseline", Verdict.LEAK),
    # The man page's REJECT rule outlives wireguard-go, so a crash leaks nothing.
    ("wg-quick-killswitch", "crash.everything", Verdict.PASS),
    # The man page's lines are iptables only: IPv6 from the LAN goes around them.
    ("wg-quick-killswitch", "ipv6.announced", Verdict.LEAK),
    # With the ip6tables pair, IPv6 announced on the LAN is rejected too.
    ("wg-quick-killswitch-v6", "ipv6.announced", Verdict.PASS),
    # PostUp rules exist only once wg-quick runs: nothing protects the boot.
    ("wg-quick-killswitch-v6", "boot.before-connect", Verdict.LEAK),
    # ufw.service loads the saved rules at boot, before any link is up.
    ("ufw-killswitch", "boot.before-connect", Verdict.PASS),
    # ufw's before6.rules accept outgoing ICMPv6 echo-request on any interface.
    ("ufw-killswitch", "ipv6.from-start", Verdict.LEAK),
    # OpenVPN's def1 routing keeps a host route to the server: STUN to the
    # server's address on another port goes around the tunnel (ServerIP).
    ("openvpn", "webrtc.connected", Verdict.LEAK),
    # Its tun device goes with it when OpenVPN dies, and so do its routes.
    ("openvpn", "crash.tunnel-process", Verdict.LEAK),
    # The guide's rules open the server's address on its port only.
    ("openvpn-killswitch", "webrtc.connected", Verdict.PASS),
    # ...but they do not lock DNS: an app's own resolver is asked through the tunnel.
    ("openvpn-killswitch", "dns.app-resolver", Verdict.LEAK),
    # protonvpn-cli opens UDP 1194 to every address: once OpenVPN dies, it leaks.
    ("protonvpn-cli", "crash.tunnel-process", Verdict.LEAK),
    # Its ip6tables rules drop the LAN's IPv6 announcements and everything after.
    ("protonvpn-cli", "ipv6.announced", Verdict.PASS),
    # vpnkillswitch's script also opens UDP 1194 to every address.
    ("vpnkillswitch", "tunnel.interface-removed", Verdict.LEAK),
    # Its script drops IPv6 and switches it off: a dual-stack LAN leaks nothing.
    ("vpnkillswitch", "ipv6.from-start", Verdict.PASS),
    # The attacks published since the seed (issue 13):
    # the man page's REJECT looks at the output interface and the mark, not the route:
    # programs bound to the physical interface are refused.
    ("wg-quick-killswitch-v6", "bound.uplink", Verdict.PASS),
    # ...but iptables leaves the kernel answering ARP for the tunnel's address on the LAN.
    ("wg-quick-killswitch", "exposure.tunnel-address", Verdict.LEAK),
    # The guide opens the server's UDP 1194 to every process, and OpenVPN routes the
    # server through the LAN: another process's datagram leaves (Cure53 MUL-02-002).
    ("openvpn-killswitch", "endpoint.other-process", Verdict.LEAK),
    # ufw's before.rules accept ESTABLISHED on every interface, and ufw tracks
    # connections from boot: a flow opened before the tunnel keeps going beside it.
    ("ufw-killswitch", "flows.before-connect", Verdict.LEAK),
]


def evidence(result) -> str:
    lines = [p["summary"] for p in result.evidence.get("leaked", [])[:5]]
    lines += [
        f"DNS {q['name']} to {q['resolver']}" for q in result.evidence.get("dns_leaks", [])[:5]
    ]
    return "; ".join(lines)


@pytest.mark.parametrize(
    ("subject", "case_id", "expected"),
    ROWS,
    ids=[f"{subject}:{case_id}" for subject, case_id, _ in ROWS],
)
def test_third_party_verdict(subject: str, case_id: str, expected: Verdict, tmp_path: Path) -> None:
    result = run_case(subject, BY_ID[case_id], tmp_path)
    assert result.verdict is expected, (
        f"{subject} {case_id}: expected {expected.value}, got {result.verdict.value}:"
        f" {result.reason} {evidence(result)}"
    )
    if expected is Verdict.LEAK:
        assert result.leaks > 0, f"{subject} {case_id}: LEAK without a leaked packet"
