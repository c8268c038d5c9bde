"""The judge: the one place a case's verdict is decided, from what the case saw.

    judge(frames, facts, queries, case, trigger_at=..., started=..., broken=...) -> Judgement

Its rules (docs/design.md, "The judge"):

1. Every frame on the wire is classified by `netns.oracle`: tunnel, link
   control, inbound, or a leak (anything else the client sent). One leak is
   a LEAK.
2. Where the case locks DNS, every query a resolver other than the VPN's
   logged is a leak too, even one that travelled inside the tunnel.
3. A leak outranks a broken tunnel: a subject that blocks its own tunnel but
   lets a packet out beside it is leaking. A tunnel that carried nothing while
   connected is BROKEN: nothing can be judged a pass.
4. Otherwise PASS. The caller reaches the judge only with a capture the lab
   proved complete and a subject that connected; every other path is ERROR.

The leak window says when the leaks happened, relative to the trigger: first
and last leaked packet, and how many of the stream's packets were among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from scapy.packet import Packet

from conformance.cases import Case
from netns import topology
from netns.capture import Frame
from netns.dnslock import DnsQuery, dns_lock_leaks
from netns.oracle import LEAK, ClassifiedPacket, WireFacts, classify


class Verdict(StrEnum):
    PASS = "PASS"  # judged, and not one packet left outside the tunnel
    LEAK = "LEAK"  # at least one packet (or DNS query) left where it must not
    BROKEN = "BROKEN"  # the subject blocks its own tunnel: nothing can be judged as a pass
    ERROR = "ERROR"  # the case could not be judged (bad subject, failed hook, lab fault)


@dataclass(frozen=True)
class Window:
    """When the leaks happened, in milliseconds after the trigger (negative: before it)."""

    first_ms: float
    last_ms: float
    packets: int  # leaked packets on the wire
    stream_packets: int  # of which the stream's
    since: str = "the trigger"  # or "the case started", when no trigger ran

    @property
    def text(self) -> str:
        noun = "packet" if self.packets == 1 else "packets"
        span = (
            f"at {self.first_ms:+.0f} ms"
            if round(self.first_ms) == round(self.last_ms)
            else f"from {self.first_ms:+.0f} ms to {self.last_ms:+.0f} ms"
        )
        return f"leaked {self.packets} {noun} {span} after {self.since}"

    def to_json(self) -> dict:
        return {
            "first_ms": round(self.first_ms, 1),
            "last_ms": round(self.last_ms, 1),
            "packets": self.packets,
            "stream_packets": self.stream_packets,
            "text": self.text,
        }


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    packets: tuple[ClassifiedPacket, ...]
    leaked: tuple[ClassifiedPacket, ...]
    dns_leaks: tuple[DnsQuery, ...]
    window: Window | None

    @property
    def leaks(self) -> int:
        """Leaked packets and DNS queries together."""
        return len(self.leaked) + len(self.dns_leaks)


def judge(
    frames: Iterable[Frame | Packet],
    facts: WireFacts,
    queries: Iterable[DnsQuery],
    case: Case,
    *,
    trigger_at: float | None,
    started: float,
    broken: str | None,
    judged_from: float | None = None,
) -> Judgement:
    """The verdict of one case, with its evidence.

    `trigger_at` and `started` are epoch seconds: when the trigger fired (None
    when the case never got that far) and when the case started. With
    `judged_from` (a case with early flows: when the subject connected), what
    left before it is shown but not judged.
    """
    packets = tuple(classify(frames, facts))
    since = judged_from if judged_from is not None else float("-inf")
    leaked = tuple(p for p in packets if p.klass is LEAK and p.t >= since)
    dns_leaks = tuple(dns_lock_leaks(queries, {topology.VPN_RESOLVER})) if case.dns_lock else ()
    window = _window(leaked, trigger_at, started) if leaked else None
    if leaked or dns_leaks:
        parts = []
        if leaked:
            parts.append(f"{len(leaked)} packet{'s' * (len(leaked) != 1)} outside the tunnel")
        if dns_leaks:
            noun = "queries" if len(dns_leaks) != 1 else "query"
            parts.append(f"{len(dns_leaks)} DNS {noun} to a resolver not the VPN's")
        reason = "; ".join(parts) + (f" ({window.text})" if window else "")
        return Judgement(Verdict.LEAK, reason, packets, leaked, dns_leaks, window)
    if broken:
        return Judgement(Verdict.BROKEN, broken, packets, leaked, dns_leaks, None)
    reason = "no packet left outside the tunnel"
    return Judgement(Verdict.PASS, reason, packets, leaked, dns_leaks, None)


def _window(
    leaked: tuple[ClassifiedPacket, ...], trigger_at: float | None, started: float
) -> Window:
    since = "the trigger" if trigger_at is not None else "the case started"
    zero = trigger_at if trigger_at is not None else started
    times = [p.t for p in leaked]
    return Window(
        (min(times) - zero) * 1000,
        (max(times) - zero) * 1000,
        len(leaked),
        sum(p.stream is not None for p in leaked),
        since,
    )
