"""The stream: numbered packets the client sends without pause, for the whole case.

Probes are instants; a kill switch that opens for 30 ms while it rebuilds its
rules, or 300 ms after a link change, is between them. The stream is the
client's applications sending all the time: UDP, TCP SYN and ICMP, IPv4 and
IPv6, to internet hosts, to the VPN server's address on ports that are not
the tunnel's, and to hosts on the LAN. Every packet carries a magic, its
sequence number and its send time, so that a leaked one is matched to the
moment it was sent.

    python3 -m netns.stream [--wait] [--resolv-conf PATH] RATE DESTINATION...   (until SIGTERM)

Applications also resolve names all the time: with `--resolv-conf`, every
few rounds the stream asks each resolver that file names (re-read each time,
as the C library does) for a name, with its mark in an EDNS option.

It prints `stream ready` once its sockets are open and, on SIGTERM, one JSON
line: how many packets it sent and how many the kernel refused (a firewall
that drops a packet makes send() fail with EPERM: that is the point).
Raw sockets are used so that the TCP SYNs carry the payload and no
connection state is left behind.

With `--wait` it is started ahead (its interpreter's start-up is not on the
case's path): once ready it sends nothing until SIGUSR1, then prints
`stream sending` and begins.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"leakcert-stream\0"
_STAMP = struct.Struct("!Qd")  # sequence number, send time (epoch seconds)
PAYLOAD_SIZE = len(MAGIC) + _STAMP.size
UDP_PORT = 9  # discard
DNS_NAME = "stream.leakcert.test"
DNS_EVERY = 3  # rounds between two lookups: about 10 a second
_EDNS_OPTION = 65001  # an option code for local or experimental use (RFC 6891)
TCP_PORT = 443  # nothing listens on the lab's hosts: the answer is a RST, never a SYN/ACK
_TCP_SYN = 0x02
_IPV6_CHECKSUM = 7  # IPV6_CHECKSUM (linux/in6.h): the kernel computes it at our offset


@dataclass(frozen=True)
class StreamMark:
    """What a stream packet says about itself."""

    seq: int
    sent: float  # epoch seconds


@dataclass(frozen=True)
class StreamSummary:
    """What one run of the stream did."""

    rate: float  # packets a second, in all
    destinations: tuple[str, ...]
    packets: int  # numbered and handed to the kernel
    sent: int  # the kernel took them (they left the socket)
    refused: int  # the kernel refused them (no route, or dropped by a firewall)
    seconds: float  # how long it ran

    @property
    def achieved(self) -> float:
        """Packets a second it actually numbered and handed to the kernel."""
        return self.packets / self.seconds if self.seconds else 0.0


def mark(payload: bytes) -> StreamMark | None:
    """The stream's mark in a packet's payload, or None if it is not the stream's."""
    at = payload.find(MAGIC)
    if at < 0 or len(payload) < at + PAYLOAD_SIZE:
        return None
    seq, sent = _STAMP.unpack_from(payload, at + len(MAGIC))
    return StreamMark(seq, sent)


def payload(seq: int, sent: float | None = None) -> bytes:
    """What packet `seq` of the stream carries: the magic, its number, its send time."""
    return MAGIC + _STAMP.pack(seq, time.time() if sent is None else sent)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Sender:
    """One destination: a datagram, a SYN and an echo request per round."""

    def __init__(self, address: str, sport: int) -> None:
        self.address = address
        self.v6 = ipaddress.ip_address(address).version == 6
        family = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        self.tcp = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
        icmp = socket.IPPROTO_ICMPV6 if self.v6 else socket.IPPROTO_ICMP
        self.icmp = socket.socket(family, socket.SOCK_RAW, icmp)
        if self.v6:
            self.tcp.setsockopt(socket.IPPROTO_IPV6, _IPV6_CHECKSUM, 16)
        for sock in (self.udp, self.tcp, self.icmp):
            # The stream never reads: answers are dropped instead of queued.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
            # A LAN's broadcast address is one of its destinations.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.sport = sport
        self.target = (address, 0)

    def send(self, seq: int) -> tuple[int, int]:
        """Three packets; returns (sent, refused)."""
        sent = refused = 0
        for build, sock, port in (
            (self._datagram, self.udp, UDP_PORT),
            (self._syn, self.tcp, 0),
            (self._echo, self.icmp, 0),
        ):
            try:
                sock.sendto(build(seq), (self.address, port))
                sent += 1
            except OSError:
                # No route, or a firewall dropped it: nothing left the socket.
                refused += 1
            seq += 1
        return sent, refused

    def _datagram(self, seq: int) -> bytes:
        return payload(seq)

    def _syn(self, seq: int) -> bytes:
        data = payload(seq)
        header = struct.pack(
            "!HHIIBBHHH", self.sport, TCP_PORT, seq & 0xFFFFFFFF, 0, 5 << 4, _TCP_SYN, 64240, 0, 0
        )
        if self.v6:
            return header + data
        # IPv4 raw TCP: the checksum covers a pseudo-header with the source the
        # kernel will choose, which a connected datagram socket tells.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((self.address, TCP_PORT))
            source = probe.getsockname()[0]
        finally:
            probe.close()
        segment = header + data
        pseudo = struct.pack(
            "!4s4sBBH",
            socket.inet_aton(source),
            socket.inet_aton(self.address),
            0,
            socket.IPPROTO_TCP,
            len(segment),
        )
        checksum = _checksum(pseudo + segment)
        return segment[:16] + struct.pack("!H", checksum) + segment[18:]

    def _echo(self, seq: int) -> bytes:
        data = payload(seq)
        kind = 128 if self.v6 else 8
        header = struct.pack("!BBHHH", kind, 0, 0, self.sport, seq & 0xFFFF)
        if self.v6:
            return header + data  # the kernel fills in ICMPv6's checksum
        checksum = _checksum(header + data)
        return header[:2] + struct.pack("!H", checksum) + header[4:] + data


def dns_query(seq: int) -> bytes:
    """A query for DNS_NAME's A record, carrying the stream's mark in an EDNS option."""
    header = struct.pack("!HHHHHH", seq & 0xFFFF, 0x0100, 1, 0, 0, 1)
    name = b"".join(bytes([len(p)]) + p.encode() for p in DNS_NAME.split(".")) + b"\0"
    data = payload(seq)
    option = struct.pack("!HH", _EDNS_OPTION, len(data)) + data
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(option)) + option
    return header + name + struct.pack("!HH", 1, 1) + opt


def nameservers(resolv_conf: Path) -> list[str]:
    """The resolvers a resolv.conf names, as the C library reads them."""
    try:
        text = resolv_conf.read_text(errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                found.append(str(ipaddress.ip_address(fields[1])))
            except ValueError:
                continue
    return found


class _Resolver:
    """The system's resolvers: one lookup to each, every DNS_EVERY rounds."""

    def __init__(self, resolv_conf: Path) -> None:
        self.resolv_conf = resolv_conf
        self.sockets = {
            4: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            6: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM),
        }
        for sock in self.sockets.values():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)

    def send(self, seq: int) -> tuple[int, int, int]:
        """(packets numbered, sent, refused)."""
        sent = refused = numbered = 0
        for address in nameservers(self.resolv_conf):
            sock = self.sockets[ipaddress.ip_address(address).version]
            try:
                sock.sendto(dns_query(seq + numbered), (address, 53))
                sent += 1
            except OSError:
                refused += 1
            numbered += 1
        return numbered, sent, refused


def run(
    rate: float, destinations: list[str], resolv_conf: Path | None = None, wait: bool = False
) -> dict[str, int]:
    """Send `rate` packets a second in all, round after round, until SIGTERM (with
    `wait`, from SIGUSR1 on)."""
    senders = [_Sender(address, 40000 + i) for i, address in enumerate(destinations)]
    resolver = _Resolver(resolv_conf) if resolv_conf else None
    per_round = 3 * len(senders)
    period = per_round / rate
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    held = {signal.SIGUSR1, signal.SIGTERM}
    if wait:
        # Blocked before `ready`, so a signal sent as soon as it is read is not lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    print("stream ready", flush=True)
    if wait:
        stopping = signal.sigwait(held) == signal.SIGTERM
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        if not stopping:
            print("stream sending", flush=True)
    seq = sent = refused = rounds = 0
    started = next_round = time.monotonic()
    while not stopping:
        for sender in senders:
            ok, failed = sender.send(seq)
            seq += 3
            sent, refused = sent + ok, refused + failed
        if resolver is not None and rounds % DNS_EVERY == 0:
            numbered, ok, failed = resolver.send(seq)
            seq, sent, refused = seq + numbered, sent + ok, refused + failed
        rounds += 1
        next_round += period
        # Pacing, not waiting for a state: the stream's rate is its contract.
        delay = next_round - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_round = time.monotonic()
    seconds = round(time.monotonic() - started, 3)
    return {"packets": seq, "sent": sent, "refused": refused, "seconds": seconds}


USAGE = "usage: python3 -m netns.stream [--wait] [--resolv-conf PATH] RATE DESTINATION..."


def main(argv: list[str]) -> int:
    resolv_conf = None
    wait = argv[:1] == ["--wait"]
    if wait:
        argv = argv[1:]
    if argv[:1] == ["--resolv-conf"] and len(argv) >= 2:
        resolv_conf, argv = Path(argv[1]), argv[2:]
    try:
        rate = float(argv[0])
        destinations = [str(ipaddress.ip_address(a)) for a in argv[1:]]
    except (IndexError, ValueError):
        print(USAGE, file=sys.stderr)
        return 2
    if rate <= 0 or not destinations:
        print(USAGE, file=sys.stderr)
        return 2
    print(json.dumps(run(rate, destinations, resolv_conf, wait)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
