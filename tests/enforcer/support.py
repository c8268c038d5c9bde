"""A two-namespace bench for the enforcer: a client and the world it may or may not reach.

    client (lceXXXXXX-c)                         far (lceXXXXXX-f)
      up0   198.51.100.2/24 192.168.7.2/24  <-veth->  up1  198.51.100.1/24 192.168.7.1/24
            2001:db8:1::2/64                              2001:db8:1::1/64, and the hosts
                                                          203.0.113.1 (VPN endpoint),
                                                          203.0.113.99, 192.0.2.53,
                                                          2001:db8:3::99
      wgt0  198.18.0.2/24 2001:db8:2::2/64   <-veth->  wgt1 198.18.0.1/24 2001:db8:2::1/64,
            (the "tunnel": rules only match               198.18.0.53 (VPN resolver),
             its name)                                    198.18.1.53 (another resolver)

Nothing links to the root namespace. The far side runs probe.py listeners; every
arrival is reported as a line, so tests wait for events instead of sleeping.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("probe.py")
PORTS = (53, 67, 853, 9000, 9999, 51820, 51821)
TUNNEL_IF = "wgt0"
ENDPOINT = "203.0.113.1:51820/udp"
VPN_RESOLVER = "198.18.0.53"
MARKER = ("udp", "198.18.0.1", 9000)  # always allowed: v4 through the tunnel


def sh(*args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    # A bound on every command: a wedged test should fail, not hang the suite.
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60, **kw)


def new_netns(tag: str) -> str:
    name = f"lce{secrets.token_hex(3)}-{tag}"
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    return name


def del_netns(name: str) -> None:
    """Kill what still runs in `name` (by pid) and delete it."""
    pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), 9)
    sh("ip", "netns", "del", name, check=False)


def enforcer_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def enforcer(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m enforcer ARGS` inside `ns`."""
    return sh(
        "ip",
        "netns",
        "exec",
        ns,
        sys.executable,
        "-m",
        "enforcer",
        *args,
        check=False,
        env=enforcer_env(),
    )


def nft_json(ns: str) -> str:
    """`nft -j list table inet leakcert` in `ns`, raw (empty when absent)."""
    return sh(
        "ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "leakcert", check=False
    ).stdout


def policy_flags(
    *,
    tunnel_ipv6: bool = False,
    lan_access: bool = False,
    resolvers: tuple[str, ...] = (VPN_RESOLVER,),
    mode: str = "always-on",
    endpoint_mark: int = 0,
) -> list[str]:
    flags = ["--tunnel", TUNNEL_IF, "--endpoint", ENDPOINT, "--mode", mode]
    if endpoint_mark:
        flags += ["--endpoint-mark", str(endpoint_mark)]
    for r in resolvers:
        flags += ["--resolver", r]
    if tunnel_ipv6:
        flags.append("--tunnel-ipv6")
    if lan_access:
        flags.append("--lan-access")
    return flags


class Bench:
    """The client/far pair, with a listener on the far side."""

    def __init__(self) -> None:
        self.client = new_netns("c")
        self.far = new_netns("f")
        self.arrivals: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.listener: subprocess.Popen[str] | None = None
        try:
            self._wire()
            self._listen()
        except BaseException:
            self.close()
            raise

    def _wire(self) -> None:
        c, f = self.client, self.far
        for near, far_if in (("up0", "up1"), (TUNNEL_IF, "wgt1")):
            sh(
                "ip",
                "-n",
                c,
                "link",
                "add",
                near,
                "type",
                "veth",
                "peer",
                "name",
                far_if,
                "netns",
                f,
            )
            sh("ip", "-n", c, "link", "set", near, "up")
            sh("ip", "-n", f, "link", "set", far_if, "up")
        for ns, dev, addrs in (
            (c, "up0", ["198.51.100.2/24", "192.168.7.2/24", "2001:db8:1::2/64"]),
            (c, TUNNEL_IF, ["198.18.0.2/24", "2001:db8:2::2/64"]),
            (
                f,
                "up1",
                [
                    "198.51.100.1/24",
                    "192.168.7.1/24",
                    "2001:db8:1::1/64",
                    "203.0.113.1/32",
                    "203.0.113.99/32",
                    "192.0.2.53/32",
                    "2001:db8:3::99/128",
                ],
            ),
            (f, "wgt1", ["198.18.0.1/24", "198.18.0.53/32", "198.18.1.53/32", "2001:db8:2::1/64"]),
        ):
            for addr in addrs:
                extra = ["nodad"] if ":" in addr else []
                sh("ip", "-n", ns, "addr", "add", addr, "dev", dev, *extra)
        sh("ip", "-n", c, "route", "add", "default", "via", "198.51.100.1")
        sh("ip", "-n", c, "-6", "route", "add", "default", "via", "2001:db8:1::1")
        sh("ip", "-n", c, "route", "add", "198.18.1.0/24", "via", "198.18.0.1")

    def _listen(self) -> None:
        self.listener = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.far,
                sys.executable,
                "-u",
                str(PROBE),
                "listen",
                *map(str, PORTS),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.listener.stdout is not None
        if self.listener.stdout.readline().strip() != "ready":
            raise RuntimeError("far listener did not start")
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.listener is not None and self.listener.stdout is not None
        for line in self.listener.stdout:
            self.arrivals.put(line.rstrip("\n"))

    def close(self) -> None:
        if self.listener is not None:
            self.listener.kill()
            self.listener.wait()
        del_netns(self.client)
        del_netns(self.far)

    def run(self, ns: str, *args: str) -> str:
        return sh("ip", "netns", "exec", ns, *args).stdout

    def send(
        self,
        proto: str,
        host: str,
        port: int,
        *,
        dev: str | None = None,
        sport: int | None = None,
        broadcast: bool = False,
        mark: int = 0,
    ) -> tuple[str, str]:
        """Send one token from the client; (token, probe's "ok"/"error X")."""
        token = secrets.token_hex(8)
        extra = [
            *(["--dev", dev] if dev else []),
            *(["--sport", str(sport)] if sport else []),
            *(["--broadcast"] if broadcast else []),
            *(["--mark", str(mark)] if mark else []),
        ]
        out = self.run(
            self.client, sys.executable, str(PROBE), "send", proto, host, str(port), token, *extra
        )
        return token, out.strip()

    def wait_for(self, token: str, timeout: float = 5.0) -> bool:
        """True once `token` arrives on the far side (False after `timeout`)."""
        deadline = time.monotonic() + timeout
        while not any(token in line for line in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.seen.append(self.arrivals.get(timeout=left))
            except queue.Empty:
                return False
        return True

    def reaches(self, proto: str, host: str, port: int, **kw: object) -> bool:
        """Did a packet get through? For "no", a marker sent after it must arrive first."""
        token, _ = self.send(proto, host, port, **kw)  # type: ignore[arg-type]
        marker, result = self.send(*MARKER)
        if not self.wait_for(marker):
            raise AssertionError(f"marker through the tunnel did not arrive ({result})")
        # The marker is the event; the short grace covers the listener's own
        # scheduling (a TCP token is printed only after the peer's close).
        return self.wait_for(token, timeout=0.2 if proto == "udp" else 0.5)

    def up(self, *flags: str) -> None:
        result = enforcer(self.client, "up", *flags)
        assert result.returncode == 0, result.stderr

    def down(self) -> None:
        enforcer(self.client, "down", "--force")

    def far_counter(self) -> None:
        """Count (in the far kernel) every packet to udp port 9999 arriving from the client."""
        script = (
            "table inet lcecount {\n counter leaks {}\n"
            " chain pre { type filter hook prerouting priority -300; udp dport 9999 counter"
            " name leaks; }\n}\n"
        )
        sh("ip", "netns", "exec", self.far, "nft", "-f", "-", input=script)

    def far_count(self) -> int:
        out = self.run(self.far, "nft", "-j", "list", "counter", "inet", "lcecount", "leaks")
        for item in json.loads(out)["nftables"]:
            if "counter" in item:
                return int(item["counter"]["packets"])
        raise AssertionError("no counter")
