"""Lab benchmark: build + teardown time with the tunnel up, and capture throughput.

    sudo python3 benchmarks/lab_bench.py [--labs 5] [--packets 20000]

Prints the median time to build a lab, bring its WireGuard tunnel up and tear
it all down, and the packets per second the wire's capture takes without
losing one (every numbered datagram found in the pcap, the kernel's drop count
zero).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netns import topology
from netns.capture import read_frames
from netns.lab import Lab

SENDER = """
import socket, sys, time
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.perf_counter()
for i in range(n):
    s.sendto(i.to_bytes(4, "big"), ("{gateway}", 9))
print(time.perf_counter() - start)
"""


def build_and_teardown(workdir: Path) -> tuple[float, float]:
    start = time.perf_counter()
    lab = Lab(workdir)
    with lab:
        built = time.perf_counter()
        lab.client.run(
            "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up %s",
            lab.tunnel.config,
            cgroup=lab.subject_cgroup,
        )
        lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4)
    return built - start, time.perf_counter() - start


def capture_rate(workdir: Path, packets: int) -> tuple[float, int]:
    with Lab(workdir) as lab:
        pcap = workdir / "flood.pcap"
        lab.start_capture(pcap)
        sender = SENDER.format(gateway=topology.LAN1.gateway4)
        seconds = float(lab.client.run("python3 -c %s %s", sender, packets, timeout=300).stdout)
        stats = lab.stop_capture()
        seen = {
            bytes(f["UDP"].payload)[:4]
            for f in read_frames(pcap)
            if f.haslayer("UDP") and f["UDP"].dport == 9
        }
    return packets / seconds, packets - len(seen) + stats.dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=5)
    parser.add_argument("--packets", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakcert-bench-") as tmp:
        runs = [build_and_teardown(Path(tmp) / f"lab{i}") for i in range(args.labs)]
        builds, totals = zip(*runs, strict=True)
        print(
            f"lab build (client leased, VPN server up), median of {args.labs}: "
            f"{statistics.median(builds):.2f} s"
        )
        print(
            f"lab build + tunnel up + first request + teardown, median of {args.labs}: "
            f"{statistics.median(totals):.2f} s"
        )
        rate, lost = capture_rate(Path(tmp) / "capture", args.packets)
        verdict = "no loss" if lost == 0 else f"LOST {lost}"
        print(f"capture: {args.packets} datagrams at {rate:,.0f} packets/s sent, {verdict}")


if __name__ == "__main__":
    main()
