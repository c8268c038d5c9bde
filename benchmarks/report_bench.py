"""Report benchmark: render a synthetic 100-subject x 40-case run.

    python benchmarks/report_bench.py [--subjects 100] [--cases 40] [--packets 300] [--jobs N]

Builds the run in memory (a few hundred packets per case, every fifth case
leaking), renders it into a temporary directory with as many jobs as the CLI
uses, and prints the load and render times (wall clock, and the render's CPU
seconds, which a busy machine does not inflate). The target is under 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.cases import LEAK_CLASSES
from reports import load_results, render_report


def synthetic_run(subjects: int, cases: int, packets: int, seed: int = 1) -> dict[str, Any]:
    """A run of the results-JSON schema with `subjects` x `cases` results."""
    rng = random.Random(seed)
    case_ids = [f"{LEAK_CLASSES[i % len(LEAK_CLASSES)]}.case-{i}" for i in range(cases)]
    results = []
    for s in range(subjects):
        for c, case in enumerate(case_ids):
            duration = rng.uniform(2.0, 6.0)
            trigger = duration * 0.4
            leaks = rng.randint(1, 40) if (s + c) % 5 == 0 else 0
            pk = [
                {"t": rng.uniform(0, duration), "class": rng.choice(("tunnel", "link", "inbound"))}
                for _ in range(packets)
            ]
            leaked = [
                {
                    "t": trigger + 0.01 * i,
                    "src": "192.0.2.57",
                    "dst": "203.0.113.10",
                    "proto": "TCP",
                    "summary": f"192.0.2.57:{40000 + i} > 203.0.113.10:443 S",
                }
                for i in range(leaks)
            ]
            pk += [{"t": p["t"], "class": "leak"} for p in leaked]
            results.append(
                {
                    "subject": f"subject-{s:03d}",
                    "subject_summary": "a synthetic subject",
                    "case": case,
                    "leak_class": case.split(".")[0],
                    "title": f"Synthetic case {c}",
                    "description": "A synthetic case for the benchmark.",
                    "requirement": "Nothing may leave outside the tunnel.",
                    "verdict": "LEAK" if leaks else "PASS",
                    "reason": f"{leaks} packets left outside the tunnel" if leaks else "no leak",
                    "leaks": leaks,
                    "duration": duration,
                    "evidence": {
                        "trigger_at": trigger,
                        "events": [
                            {"t": 0.0, "kind": "boot", "text": "boot"},
                            {"t": 0.4, "kind": "hook", "text": "connect hook"},
                            {"t": 0.9, "kind": "tunnel-up", "text": "tunnel up"},
                            {"t": trigger, "kind": "trigger", "text": "crash"},
                            {"t": trigger, "kind": "tunnel-down", "text": "tunnel down"},
                        ],
                        "packets": pk,
                        "leaked": leaked,
                        "hooks": [{"hook": "connect", "exit": 0, "output": "ok"}],
                    },
                }
            )
    return {"run": {"started": "2026-11-26T04:20:00Z", "profile": "bench"}, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--packets", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--dir", help="parent of the output directory (default: the system's tmp)")
    args = parser.parse_args()
    data = synthetic_run(args.subjects, args.cases, args.packets)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        start = time.perf_counter()
        report = load_results(data)
        loaded = time.perf_counter()
        cpu = _cpu()
        render_report(report, tmp, jobs=args.jobs)
        done = time.perf_counter()
        cpu = _cpu() - cpu
        pages = sum(1 for _ in Path(tmp).rglob("*.html"))
    n = args.subjects * args.cases
    print(
        f"{n} results ({args.packets} packets each), {pages} pages, {args.jobs} jobs: "
        f"load {loaded - start:.2f} s, render {done - loaded:.2f} s, "
        f"total {done - start:.2f} s (target < 5 s); render CPU {cpu:.2f} s, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: the figure a busy machine
    does not inflate the way it does wall time."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
