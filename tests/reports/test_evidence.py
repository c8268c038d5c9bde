"""The runner's newer evidence on the pages: limitations, what a LEAK's n counts,
event kinds, the leak window, the traffic stream, sysctls and the lab's transcript.
(Older results without them are data/run.json, which test_render.py renders.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.results import subject_folder
from reports import render_report
from tests.reports.support import Page

WINDOW = "leaked 3 packets from +12 ms to +61 ms after the trigger"


def _leak() -> dict[str, Any]:
    return {
        "subject": "vendor",
        "case": "crash.sigkill",
        "title": "VPN client killed",
        "description": "Every process of the VPN client is killed at once.",
        "limitations": "It cannot see a leak that starts after the settle window.",
        "verdict": "LEAK",
        "reason": f"3 packets outside the tunnel; 1 DNS query ({WINDOW})",
        "leaks": 4,
        "leaked_packets": 3,
        "dns_leaks": 1,
        "duration": 3.0,
        "evidence": {
            "pcap": "pcaps/vendor/crash.sigkill.pcap",
            "trigger_at": 1.0,
            "events": [
                {"t": 0.0, "kind": "boot", "text": "boot"},
                {"t": 0.3, "kind": "hook", "text": "connect hook"},
                {"t": 0.5, "kind": "tunnel-up", "text": "wg0 carries traffic"},
                {"t": 1.0, "kind": "trigger", "text": "SIGKILL the VPN client"},
                {"t": 1.0, "kind": "tunnel-down", "text": "wg0 gone"},
                {"t": 1.2, "kind": "settle", "text": "watching 1.5 s"},
            ],
            "packets": [{"t": 0.6, "class": "tunnel"}]
            + [{"t": 1.012 + i * 0.0245, "class": "leak"} for i in range(3)],
            "leaked": [
                {"t": 1.012, "src": "192.0.2.57", "dst": "203.0.113.10", "proto": "UDP",
                 "summary": "UDP 192.0.2.57:40000 > 203.0.113.10:9 stream",
                 "stream": {"seq": 101, "sent_ms": 11.5}},
                {"t": 1.0365, "src": "192.0.2.57", "dst": "203.0.113.10", "proto": "ICMP",
                 "summary": "ICMP echo-request", "stream": None},
                {"t": 1.061, "src": "192.0.2.57", "dst": "203.0.113.10", "proto": "UDP",
                 "summary": "UDP 192.0.2.57:40000 > 203.0.113.10:9 stream"},
            ],
            "dns_leaks": [{"t": 1.3, "resolver": "203.0.113.53", "client": "192.0.2.57",
                           "name": "web.leakcert.test", "qtype": "A"}],
            "window": {"first_ms": 12.0, "last_ms": 61.0, "packets": 3, "stream_packets": 2,
                       "text": WINDOW},
            "stream": {"sent": 250, "rate": 100.0,
                       "destinations": ["203.0.113.10", "2001:db8::10"]},
            "settle": 1.5,
            "sysctls": {"net.ipv6.conf.all.accept_ra": "2", "net.ipv4.conf.all.rp_filter": 0},
            "transcript": [
                {"t": 0.01, "host": "client", "command": "ip link set eth0 up", "exit": 0},
                {"t": 1.0, "host": "client", "command": "kill -KILL -- -4242", "exit": None},
            ],
        },
    }  # fmt: skip


def _error() -> dict[str, Any]:
    # An ERROR with a pcap path the run never wrote (its hook failed first).
    return {
        "subject": "vendor",
        "case": "crash.client",
        "verdict": "ERROR",
        "reason": "connect hook exited 1: no such device",
        "evidence": {"pcap": "pcaps/vendor/crash.client.pcap", "hooks": []},
    }


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    (run / "pcaps" / "vendor").mkdir(parents=True)
    (run / "pcaps" / "vendor" / "crash.sigkill.pcap").write_bytes(b"\xd4\xc3\xb2\xa1")
    results = run / "results.json"
    results.write_text(json.dumps({"run": {"profile": "seed"}, "results": [_leak(), _error()]}))
    out = tmp_path_factory.mktemp("report")
    render_report(results, out)
    return out


def _page(out: Path, case: str) -> Page:
    return Page(out / "cases" / subject_folder("vendor") / f"{case}.html")


def test_limitations_beside_the_description(out):
    text = _page(out, "crash.sigkill").text
    assert f"{_leak()['description']} What it cannot see: {_leak()['limitations']}" in text


def test_the_index_says_what_n_counts(out):
    index = Page(out / "index.html")
    legend = " ".join(e for e in index.text_parts if e.strip())
    assert "packets that left outside the tunnel plus DNS queries" in " ".join(legend.split())
    (cell,) = [e for e in index.find("a") if e.attrs["href"].endswith("crash.sigkill.html")]
    assert "3 packets and 1 DNS query" in cell.attrs["title"]
    assert WINDOW in cell.attrs["title"]


def test_the_verdict_box_has_the_counts_and_the_window(out):
    page = _page(out, "crash.sigkill")
    assert page.find("div", "verdict")
    assert "4 = 3 packets and 1 DNS query outside the tunnel." in page.text
    assert f"Leak window: {WINDOW}." in page.text


def test_the_timeline_draws_the_window_and_the_tunnel_from_kinds(out):
    page = _page(out, "crash.sigkill")
    (band,) = page.find("rect", "leak-window")
    assert float(band.attrs["width"]) >= 2
    assert WINDOW in page.text  # the band's <title> and the caption
    assert len(page.find("rect", "tunnel-up")) == 1  # 0.5 s to 1.0 s
    assert len(page.find("g", "trigger")) == 1
    assert "SIGKILL the VPN client" in page.text


def test_the_stream_the_settle_and_the_stream_packets(out):
    page = _page(out, "crash.sigkill")
    assert "the client sent 250 packets, 100 per second, to 203.0.113.10, 2001:db8::10" in page.text
    assert "the case watched for 1.5 s" in page.text
    rows = page.table("leaked").body_rows()
    assert [row[5][1] for row in rows] == ["#101, sent at +11.5 ms", "", ""]


def test_sysctls_and_transcript_are_collapsible(out):
    page = _page(out, "crash.sigkill")
    assert len(page.find("details")) == 2
    sysctls = page.table("sysctls").body_rows()
    assert [(r[0][1], r[1][1]) for r in sysctls] == [
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv6.conf.all.accept_ra", "2"),
    ]
    transcript = page.table("transcript").body_rows()
    assert [[c[1] for c in r] for r in transcript] == [
        ["0.010", "client", "ip link set eth0 up", "0"],
        ["1.000", "client", "kill -KILL -- -4242", ""],
    ]


def test_a_pcap_is_linked_only_when_it_exists(out):
    leak = _page(out, "crash.sigkill")
    href = f"../../pcaps/{subject_folder('vendor')}/crash.sigkill.pcap"
    assert href in leak.links()
    error = _page(out, "crash.client")
    assert not [link for link in error.links() if link.endswith(".pcap")]
    assert not list((out / "pcaps").rglob("crash.client.pcap"))
