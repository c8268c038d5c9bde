"""The judge: crafted captures in, verdicts, reasons and leak windows out."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from conformance.cases import BY_ID
from conformance.judge import Verdict, judge
from netns.capture import SENTINEL_ETHERTYPE, SENTINEL_MAGIC, read_frames
from netns.dnslock import DnsQuery
from netns.oracle import Endpoint, WireFacts
from netns.stream import payload

CLIENT, ROUTER = "02:00:00:00:00:50", "02:00:00:00:00:01"
C4 = "192.0.2.50"
FACTS = WireFacts(
    client_mac=CLIENT,
    router_addresses=frozenset({"192.0.2.1"}),
    endpoints=(Endpoint("198.51.100.2", 51820, "udp"),),
)
T0 = 1_700_000_000.0
TRIGGER = T0 + 2.0
BASELINE, DNS = BY_ID["connected.baseline"], BY_ID["dns.app-resolver"]


def frame(t: float, layers):
    packet = Ether(src=CLIENT, dst=ROUTER) / layers
    packet.time = t
    return packet


def tunnel(t: float):
    return frame(t, IP(src=C4, dst="198.51.100.2") / UDP(sport=40000, dport=51820) / bytes(32))


def stream_leak(t: float, seq: int, sent: float):
    return frame(t, IP(src=C4, dst="192.0.2.1") / UDP(sport=40006, dport=9) / payload(seq, sent))


def sentinel(t: float):
    packet = Ether(src=CLIENT, dst="ff:ff:ff:ff:ff:ff", type=SENTINEL_ETHERTYPE) / (
        SENTINEL_MAGIC + b"0123456789abcdef"
    )
    packet.time = t
    return packet


def read(tmp_path: Path, frames) -> list:
    """Through a pcap file and the capture's reader, as the runner does."""
    wrpcap(str(tmp_path / "wire.pcap"), frames)
    return read_frames(tmp_path / "wire.pcap")


def verdict_of(frames, case=BASELINE, queries=(), broken=None, trigger_at=TRIGGER):
    return judge(frames, FACTS, queries, case, trigger_at=trigger_at, started=T0, broken=broken)


def test_a_clean_capture_with_its_sentinel_passes(tmp_path: Path) -> None:
    frames = read(tmp_path, [tunnel(T0 + i / 10) for i in range(30)] + [sentinel(T0 + 4)])
    judgement = verdict_of(frames)
    assert judgement.verdict is Verdict.PASS
    assert judgement.reason == "no packet left outside the tunnel"
    assert judgement.window is None and judgement.leaks == 0


def test_the_stream_leaking_gives_its_window(tmp_path: Path) -> None:
    # 38 of the stream's packets leak from +12 ms to +61 ms, between tunnel frames.
    leaks = [stream_leak(TRIGGER + 0.012 + i * 0.049 / 37, i, TRIGGER + 0.011) for i in range(38)]
    frames = read(tmp_path, [tunnel(T0 + 1), *leaks, tunnel(TRIGGER + 1), sentinel(TRIGGER + 2)])
    judgement = verdict_of(frames)
    assert judgement.verdict is Verdict.LEAK
    window = judgement.window
    assert (round(window.first_ms), round(window.last_ms)) == (12, 61)
    assert (window.packets, window.stream_packets) == (38, 38)
    assert window.text == "leaked 38 packets from +12 ms to +61 ms after the trigger"
    assert judgement.reason == f"38 packets outside the tunnel ({window.text})"
    marks = [p.stream for p in judgement.leaked]
    assert [m.seq for m in marks] == list(range(38))
    assert all(abs(m.sent - (TRIGGER + 0.011)) < 1e-6 for m in marks)


def test_a_leak_that_is_not_the_stream_has_a_window_without_stream_packets(
    tmp_path: Path,
) -> None:
    syn = frame(TRIGGER - 0.5, IP(src=C4, dst="203.0.113.10") / TCP(dport=80, flags="S"))
    echo = frame(TRIGGER + 0.25, IP(src=C4, dst="203.0.113.10") / ICMP())
    judgement = verdict_of(read(tmp_path, [syn, tunnel(TRIGGER), echo]))
    assert judgement.window.text == "leaked 2 packets from -500 ms to +250 ms after the trigger"
    assert judgement.window.stream_packets == 0
    assert all(p.stream is None for p in judgement.leaked)


def test_one_packet_has_an_instant_not_a_span(tmp_path: Path) -> None:
    judgement = verdict_of(read(tmp_path, [stream_leak(TRIGGER + 0.3, 7, TRIGGER + 0.3)]))
    assert judgement.window.text == "leaked 1 packet at +300 ms after the trigger"


def test_without_a_trigger_the_window_counts_from_the_start(tmp_path: Path) -> None:
    frames = read(tmp_path, [stream_leak(T0 + 0.1, 0, T0 + 0.1)])
    judgement = verdict_of(frames, broken="no answer", trigger_at=None)
    assert judgement.verdict is Verdict.LEAK
    assert judgement.window.text.endswith("after the case started")


def test_a_dns_query_to_another_resolver_is_a_leak_where_dns_is_locked() -> None:
    queries = [
        DnsQuery(T0 + 1, "203.0.113.53", C4, "web.leakcert.test", "A"),
        DnsQuery(T0 + 1, "198.18.0.53", C4, "web.leakcert.test", "A"),
    ]
    judgement = verdict_of([tunnel(T0)], case=DNS, queries=queries)
    assert judgement.verdict is Verdict.LEAK
    assert judgement.reason == "1 DNS query to a resolver not the VPN's"
    assert verdict_of([tunnel(T0)], case=BASELINE, queries=queries).verdict is Verdict.PASS


def test_a_leak_outranks_a_broken_tunnel() -> None:
    leak = frame(TRIGGER, IP(src=C4, dst="203.0.113.10") / ICMP())
    assert verdict_of([leak], broken="no answer").verdict is Verdict.LEAK


def test_a_subject_that_blocks_everything_is_broken_not_pass() -> None:
    judgement = verdict_of([tunnel(T0)], broken="connected, but no answer")
    assert (judgement.verdict, judgement.reason) == (Verdict.BROKEN, "connected, but no answer")
