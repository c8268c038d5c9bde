"""Leak-window benchmark: how long each reactive foil leaks, and what the stream sends.

    sudo python3 benchmarks/window_bench.py [--runs 5] [--foil cleanup ...]

For each foil (default: every foil), runs the first case that catches it
`--runs` times and prints the median leak window (first and last leaked
packet after the trigger, and packets leaked), then the stream's achieved
packets a second over every run and whether each capture was complete (the
runner turns an incomplete capture into ERROR: zero loss is every run not
being one). Also prints the median of each phase of a case. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance.cases import CASES  # noqa: E402
from conformance.foils import FLAWS  # noqa: E402
from conformance.runner import run_case  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--foil", action="append", choices=FLAWS, default=[])
    args = parser.parse_args()
    rates, errors, phases = [], 0, {}
    for flaw in args.foil or FLAWS:
        subject = f"foil-{flaw}"
        case = next(c for c in CASES if subject in c.catches)
        windows = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="leakcert-window-bench-") as tmp:
                result = run_case(subject, case, Path(tmp))
            if result.verdict.value == "ERROR":
                errors += 1
                print(f"  {subject} {case.id}: ERROR {result.reason}")
                continue
            stream = result.evidence["stream"]
            rates.append(stream["packets"] / stream["seconds"])
            for phase, seconds in result.evidence["phases"].items():
                phases.setdefault(phase, []).append(seconds)
            if result.evidence["window"]:
                windows.append(result.evidence["window"])
        if not windows:
            print(f"{subject:22} {case.id:26} no leak in {args.runs} runs")
            continue
        first = statistics.median(w["first_ms"] for w in windows)
        last = statistics.median(w["last_ms"] for w in windows)
        packets = statistics.median(w["packets"] for w in windows)
        print(
            f"{subject:22} {case.id:26} leaked {packets:6.0f} packets from {first:+7.0f} ms"
            f" to {last:+7.0f} ms (median of {len(windows)})"
        )
    if rates:
        print(
            f"stream: {statistics.median(rates):.0f} packets/s median "
            f"(min {min(rates):.0f}); captures incomplete or in error: {errors}"
        )
    print(
        "phases (median s): "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in phases.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
