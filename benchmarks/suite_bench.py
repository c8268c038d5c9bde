"""Suite benchmark: wall time, the median case and its phases, at one or more concurrencies.

    sudo python3 benchmarks/suite_bench.py [--subject reference] [--profile seed] [-n 2,4,6]

Runs `pytest conformance` for the subject once per worker count, as
`tox -e conformance` does, and prints for each: the wall time beside the
budget, the median and slowest case, the median of each phase of a case
(build, boot, connect, trigger, settle, stop, teardown, judge), how many cases
lost capture (an ERROR whose reason is the capture), and whether every verdict
is the same as at the first worker count. The knee is where the wall time stops
falling or a capture is lost. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Issue "Speed": the seed profile, every case, stream and settle windows on.
SEED_BUDGET = 15.0
PHASES = ("build", "boot", "connect", "trigger", "settle", "stop", "teardown", "judge")


def run_suite(subjects: list[str], profile: str, workers: str, tmp: Path) -> tuple[float, list]:
    results = tmp / f"results-{workers}.json"
    argv = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
            "--profile", profile, "-n", workers, "--results", str(results)]  # fmt: skip
    for subject in subjects:
        argv += ["--subject", subject]
    start = time.monotonic()
    subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - start
    return wall, json.loads(results.read_text())["results"]


def report(workers: str, wall: float, ran: list, budget: float | None) -> None:
    durations = sorted(r["duration"] for r in ran)
    slowest = max(ran, key=lambda r: r["duration"])
    verdicts = {v: sum(r["verdict"] == v for r in ran) for v in ("PASS", "LEAK", "BROKEN", "ERROR")}
    lost = sum(r["verdict"] == "ERROR" and "capture" in r["reason"] for r in ran)
    versus = f" (budget {budget:g} s)" if budget else ""
    print(
        f"-n {workers}: {len(ran)} cases in {wall:.1f} s wall{versus}; per case median "
        f"{statistics.median(durations):.2f} s, slowest {slowest['duration']:.2f} s "
        f"({slowest['case']}); verdicts {verdicts}; captures lost: {lost}"
    )
    phases = {
        phase: statistics.median(
            r["evidence"]["phases"][phase] for r in ran if phase in r["evidence"].get("phases", {})
        )
        for phase in PHASES
        if any(phase in r["evidence"].get("phases", {}) for r in ran)
    }
    print("    median phase: " + ", ".join(f"{p} {s:.2f} s" for p, s in phases.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", action="append", default=[])
    parser.add_argument("--profile", default="seed")
    parser.add_argument("-n", dest="workers", default="2", help="worker counts, comma-separated")
    args = parser.parse_args()
    subjects = args.subject or ["reference"]
    budget = SEED_BUDGET if args.profile == "seed" and len(subjects) == 1 else None
    print(f"suite: {', '.join(subjects)}, profile {args.profile}")
    first: dict | None = None
    with tempfile.TemporaryDirectory(prefix="leakcert-suite-bench-") as tmp:
        for workers in args.workers.split(","):
            wall, ran = run_suite(subjects, args.profile, workers, Path(tmp))
            report(workers, wall, ran, budget)
            verdicts = {(r["subject"], r["case"]): r["verdict"] for r in ran}
            if first is None:
                first = verdicts
            else:
                changed = sorted(
                    k for k in first.keys() | verdicts.keys() if first.get(k) != verdicts.get(k)
                )
                print(f"    verdicts changed from the first count: {changed or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
