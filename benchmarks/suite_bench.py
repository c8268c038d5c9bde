"""Suite benchmark: the whole conformance suite's wall time, and the median case.

    sudo python3 benchmarks/suite_bench.py [--subject reference] [--profile always-on] [-n 2]

Runs `pytest conformance` once for the subject, as `tox -e conformance` does,
and prints the wall time of the run and the median and slowest case durations
from its results JSON. Prints figures; asserts nothing.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", default="reference")
    parser.add_argument("--profile", default="always-on")
    parser.add_argument("-n", dest="workers", default="2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakcert-suite-bench-") as tmp:
        results = Path(tmp) / "results.json"
        argv = [
            sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
            "--subject", args.subject, "--profile", args.profile, "-n", args.workers,
            "--results", str(results),
        ]  # fmt: skip
        start = time.monotonic()
        subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
        wall = time.monotonic() - start
        ran = json.loads(results.read_text())["results"]
    durations = sorted(r["duration"] for r in ran)
    verdicts = {v: sum(r["verdict"] == v for r in ran) for v in ("PASS", "LEAK", "BROKEN", "ERROR")}
    slowest = max(ran, key=lambda r: r["duration"])
    print(
        f"suite ({args.subject}, {args.profile}, -n {args.workers}): {len(ran)} cases in "
        f"{wall:.1f} s wall; per case median {statistics.median(durations):.2f} s, "
        f"slowest {slowest['duration']:.2f} s ({slowest['case']}); verdicts {verdicts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
