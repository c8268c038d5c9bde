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

from netns.stream import payload
from netns.topology import UPLINK, VPN_ENDPOINT

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
# The client's physical interface, where it is not the netns client's `uplink`
# (a guest's eth0, or its Wi-Fi station).
UPLINK_ENV = "LEAKCERT_UPLINK"


def _uplink() -> str:
    return os.environ.get(UPLINK_ENV, UPLINK)


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


def _uplink_address() -> str:
    # The address the LAN's DHCP gave the physical interface, as an application finds it.
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", _uplink()], capture_output=True, text=True
    ).stdout.split()
    return out[out.index("inet") + 1].split("/")[0] if "inet" in out else "0.0.0.0"


def _marked_datagram(address: str, port: int) -> Outcome:
    # Marked as the stream's packets are: the judge tells it from the tunnel's own.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(payload(0), (address, port))
        except OSError as exc:
            return Outcome(False, exc.strerror or str(exc))
    return Outcome(True, f"sent to {address}:{port}")


def _name_query(name: str, qtype: int = 1) -> bytes:
    # A DNS-format question (mDNS and LLMNR share it): id 0, one question.
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return b"\0\0\0\0\0\1\0\0\0\0\0\0" + labels + qtype.to_bytes(2, "big") + b"\0\1"


def _multicast(queries: list[tuple[str, int, bytes]]) -> Outcome:
    # As a responder does (avahi, systemd-resolved): out of each link, the uplink here.
    index = socket.if_nametoindex(_uplink())
    sent = []
    for group, port, query in queries:
        v6 = ":" in group
        with socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            else:
                mreqn = socket.inet_aton("0.0.0.0") * 2 + index.to_bytes(4, "little")
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            try:
                sock.sendto(query, (group, port))
                sent.append(f"{group}:{port}")
            except OSError as exc:
                return Outcome(False, exc.strerror or str(exc))
    return Outcome(True, "sent to " + ", ".join(sent))


def _netbios() -> Outcome:
    # A NetBIOS name query (RFC 1002 4.2.12), broadcast on the uplink's subnet as nmblookup does.
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", _uplink()], capture_output=True, text=True
    ).stdout.split()
    broadcast = out[out.index("brd") + 1] if "brd" in out else "255.255.255.255"
    name = "LEAKCERT".ljust(15) + "\0"
    encoded = b" " + bytes(
        c for ch in name.encode() for c in (0x41 + (ch >> 4), 0x41 + (ch & 0x0F))
    )
    query = b"\x13\x37\x01\x10\0\1\0\0\0\0\0\0" + encoded + b"\0\0\x20\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        try:
            sock.sendto(query, (broadcast, 137))
        except OSError as exc:
            return Outcome(False, exc.strerror or str(exc))
    return Outcome(True, f"sent to {broadcast}:137")


# Names asked on the LAN: a printer's by mDNS (RFC 6762), a host's by LLMNR (RFC 4795),
# a share's by NetBIOS (RFC 1002), as desktops ask them on every link.
PROBES |= {
    "mdns": lambda: _multicast(
        [
            ("224.0.0.251", 5353, _name_query("printer.local")),
            ("ff02::fb", 5353, _name_query("printer.local")),
        ]
    ),
    "llmnr": lambda: _multicast(
        [
            ("224.0.0.252", 5355, _name_query("fileserver")),
            ("ff02::1:3", 5355, _name_query("fileserver")),
        ]
    ),
    "netbios": _netbios,
}


# Programs that pick the physical interface themselves (SO_BINDTODEVICE, or a
# bind to its address), as curl --interface and ping -I do: routes do not
# decide where they go. And one that is not the VPN client but sends to the
# VPN server's own address, port and protocol (Cure53 MUL-02-002).
PROBES |= {
    "http-bound": lambda: _program(
        ["curl", "-sS", "-m", T, "--interface", _uplink(), f"http://{WEB4}/"]
    ),
    "icmp-bound": lambda: _program(["ping", "-n", "-c1", f"-W{T}", "-I", _uplink(), WEB4]),
    "http-from-uplink": lambda: _program(
        ["curl", "-sS", "-m", T, "--interface", _uplink_address(), f"http://{WEB4}/"]
    ),
    "icmp-from-uplink": lambda: _program(
        ["ping", "-n", "-c1", f"-W{T}", "-I", _uplink_address(), WEB4]
    ),
    "vpn-port-other-process": lambda: _marked_datagram(
        VPN_ENDPOINT, int(os.environ.get(VPN_PORT_ENV, "51820"))
    ),
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
    try:
        outcomes = run(argv)
    except OSError as exc:  # a program a probe runs is missing: nothing was sent, no result
        print(f"probes: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
