"""The run's gate: did the certified subject pass, and were the foils caught?

    python -m conformance.gate results.json --must-pass reference --foil none

A subject given with --must-pass must have exactly one result, a PASS, for
every case of the run's profile: a case missing (a run that died half-way) or
run twice fails the gate. A subject given with --foil must have exactly one
result, a LEAK, for every case whose `catches` name it: `none` (no kill switch
at all) being caught proves the probes were sent and seen,
so that the other subjects' "no packet seen" can be trusted. Exit 0 when both
hold, 1 when not, 2 on bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import NoReturn

from conformance.cases import BY_ID, PROFILES, for_profile
from conformance.results import CaseResult, Results, ResultsError, load_results, summary_line


def check(results: Results, must_pass: list[str], foils: list[str]) -> list[str]:
    """Every way the run falls short, one line each."""
    ran = _by_subject(results.results)
    profile = results.run.profile
    cases = for_profile(profile) if profile in PROFILES else None
    problems = []
    for name in must_pass:
        expected = None if cases is None else [c.id for c in cases]
        problems += _complete(name, ran.get(name), expected, profile)
        for case, found in sorted(ran.get(name, {}).items()):
            problems += [
                f"{name} {case}: {r.verdict} ({_one_line(r.reason)})"
                for r in found
                if r.verdict != "PASS"
            ]
    for name in foils:
        expected = None if cases is None else [c.id for c in cases if name in c.catches]
        problems += _complete(name, ran.get(name), expected, profile)
        for case, found in sorted(ran.get(name, {}).items()):
            if case in BY_ID and name in BY_ID[case].catches:
                problems += [
                    f"{name} {case}: {r.verdict}, but this foil must be caught here "
                    f"({_one_line(r.reason)})"
                    for r in found
                    if r.verdict != "LEAK"
                ]
    return problems


def _by_subject(results: list[CaseResult]) -> dict[str, dict[str, list[CaseResult]]]:
    by_subject: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        by_subject[result.subject][result.case].append(result)
    return by_subject


def _complete(
    name: str,
    ran: dict[str, list[CaseResult]] | None,
    expected: list[str] | None,
    profile: str,
) -> list[str]:
    """Where `name` lacks exactly one result per expected case (None: the profile is unknown)."""
    if not ran:
        return [f"{name}: no results"]
    problems = [
        f"{name} {case}: {len(found)} results, expected one"
        for case, found in sorted(ran.items())
        if len(found) > 1
    ]
    if expected is None:
        problems.append(
            f"{name}: the run's profile {profile!r} is not one of {', '.join(PROFILES)}, "
            "so the gate cannot tell whether every case ran"
        )
    else:
        problems += [
            f"{name} {case}: no result (the run stopped before it, or did not select it)"
            for case in expected
            if case not in ran
        ]
    return problems


def summary(results: Results) -> list[str]:
    """Each subject's line, worded and counted as the report's summary is."""
    ran: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results.results:
        ran[result.subject].append(result)
    return [
        summary_line(name, found, results.run.leak_classes) for name, found in sorted(ran.items())
    ]


def _one_line(text: str) -> str:
    # A reason can hold a command's output; the gate's lines stay lines.
    return " ".join(text.split())


USAGE = "python -m conformance.gate RESULTS.json [--must-pass SUBJECT] [--foil SUBJECT]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line like every other failure, instead of argparse's usage block.
        print(f"gate: {message} (usage: {USAGE})", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m conformance.gate", description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--must-pass", action="append", default=[], metavar="SUBJECT")
    parser.add_argument("--foil", action="append", default=[], metavar="SUBJECT")
    args = parser.parse_args(argv)
    try:
        results = load_results(args.results)
    except ResultsError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return 2
    for line in summary(results):
        print(line)
    problems = check(results, args.must_pass, args.foil)
    for line in problems:
        print(f"gate: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
