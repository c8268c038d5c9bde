"""Traffic probes the enforcer tests run inside their namespaces (a standalone script).

probe.py listen PORT...                 print "ready", then one line per arrival:
                                        "udp|tcp PORT PAYLOAD"
probe.py send udp|tcp HOST PORT TOKEN [--dev IF] [--sport N] [--broadcast] [--mark N]
                                        print "ok" or "error ERRNO-NAME"
probe.py flood HOST PORT RATE           UDP at about RATE packets/s until SIGTERM;
                                        print "ready" after the first send, and
                                        "attempts N" when stopped
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import selectors
import signal
import socket
import time


def _say(line: str) -> None:
    print(line, flush=True)


def listen(ports: list[int]) -> None:
    sel = selectors.DefaultSelector()
    for port in ports:
        for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(family, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
                if kind == socket.SOCK_STREAM:
                    s.listen(64)
                sel.register(
                    s, selectors.EVENT_READ, ("udp" if kind == socket.SOCK_DGRAM else "tcp", port)
                )
    _say("ready")
    while True:
        for key, _ in sel.select():
            proto, port = key.data
            sock = key.fileobj
            if proto == "udp":
                data, _ = sock.recvfrom(65535)
                _say(f"udp {port} {data.decode(errors='replace')}")
            else:
                conn, _ = sock.accept()
                conn.settimeout(2)
                with conn:
                    chunks = []
                    try:
                        while chunk := conn.recv(4096):
                            chunks.append(chunk)
                    except OSError:
                        pass
                _say(f"tcp {port} {b''.join(chunks).decode(errors='replace')}")


def _socket(
    proto: str, host: str, dev: str | None, sport: int | None, broadcast: bool
) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    if broadcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if sport:
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
    return s


def send(args: argparse.Namespace) -> None:
    try:
        with _socket(args.proto, args.host, args.dev, args.sport, args.broadcast) as s:
            if args.mark:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
            if args.proto == "udp":
                s.sendto(args.token.encode(), (args.host, args.port))
            else:
                s.settimeout(3)
                s.connect((args.host, args.port))
                s.sendall(args.token.encode())
        _say("ok")
    except OSError as err:
        _say(f"error {errno.errorcode.get(err.errno or 0, 'timeout')}")


def flood(host: str, port: int, rate: int) -> None:
    attempts = 0
    stop = False

    def on_term(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    burst = max(1, rate // 100)  # pace in 10 ms slots
    start = time.monotonic()
    while not stop:
        for _ in range(burst):
            with contextlib.suppress(OSError):  # EPERM while blocked: still an attempt
                s.sendto(b"flood", (host, port))
            attempts += 1
        if attempts == burst:
            _say("ready")
        delay = start + attempts / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    _say(f"attempts {attempts}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("listen")
    p.add_argument("ports", type=int, nargs="+")
    p = sub.add_parser("send")
    p.add_argument("proto", choices=("udp", "tcp"))
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("token")
    p.add_argument("--dev")
    p.add_argument("--sport", type=int)
    p.add_argument("--broadcast", action="store_true")
    p.add_argument("--mark", type=int, default=0)
    p = sub.add_parser("flood")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("rate", type=int)
    args = parser.parse_args()
    if args.cmd == "listen":
        listen(args.ports)
    elif args.cmd == "send":
        send(args)
    else:
        flood(args.host, args.port, args.rate)


if __name__ == "__main__":
    main()
