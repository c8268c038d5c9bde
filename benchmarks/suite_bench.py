"""Suite benchmark: wall time, the median case and its phases, at one or more concurrencies.

    sudo python3 benchmarks/suite_bench.py [--subject reference] [--profile seed|whole] [-n 2,4,6]

Runs `pytest conformance` for the subject once per worker count, as
`tox -e conformance` does, and prints for each: the wall time beside the
budgets (issue "A PASS that can be trusted": `seed` at `-n 2` under 40 s with
its median case under 2 s; issue "Speed": `seed` under 15 s at any count;
issue "Every published way around": the whole suite, every case once, under
90 s at `-n 2`),  the median and slowest case, the median of each phase of a case
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
SEED_BUDGET = 15.0  # issue "Speed": any worker count
SEED_AT_2_BUDGET = 40.0  # issue "A PASS that can be trusted": at -n 2 ...
MEDIAN_CASE_BUDGET = 2.0  # ... with its median case under this
WHOLE_AT_2_BUDGET = 90.0  # issue "Every published way around": every case once, at -n 2
PHASES = ("build", "boot", "connect", "trigger", "settle", "stop", "teardown", "judge")


def runs_of(profile: str) -> list[tuple[str, list[str]]]:
    """The pytest runs a profile takes: (profile, case ids, or [] for all of its cases).

    `whole` is every case once: `always-on` holds all but the cases only
    `strict` has, which a second run adds.
    """
    if profile != "whole":
        return [(profile, [])]
    sys.path.insert(0, str(REPO))
    from conformance.cases import for_profile

    always_on = {case.id for case in for_profile("always-on")}
    only_strict = [case.id for case in for_profile("strict") if case.id not in always_on]
    return [("always-on", []), ("strict", only_strict)]


def run_suite(subjects: list[str], profile: str, workers: str, tmp: Path) -> tuple[float, list]:
    wall, ran = 0.0, []
    for number, (run_profile, cases) in enumerate(runs_of(profile)):
        results = tmp / f"results-{workers}-{number}.json"
        argv = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
                "--profile", run_profile, "-n", workers, "--results", str(results)]  # fmt: skip
        for subject in subjects:
            argv += ["--subject", subject]
        for case in cases:
            argv += ["--leakcert-case", case]
        start = time.monotonic()
        subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
        wall += time.monotonic() - start
        ran += json.loads(results.read_text())["results"]
    return wall, ran


def budgets(profile: str, workers: str, subjects: list[str]) -> list[str]:
    """The budgets the issues set for this run, as the report prints them."""
    if len(subjects) != 1:
        return []
    found = [f"{SEED_BUDGET:g} s"] if profile == "seed" else []
    if workers == "2" and profile == "seed":
        found.append(f"{SEED_AT_2_BUDGET:g} s with a median case of {MEDIAN_CASE_BUDGET:g} s")
    if workers == "2" and profile == "whole":
        found.append(f"{WHOLE_AT_2_BUDGET:g} s")
    return found


def report(workers: str, wall: float, ran: list, budget: list[str]) -> None:
    durations = sorted(r["duration"] for r in ran)
    slowest = max(ran, key=lambda r: r["duration"])
    verdicts = {v: sum(r["verdict"] == v for r in ran) for v in ("PASS", "LEAK", "BROKEN", "ERROR")}
    lost = sum(r["verdict"] == "ERROR" and "capture" in r["reason"] for r in ran)
    versus = f" (budget {'; '.join(budget)})" if budget else ""
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
    parser.add_argument("--profile", default="seed", help="a profile, or `whole`: every case once")
    parser.add_argument("-n", dest="workers", default="2", help="worker counts, comma-separated")
    args = parser.parse_args()
    subjects = args.subject or ["reference"]
    print(f"suite: {', '.join(subjects)}, profile {args.profile}")
    first: dict | None = None
    with tempfile.TemporaryDirectory(prefix="leakcert-suite-bench-") as tmp:
        for workers in args.workers.split(","):
            wall, ran = run_suite(subjects, args.profile, workers, Path(tmp))
            report(workers, wall, ran, budgets(args.profile, workers, subjects))
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
