"""Benchmark container subjects: what the engine, the images and the containers cost a case.

    python benchmarks/container_bench.py [--runs N] [--case ID]

1. The lab's Docker engine: how long joining it takes when none runs (dockerd started).
2. The images of both built-in container subjects, from the cache (a base image
   built from nothing takes minutes: run once before, as the suite does).
3. One case on `wg-quick-killswitch-container` and on `wg-quick-killswitch` (the
   same recipe in the client's sandbox), interleaved, N runs each: the median of
   each phase and of the whole case.

Prints figures only (no asserts). Needs root, docker.io, mmdebstrap and the
Docker SDK. The engine it starts stops when this process exits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance import container_subject, subject  # noqa: E402
from conformance.cases import BY_ID  # noqa: E402
from conformance.runner import run_case  # noqa: E402
from netns import docker_engine  # noqa: E402

SUBJECTS = ("wg-quick-killswitch-container", "wg-quick-killswitch")
CONTAINERS = ("wg-quick-killswitch-container", "openvpn-killswitch-container")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", default="connected.baseline")
    args = parser.parse_args()

    running = docker_engine.RECORD.exists()
    start = time.monotonic()
    docker_engine.engine_address()
    what = "joined the running engine" if running else "started dockerd"
    print(f"engine: {what} in {time.monotonic() - start:.2f} s")

    for name in CONTAINERS:
        loaded = subject.load(name)
        start = time.monotonic()
        digest = subject.subject_digest(loaded)
        container_subject.build(
            loaded.name, loaded.folder, loaded.container, digest, loaded.include
        )
        print(f"images of {name}, from the cache: {time.monotonic() - start:.2f} s")

    seconds: dict[str, dict[str, list[float]]] = {name: {} for name in SUBJECTS}
    with tempfile.TemporaryDirectory(prefix="container-bench-") as tmp:
        for run in range(args.runs):
            for name in SUBJECTS:
                record = run_case(name, BY_ID[args.case], Path(tmp) / f"{name}-{run}")
                if record.verdict.value != "PASS":
                    print(f"{name} run {run}: {record.verdict.value}: {record.reason}")
                phases = {**record.evidence.get("phases", {}), "case": record.duration}
                for phase, value in phases.items():
                    seconds[name].setdefault(phase, []).append(value)
    print(f"\n{args.case}, median of {args.runs} runs (s):")
    phases = list(dict.fromkeys(p for name in SUBJECTS for p in seconds[name]))
    print(f"{'phase':<10}" + "".join(f"{name:>32}" for name in SUBJECTS))
    for phase in phases:
        cells = [seconds[name].get(phase) for name in SUBJECTS]
        row = "".join(f"{statistics.median(c):>32.2f}" if c else f"{'-':>32}" for c in cells)
        print(f"{phase:<10}{row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
