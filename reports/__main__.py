"""`python -m reports RESULTS.json --out DIR`: render the HTML report.

Prints the index.html path as the last line. Bad input is one line on stderr
(`reports: <what>`) and exit status 2, never a traceback. A pcap the report
will not copy (outside the results file's folder, not a regular file) is one
line on stderr too, and the case is rendered without it: exit status 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from conformance.results import ResultsError
from reports.render import ReportError, render_report


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line like every other failure, instead of argparse's usage block.
        print(f"reports: {message} (usage: {self.prog} RESULTS.json --out DIR)", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = _Parser(
        prog="python -m reports", description="Render a leakcert run's results as HTML."
    )
    parser.add_argument("results", help="the run's results JSON")
    parser.add_argument("--out", required=True, help="directory to write the report into")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes rendering case pages (default: CPUs, at most 4)",
    )
    args = parser.parse_args(argv)
    try:
        index = render_report(args.results, args.out, jobs=max(1, args.jobs))
    except (ResultsError, ReportError) as exc:
        print(f"reports: {exc}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
