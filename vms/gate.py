"""The guest lane's gate: `python -m vms.gate results.json --must-pass reference --foil none`.

The suite's gate (`conformance.gate`) counts the cases of a suite profile;
the guest lane runs its own cases (`vms.cases.GUEST_CASES`), so this checks
the same two promises against those: a subject given with --must-pass has
exactly one result, a PASS, for every guest case; a foil given with --foil
has exactly one result, a LEAK, for every guest case that catches it. With
--case (repeatable), the guest cases are those named, each still required.
Exit 0 when both hold, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from conformance.gate import _by_subject, summary
from conformance.results import Results, ResultsError, load_results
from vms.cases import GUEST_CASES


def check(
    results: Results, must_pass: list[str], foils: list[str], only: list[str] | None = None
) -> list[str]:
    """Every way the run falls short, one line each (`only`: these guest cases' ids)."""
    ran = _by_subject(results.results)
    problems = []
    guest_cases = [c for c in GUEST_CASES if not only or c.id in only]
    for name, wanted in [(n, "PASS") for n in must_pass] + [(n, "LEAK") for n in foils]:
        cases = [c for c in guest_cases if wanted == "PASS" or name in c.catches]
        found = ran.get(name, {})
        if not found:
            problems.append(f"{name}: no results")
            continue
        for case in cases:
            got = found.get(case.id, [])
            if len(got) != 1:
                problems.append(f"{name} {case.id}: {len(got)} results, expected one")
            elif got[0].verdict != wanted:
                reason = " ".join(got[0].reason.split())[:200]
                problems.append(f"{name} {case.id}: {got[0].verdict}, expected {wanted} ({reason})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vms.gate")
    parser.add_argument("results")
    parser.add_argument("--must-pass", action="append", default=[])
    parser.add_argument("--foil", action="append", default=[], dest="foils")
    parser.add_argument("--case", action="append", default=[], dest="cases")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - {c.id for c in GUEST_CASES})
    if unknown:
        print(f"vms.gate: no such guest case: {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        results = load_results(args.results)
    except ResultsError as exc:
        print(f"vms.gate: {exc}", file=sys.stderr)
        return 2
    for line in summary(results):
        print(line)
    problems = check(results, args.must_pass, args.foils, args.cases)
    for line in problems:
        print(f"vms.gate: {line}")
    print("vms.gate: " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
