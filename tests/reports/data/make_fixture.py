"""Regenerate run.json and the two pcaps beside it (run once; the outputs are committed).

    python tests/reports/data/make_fixture.py

A recorded-run look-alike of the results-JSON schema: `reference` passes all
19 cases, `none` leaks in most, and `blocks-all` ran 6 cases (one BROKEN, one
ERROR). The case texts come from conformance.cases; every address is from the
documentation ranges. Seeded, so the output is the same every time.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from scapy.all import DNS, DNSQR, IP, TCP, UDP, Ether, wrpcap

from conformance.cases import CASES, LEAK_CLASSES, Case

OUT = Path(__file__).resolve().parent
rng = random.Random(7)

# How many packets `none` leaks per case; the other cases pass.
NONE_LEAKS = {
    "crash.sigkill": 12,
    "tunnel.interface-removed": 9,
    "tunnel.disconnect": 7,
    "network.wifi-reconnect": 4,
    "roam.other-network": 5,
    "dhcp121.tunnelvision": 23,
    "boot.before-connect": 6,
    "ipv6.announced": 3,
    "dns.tunnel-down": 2,
    "webrtc.crash": 1,
    "routes.rewritten": 8,
    "tunnel.server-unreachable": 14,
    "network.sleep-wake": 3,
    "network.router-reboot": 2,
    "ipv6.from-start": 4,
}
# Trigger events in the runner's words.
TRIGGER_EVENT = {
    "crash": "VPN client crashes",
    "tunnel": "tunnel interface deleted",
    "boot": "link up, before the VPN connects",
    "network": "Wi-Fi lost",
    "dhcp121": "DHCP server pushes option 121 routes",
}
HOOK_OK = {"hook": "connect", "exit": 0, "output": "[#] ip link add wg0 type wireguard"}


def evidence(case: Case, leaks: int, duration: float, pcap: str | None = None) -> dict[str, Any]:
    trigger = None if case.id == "connected.baseline" else round(duration * 0.45, 3)
    events = [
        {"t": 0.0, "event": "boot"},
        {"t": 0.4, "event": "connect"},
        {"t": 0.9, "event": "connected"},
    ]
    if trigger is not None:
        events.append({"t": trigger, "event": TRIGGER_EVENT.get(case.leak_class, case.trigger)})
        events.append({"t": round(trigger + 0.8, 3), "event": "connected"})
    packets = []
    for _ in range(60):
        t = round(rng.uniform(0.05, duration), 3)
        cls = rng.choice(["tunnel", "tunnel", "tunnel", "link", "inbound"]) if t > 0.9 else "link"
        packets.append({"t": t, "class": cls})
    leaked = []
    for i in range(leaks):
        t = round((trigger or 1.0) + 0.05 + i * 0.07, 3)
        packets.append({"t": t, "class": "leak"})
        if case.leak_class == "ipv6":
            src, dst, summary = "2001:db8:1::57", "2001:db8:ff::10", f"2001:db8:1::57.{41000 + i}"
            summary += " > 2001:db8:ff::10.80 S"
        else:
            src, dst = "192.0.2.57", "203.0.113.10"
            summary = f"192.0.2.57:{41000 + i} > 203.0.113.10:80 S"
        leaked.append({"t": t, "src": src, "dst": dst, "proto": "TCP", "summary": summary})
    packets.sort(key=lambda p: p["t"])
    ev = {
        "trigger_at": trigger,
        "events": events,
        "packets": packets,
        "leaked": leaked,
        "hooks": [HOOK_OK],
    }
    if pcap:
        ev["pcap"] = pcap
    return ev


def result(
    subject: str, summary: str, case: Case, verdict: str, reason: str, leaks: int, ev: dict
) -> dict[str, Any]:
    return {
        "subject": subject,
        "subject_summary": summary,
        "case": case.id,
        "leak_class": case.leak_class,
        "title": case.title,
        "description": case.description,
        "requirement": case.requirement,
        "verdict": verdict,
        "reason": reason,
        "leaks": leaks,
        "duration": round(rng.uniform(2.5, 4.0), 2),
        "evidence": ev,
    }


def main() -> None:
    results = []
    for c in CASES:
        pcap = "pcaps/reference-crash.sigkill.pcap" if c.id == "crash.sigkill" else None
        results.append(
            result(
                "reference",
                "the reference nftables kill switch",
                c,
                "PASS",
                "no packet left outside the tunnel",
                0,
                evidence(c, 0, 3.0, pcap),
            )
        )
    for c in CASES:
        n = NONE_LEAKS.get(c.id, 0)
        # tunnel.disconnect names a pcap that does not exist: the page must say so.
        pcap = {
            "crash.sigkill": "pcaps/none-crash.sigkill.pcap",
            "tunnel.disconnect": "pcaps/missing.pcap",
        }.get(c.id)
        ev = evidence(c, n, 3.5, pcap)
        if c.id == "dns.tunnel-down":
            query = {"resolver": "203.0.113.53", "client": "198.18.0.2"}
            query["name"] = "example.leakcert.test"
            ev["dns_leaks"] = [
                {"t": ev["trigger_at"] + 0.3, **query, "qtype": "A"},
                {"t": None, **query, "qtype": "AAAA"},  # the runner writes null without a time
            ]
        if c.id == "connected.baseline":
            # The runner's probe shape: {"t", "outcomes": {name: {ok, detail, t}}}.
            ev["probes"] = [
                {
                    "t": 1.3,
                    "outcomes": {
                        "tcp": {"ok": True, "detail": "203.0.113.10:80 answered", "t": 1.29},
                        "dns": {"ok": True, "detail": "example.leakcert.test A", "t": 1.29},
                    },
                }
            ]
        reason = f"{n} packets left outside the tunnel <after the trigger>" if n else "no leak"
        summary = "a plain WireGuard tunnel, no kill switch"
        results.append(result("none", summary, c, "LEAK" if n else "PASS", reason, n, ev))
    # A partial subject: one BROKEN, one ERROR (hooks only), and 13 cases not run.
    summary = "a foil whose kill switch also blocks the tunnel & fails hooks"
    for c in CASES[:6]:
        if c.id == "connected.baseline":
            ev = evidence(c, 0, 3.0)
            ev["packets"] = [p for p in ev["packets"] if p["class"] == "link"]
            ev["probes"] = [
                {"t": 1.3, "results": ["tcp 203.0.113.10:80 timed out", "dns timed out"]},
                {"t": 2.0, "results": None},
            ]
            reason = "no connectivity while connected: 0 of 2 probes answered"
            results.append(result("blocks-all", summary, c, "BROKEN", reason, 0, ev))
        elif c.id == "crash.sigkill":
            hook = {"hook": "connect", "exit": 1, "output": "Error: <wg0> not found\n  & giving up"}
            reason = "the connect hook exited 1"
            results.append(result("blocks-all", summary, c, "ERROR", reason, 0, {"hooks": [hook]}))
        else:
            ev = evidence(c, 0, 3.0)
            results.append(result("blocks-all", summary, c, "PASS", "no leak", 0, ev))

    run = {
        "started": "2026-11-26T04:20:00Z",
        "finished": "2026-11-26T04:24:41Z",
        "leakcert_version": "0.1.0",
        "profile": "seed",
        "kernel": "6.1.0-28-amd64",
        "tools": {
            "nft": "nftables v1.0.6 (Lester Gooch #5)",
            "wireguard-go": "wireguard-go v0.0.20230223",
            "tcpdump": "tcpdump version 4.99.3",
        },
        "command": "pytest conformance --subject reference --subject none "
        "--subject blocks-all --results results.json",
        "leak_classes": list(LEAK_CLASSES),
    }
    # One result per line: small, and diffs stay readable.
    lines = ",\n".join(json.dumps(r, separators=(",", ":")) for r in results)
    text = '{"run":' + json.dumps(run) + ',\n"results":[\n' + lines + "\n]}\n"
    (OUT / "run.json").write_text(text, encoding="utf-8")

    (OUT / "pcaps").mkdir(exist_ok=True)
    wire = [
        Ether() / IP(src="192.0.2.57", dst="198.51.100.1") / UDP(sport=51820, dport=51820)
        for _ in range(3)
    ]
    leaks = [
        Ether() / IP(src="192.0.2.57", dst="203.0.113.10") / TCP(sport=41000 + i, dport=80)
        for i in range(2)
    ]
    leaks.append(
        Ether()
        / IP(src="192.0.2.57", dst="203.0.113.53")
        / UDP(sport=5353, dport=53)
        / DNS(qd=DNSQR(qname="example.leakcert.test"))
    )
    wrpcap(str(OUT / "pcaps" / "reference-crash.sigkill.pcap"), wire)
    wrpcap(str(OUT / "pcaps" / "none-crash.sigkill.pcap"), wire + leaks)


if __name__ == "__main__":
    main()
