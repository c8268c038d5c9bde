"""Probes: the application traffic a case makes the client send.

Each probe is what a real program on the client does: curl fetching a page,
the C library resolving a name through /etc/resolv.conf, dig asking its own
resolver, a browser's STUN binding request (WebRTC), ping, an NTP query.
`python -m conformance.probes NAME...` runs the named probes at once on the
client (the runner starts it inside the client host) and prints one JSON
object: for each probe whether it got an answer, and what answer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

WEB4, WEB6 = "203.0.113.10", "2001:db8:ff::10"
WEB_NAME = "web.leakcert.test"
PUBLIC_RESOLVER = "203.0.113.53"
STUN4, STUN6, STUN_PORT = "203.0.113.78", "2001:db8:ff::78", 3478
# A STUN server on the VPN server's own address (TunnelCrack's ServerIP attack).
STUN_ENDPOINT = "198.51.100.2"
NTP4 = "203.0.113.123"
TIMEOUT = 1.5
# Where the runner says the VPN's port and the LAN's gateway are this moment.
VPN_PORT_ENV, LAN_GATEWAY_ENV = "LEAKCERT_VPN_PORT", "LEAKCERT_LAN_GATEWAY"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str


def _program(argv: list[str]) -> Outcome:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT + 1)
    except subprocess.TimeoutExpired:
        return Outcome(False, "timed out")
    text = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return Outcome(done.returncode == 0, text[0][:200] if text else f"exit {done.returncode}")


def _stun(address: str, family: int) -> Outcome:
    # A binding request as a browser's ICE agent sends it (RFC 5389): the answer's
    # XOR-MAPPED-ADDRESS is the address the STUN server saw.
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.sendto(request, (address, STUN_PORT))
            answer, _ = sock.recvfrom(2048)
        except OSError as exc:
            return Outcome(False, "timed out" if isinstance(exc, TimeoutError) else exc.strerror)
    return Outcome(True, _mapped_address(answer, transaction) or "answer without mapped address")


def _mapped_address(answer: bytes, transaction: bytes) -> str | None:
    cookie = b"\x21\x12\xa4\x42"
    offset = 20
    while offset + 4 <= len(answer):
        kind = int.from_bytes(answer[offset : offset + 2], "big")
        length = int.from_bytes(answer[offset + 2 : offset + 4], "big")
        value = answer[offset + 4 : offset + 4 + length]
        if kind == 0x0020 and len(value) >= 8:
            if value[1] == 1:
                raw = bytes(a ^ b for a, b in zip(value[4:8], cookie, strict=True))
                return socket.inet_ntop(socket.AF_INET, raw)
            raw = bytes(a ^ b for a, b in zip(value[4:20], cookie + transaction, strict=True))
            return socket.inet_ntop(socket.AF_INET6, raw)
        offset += 4 + length + (-length % 4)
    return None


def _ntp() -> Outcome:
    # An SNTP client request (RFC 4330): version 4, mode 3.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.sendto(b"\x23" + b"\0" * 47, (NTP4, 123))
            answer, _ = sock.recvfrom(512)
        except OSError as exc:
            return Outcome(False, "timed out" if isinstance(exc, TimeoutError) else exc.strerror)
    return Outcome(len(answer) >= 48, f"stratum {answer[1]}")


def _datagram(address: str, port: int) -> Outcome:
    # Nothing answers: what matters is whether the datagram gets onto the wire.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(b"leakcert probe", (address, port))
        except OSError as exc:
            return Outcome(False, exc.strerror or str(exc))
    return Outcome(True, f"sent to {address}:{port}")


T = f"{TIMEOUT:g}"
PROBES: dict[str, Callable[[], Outcome]] = {
    "http": lambda: _program(["curl", "-sS", "-m", T, f"http://{WEB4}/"]),
    "http6": lambda: _program(["curl", "-sS", "-m", T, f"http://[{WEB6}]/"]),
    "system-dns": lambda: _program(["timeout", T, "getent", "ahostsv4", WEB_NAME]),
    "app-dns": lambda: _program(
        ["dig", "+short", "+tries=1", f"+time={int(TIMEOUT) or 1}", f"@{PUBLIC_RESOLVER}", WEB_NAME]
    ),
    "stun": lambda: _stun(STUN4, socket.AF_INET),
    "stun6": lambda: _stun(STUN6, socket.AF_INET6),
    "stun-endpoint": lambda: _stun(STUN_ENDPOINT, socket.AF_INET),
    "icmp": lambda: _program(["ping", "-n", "-c1", f"-W{T}", WEB4]),
    "icmp6": lambda: _program(["ping", "-n", "-6", "-c1", f"-W{T}", WEB6]),
    "ntp": _ntp,
    # Some recipes open the VPN's port to every address, or DHCP's port to
    # every address, or the whole LAN: traffic a kill switch must not let out.
    "vpn-port-elsewhere": lambda: _datagram(WEB4, int(os.environ.get(VPN_PORT_ENV, "51820"))),
    "dhcp-elsewhere": lambda: _datagram(WEB4, 67),
    "lan": lambda: _program(["ping", "-n", "-c1", f"-W{T}", os.environ[LAN_GATEWAY_ENV]]),
}


def _timed(name: str) -> dict[str, object]:
    start = time.monotonic()
    outcome = PROBES[name]()
    return {
        "ok": outcome.ok,
        "detail": outcome.detail,
        "seconds": round(time.monotonic() - start, 3),
    }


def run(names: list[str]) -> dict[str, dict[str, object]]:
    """Run the named probes concurrently; every probe ends within its timeout."""
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {name: pool.submit(_timed, name) for name in names}
    return {name: future.result() for name, future in futures.items()}


def main(argv: list[str]) -> int:
    unknown = [n for n in argv if n not in PROBES]
    if unknown or not argv:
        print(f"usage: probes {' | '.join(PROBES)} ... (unknown: {unknown})", file=sys.stderr)
        return 2
    print(json.dumps(run(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
