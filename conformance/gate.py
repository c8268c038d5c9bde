"""The run's gate: did the certified subject pass, and did the control leak?

    python -m conformance.gate results.json --must-pass reference --must-leak none

A subject given with --must-pass must have PASS in every case it ran. A
subject given with --must-leak is a positive control: it must LEAK in every
case that declares it among the subjects it catches, which proves the probes
were sent and seen, so that the other subjects' "no packet seen" can be
trusted. Exit 0 when both hold, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from conformance.cases import BY_ID


def check(results: list[dict], must_pass: list[str], must_leak: list[str]) -> list[str]:
    """Every way the run falls short, one line each."""
    by_subject: dict[str, dict[str, dict]] = defaultdict(dict)
    for result in results:
        by_subject[result["subject"]][result["case"]] = result
    problems = []
    for name in must_pass:
        if not by_subject.get(name):
            problems.append(f"{name}: no results")
        for case, result in sorted(by_subject.get(name, {}).items()):
            if result["verdict"] != "PASS":
                problems.append(f"{name} {case}: {result['verdict']} ({result['reason']})")
    for name in must_leak:
        ran = by_subject.get(name, {})
        if not ran:
            problems.append(f"{name}: no results")
        for case, result in sorted(ran.items()):
            expected = case in BY_ID and name in BY_ID[case].catches
            if expected and result["verdict"] != "LEAK":
                problems.append(
                    f"{name} {case}: {result['verdict']}, but this control must leak here "
                    f"({result['reason']})"
                )
    return problems


def summary(results: list[dict]) -> list[str]:
    by_subject: dict[str, list[dict]] = defaultdict(list)
    for result in results:
        by_subject[result["subject"]].append(result)
    lines = []
    for name, ran in sorted(by_subject.items()):
        passed = sum(r["verdict"] == "PASS" for r in ran)
        failed = sorted({r["leak_class"] for r in ran if r["verdict"] == "LEAK"})
        errors = sum(r["verdict"] in ("ERROR", "BROKEN") for r in ran)
        line = f"{name}: passed {passed} of {len(ran)} cases"
        if failed:
            line += f"; leaks in: {', '.join(failed)}"
        if errors:
            line += f"; {errors} broken or in error"
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.gate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("results", type=Path)
    parser.add_argument("--must-pass", action="append", default=[], metavar="SUBJECT")
    parser.add_argument("--must-leak", action="append", default=[], metavar="SUBJECT")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"gate: cannot read results from {args.results}: {exc}", file=sys.stderr)
        return 2
    for line in summary(results):
        print(line)
    problems = check(results, args.must_pass, args.must_leak)
    for line in problems:
        print(f"gate: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
