"""Benchmark the reference enforcer: what `up` costs, and what the rules cost the tunnel.

    python benchmarks/enforcer_bench.py [--runs N] [--seconds S]

1. `leakcert-enforcer up` against a bare `nft -f` of the same ruleset, median of
   N runs each, interleaved, in a fresh namespace.
2. iperf3 throughput through a real wireguard-go tunnel between two namespaces,
   with and without the rules, interleaved rounds, median.

Prints figures only (no asserts). Needs root, nft, wireguard-go, wg, iperf3.
Every namespace and process it starts is removed by pid/name at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from enforcer import nftables  # noqa: E402
from enforcer.policy import Policy  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def sh(*args: str, **kw: object) -> str:
    return subprocess.run(
        list(args), capture_output=True, text=True, check=True, timeout=120, **kw
    ).stdout


@contextlib.contextmanager
def namespaces(*tags: str) -> Iterator[list[str]]:
    """Fresh namespaces (loopback up); on exit, kill what runs in them by pid and delete."""
    names: list[str] = []
    try:
        for tag in tags:
            name = f"lce{secrets.token_hex(3)}-{tag}"
            sh("ip", "netns", "add", name)
            names.append(name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        yield names
    finally:
        for name in names:
            for pid in sh("ip", "netns", "pids", name).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", name], check=False)


def timed(args: list[str], **kw: object) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, timeout=60, **kw)
    return time.perf_counter() - start


def bench_up(runs: int) -> None:
    flags = ["--tunnel", "wg0", "--endpoint", "203.0.113.1:51820/udp", "--resolver", "198.18.0.53"]
    policy = Policy(
        tunnels=("wg0",), endpoints=("203.0.113.1:51820/udp",), resolvers=("198.18.0.53",)
    )
    with namespaces("b") as (ns,), tempfile.NamedTemporaryFile("w", suffix=".nft") as f:
        f.write(nftables.render(policy))
        f.flush()
        up = ["ip", "netns", "exec", ns, sys.executable, "-m", "enforcer", "up", *flags]
        bare = ["ip", "netns", "exec", ns, "nft", "-f", f.name]
        ups, bares = [], []
        for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
            ups.append(timed(up, env=ENV))
            bares.append(timed(bare))
    mu, mb = statistics.median(ups), statistics.median(bares)
    print(
        f"up latency      : leakcert-enforcer up {mu * 1000:7.1f} ms, bare nft -f "
        f"{mb * 1000:7.1f} ms (median of {runs}), ratio {mu / mb:.2f}x"
    )


def wait_line(proc: subprocess.Popen[str], text: str, timeout: float = 20) -> None:
    """Return once `proc` prints a line containing `text` (the event), or raise."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")  # EOF

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"{proc.args[-1]!r} did not say {text!r}") from None
        if text in line:
            return
        if not line:
            raise RuntimeError(f"{proc.args[-1]!r} exited before saying {text!r}")


class WireGuard:
    """wireguard-go on one end, started in `ns`, stopped by pid."""

    def __init__(self, ns: str, ifname: str) -> None:
        self.ns, self.ifname = ns, ifname
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "env", "LOG_LEVEL=verbose", "wireguard-go", "-f", ifname],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # The socket in /var/run/wireguard exists once this line is out.
        wait_line(self.proc, "UAPI listener started")

    def stop(self) -> None:
        # SIGTERM, not SIGKILL: wireguard-go then removes its UAPI socket.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wait_ping(ns: str, addr: str) -> None:
    # A handshake has to complete first; each ping is the event we wait on.
    for _ in range(40):
        if (
            subprocess.run(
                ["ip", "netns", "exec", ns, "ping", "-c1", "-W1", addr],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        ):
            return
    raise RuntimeError(f"no ping answer from {addr} through the tunnel")


def _iperf(client: str, server: str, seconds: int) -> float:
    srv = subprocess.Popen(
        ["ip", "netns", "exec", server, "iperf3", "-s", "-1", "-B", "198.18.0.1", "--forceflush"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_line(srv, "Server listening")
        out = sh(
            "ip", "netns", "exec", client, "iperf3", "-c", "198.18.0.1", "-t", str(seconds), "-J"
        )
        return float(json.loads(out)["end"]["sum_received"]["bits_per_second"])
    finally:
        srv.kill()
        srv.wait()


def bench_tunnel(rounds: int, seconds: int) -> None:
    tag = secrets.token_hex(3)
    wg_c, wg_s = f"wgb{tag}c", f"wgb{tag}s"
    with namespaces("c", "s") as (cns, sns), tempfile.TemporaryDirectory() as tmp:
        sh(
            "ip",
            "-n",
            cns,
            "link",
            "add",
            "up0",
            "type",
            "veth",
            "peer",
            "name",
            "up1",
            "netns",
            sns,
        )
        for ns, dev, addr in ((cns, "up0", "198.51.100.2/24"), (sns, "up1", "198.51.100.1/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        keys = {}
        for side in ("c", "s"):
            priv = sh("wg", "genkey").strip()
            Path(tmp, side).write_text(priv + "\n")
            keys[side] = sh("wg", "pubkey", input=priv).strip()
        ends = []
        try:
            for ns, ifname, side, peer, addr, peer_addr, endpoint in (
                (cns, wg_c, "c", "s", "198.18.0.2/24", "198.18.0.1/32", "198.51.100.1:51820"),
                (sns, wg_s, "s", "c", "198.18.0.1/24", "198.18.0.2/32", None),
            ):
                ends.append(WireGuard(ns, ifname))
                extra = ["endpoint", endpoint] if endpoint else []
                sh(
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "wg",
                    "set",
                    ifname,
                    "private-key",
                    str(Path(tmp, side)),
                    "listen-port",
                    "51820" if side == "s" else "51821",
                    "peer",
                    keys[peer],
                    "allowed-ips",
                    peer_addr,
                    *extra,
                )
                sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
                sh("ip", "-n", ns, "link", "set", ifname, "up")
            _wait_ping(cns, "198.18.0.1")
            up = [
                sys.executable,
                "-m",
                "enforcer",
                "up",
                "--tunnel",
                wg_c,
                "--endpoint",
                "198.51.100.1:51820/udp",
                "--mode",
                "connected",
            ]
            without, with_rules = [], []
            for _ in range(rounds):
                without.append(_iperf(cns, sns, seconds))
                sh("ip", "netns", "exec", cns, *up, env=ENV)
                with_rules.append(_iperf(cns, sns, seconds))
                sh("ip", "netns", "exec", cns, sys.executable, "-m", "enforcer", "down", env=ENV)
        finally:
            for end in ends:
                end.stop()
    mw, mr = statistics.median(without), statistics.median(with_rules)
    print(
        f"tunnel iperf3   : without rules {mw / 1e6:8.1f} Mbit/s, with rules "
        f"{mr / 1e6:8.1f} Mbit/s (median of {rounds} x {seconds}s), ratio {mr / mw:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="up/nft runs (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="iperf3 rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=3, help="iperf3 seconds per run")
    args = parser.parse_args()
    bench_up(args.runs)
    bench_tunnel(args.rounds, args.seconds)


if __name__ == "__main__":
    main()
