"""Lab benchmark: build and teardown beside the shell floor, memory, capture throughput.

    sudo python3 benchmarks/lab_bench.py [--labs 5] [--packets 20000]

Prints, each beside its budget (issue "Speed"): the median time to build a lab;
to build it, bring its WireGuard tunnel up, get the first answer and tear it
all down; the same from a shell script with nothing but the floor
(benchmarks/floor.sh: three namespaces, two veth pairs, a wireguard-go tunnel,
one ping); the memory of a running lab's processes (the sum of their
proportional set sizes, so shared libraries count once); and the packets per
second the wire's capture takes without losing one. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
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


FLOOR = Path(__file__).with_name("floor.sh")
BUILD_BUDGET, ROUND_TRIP_BUDGET = 0.2, 0.35


def build_and_teardown(workdir: Path) -> tuple[float, float, int]:
    """Seconds to build; to build, connect, answer and tear down; the lab's memory (bytes)."""
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
        memory = cgroup_pss(Path(lab.record.cgroup))
    return built - start, time.perf_counter() - start, memory


def cgroup_pss(cgroup: Path) -> int:
    """The proportional set size of every process in `cgroup` and below, in bytes."""
    total = 0
    for procs in cgroup.rglob("cgroup.procs"):
        for pid in procs.read_text().split():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:  # gone meanwhile
                continue
            for line in rollup.splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total


def floor() -> float:
    start = time.perf_counter()
    subprocess.run(["bash", str(FLOOR)], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


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
        builds, totals, memories = zip(*runs, strict=True)
        floors = [floor() for _ in range(args.labs)]
        print(
            f"lab build (client leased, VPN server up), median of {args.labs}: "
            f"{statistics.median(builds):.3f} s (budget {BUILD_BUDGET} s)"
        )
        print(
            f"lab build + tunnel up + first request + teardown, median of {args.labs}: "
            f"{statistics.median(totals):.3f} s (budget {ROUND_TRIP_BUDGET} s); "
            f"the shell floor (benchmarks/floor.sh), median of {args.labs}: "
            f"{statistics.median(floors):.3f} s"
        )
        print(
            f"memory of a running lab (its daemons, the client's tunnel; PSS), median: "
            f"{statistics.median(memories) / 2**20:.0f} MiB"
        )
        rate, lost = capture_rate(Path(tmp) / "capture", args.packets)
        verdict = "no loss" if lost == 0 else f"LOST {lost}"
        print(f"capture: {args.packets} datagrams at {rate:,.0f} packets/s sent, {verdict}")


if __name__ == "__main__":
    main()
