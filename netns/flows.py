"""Flows opened before the kill switch: a long-lived TCP connection and a UDP flow,
both bound to the physical interface, that keep sending for the whole case.

    python3 -m netns.flows IFNAME ADDRESS PORT   (until SIGTERM)

Both carry STUN binding requests (RFC 5389, over TCP and over UDP) to a STUN
server, which answers each: the TCP connection is established and the UDP
flow has seen replies, so a firewall's conntrack holds both as established.
A socket bound to an interface (SO_BINDTODEVICE) is not moved into a tunnel
by routes that change under it. The TCP connection is opened again whenever
it breaks; every attempt is logged.

It prints `tcp: <outcome>` and `udp: <outcome>` after its first attempt of
each (so that the lab knows whether they opened before it connects the VPN),
and on SIGTERM one JSON line with how many requests each flow sent.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

PERIOD = 0.02  # a request per flow every 20 ms
CONNECT_TIMEOUT = 1.0
FIRST_ANSWER = 0.5  # how long the UDP flow waits for its first answer before it says so


def binding_request() -> bytes:
    return b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)


def bound(kind: int, ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    return sock


class Flows:
    def __init__(self, ifname: str, address: str, port: int) -> None:
        self.ifname, self.target = ifname, (address, port)
        self.tcp: socket.socket | None = None
        self.udp = bound(socket.SOCK_DGRAM, ifname)
        self.udp.setblocking(False)
        self.sent = {"tcp": 0, "udp": 0}
        self.stopped = False

    def open_tcp(self) -> str:
        sock = bound(socket.SOCK_STREAM, self.ifname)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(self.target)
        except OSError as exc:
            sock.close()
            return "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        sock.setblocking(False)
        self.tcp = sock
        return "open"

    def send(self, name: str, sock: socket.socket, data: bytes) -> bool:
        try:
            if name == "tcp":
                sock.send(data)
            else:
                sock.sendto(data, self.target)
        except OSError:
            return False
        self.sent[name] += 1
        return True

    def drain(self) -> bool:
        """Read what the server answered; True if the UDP flow got an answer."""
        answered = False
        socks = [s for s in (self.tcp, self.udp) if s is not None]
        for sock in select.select(socks, [], [], 0)[0]:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if sock is self.udp:
                answered = answered or bool(data)
            elif not data:
                self.tcp.close()
                self.tcp = None
        return answered

    def run(self) -> None:
        print(f"tcp: {self.open_tcp()}", flush=True)
        self.send("udp", self.udp, binding_request())
        deadline = time.monotonic() + FIRST_ANSWER
        while time.monotonic() < deadline and not self.drain():
            time.sleep(PERIOD)
        print(f"udp: {'answered' if time.monotonic() < deadline else 'no answer'}", flush=True)
        while not self.stopped:
            if self.tcp is None:
                self.open_tcp()
            elif not self.send("tcp", self.tcp, binding_request()):
                self.tcp.close()
                self.tcp = None
            self.send("udp", self.udp, binding_request())
            self.drain()
            time.sleep(PERIOD)
        print(json.dumps(self.sent), flush=True)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python3 -m netns.flows IFNAME ADDRESS PORT", file=sys.stderr)
        return 2
    flows = Flows(argv[0], argv[1], int(argv[2]))

    def stop(*_: object) -> None:
        flows.stopped = True

    signal.signal(signal.SIGTERM, stop)
    flows.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
