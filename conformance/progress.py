"""Progress a person can follow: a line per finished case, a table per subject at the end.

    [ 3/22] PASS   reference  crash.client            0 leaks   9.8 s  19 left

Lines go through pytest's terminal writer, which colours only a terminal and
never when NO_COLOR is set (or PY_COLORS=0). The suite's tests print no
progress dot of their own: this line is their progress.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from conformance.cases import BY_ID, LEAK_CLASSES
from conformance.results import ResultsError, parse_results, summary_line

COLOURS = {"PASS": "green", "LEAK": "red", "BROKEN": "red", "ERROR": "yellow"}
MARK = "leakcert_suite"  # every test of the suite has it (conformance.plugin)
_TEST_ID = re.compile(r"test_case\[.*:(?P<case>[^:\]]+)\]$")


def is_suite(report: pytest.TestReport | pytest.Item) -> bool:
    return MARK in report.keywords


def is_suite_id(nodeid: str) -> bool:
    """A collected test's id is the suite's (xdist tells the controller only ids)."""
    found = _TEST_ID.search(nodeid)
    return found is not None and found["case"] in BY_ID


class Progress:
    """A pytest plugin on the controller: it sees every case's report as it ends."""

    def __init__(self, config: pytest.Config, result_key: str) -> None:
        self.config = config
        self.key = result_key
        self.total: int | None = None
        self.done = 0
        self.results: dict[str, list[dict]] = defaultdict(list)
        # Subjects' names line up when they are no longer than their folders' names.
        refs = config.getoption("leakcert_subject") or ["reference"]
        self.width = max(len(Path(ref).name) for ref in refs)

    # ------------------------------------------------------------- how many

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items:
            self.total = sum(is_suite(item) for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        # Every worker collects the same tests; the first one to finish says how many.
        if self.total is None:
            self.total = sum(is_suite_id(nodeid) for nodeid in ids)

    # ------------------------------------------------------------- each case

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        if report.when != "call" or not is_suite(report):
            return None
        if hasattr(report, "wasxfail"):
            return ("xfailed", "", "XFAIL") if report.skipped else ("xpassed", "", "XPASS")
        return report.outcome, "", report.outcome.upper()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_suite(report):
            return
        ended = report.when == "call" or (report.when == "setup" and not report.passed)
        if not ended:
            return
        self.done += 1
        found = [json.loads(v) for k, v in report.user_properties if k == self.key]
        if not found:
            test_id = report.nodeid.rsplit("[", 1)[-1].rstrip("]")
            self._line(test_id, "", "ERROR", "the case ended without a result", report)
            return
        result = found[0]
        self.results[result["subject"]].append(result)
        leaks = f"{result.get('leaks', 0):>6} leaks"
        seconds = f"{result.get('duration') or 0:5.1f} s"
        self._line(
            result["subject"], result["case"], result["verdict"], f"{leaks} {seconds}", report
        )

    def _line(
        self, subject: str, case: str, verdict: str, rest: str, report: pytest.TestReport
    ) -> None:
        writer = self.config.pluginmanager.get_plugin("terminalreporter")
        if writer is None:
            return
        total = "?" if self.total is None else str(self.total)
        left = "" if self.total is None else f"  {max(0, self.total - self.done)} left"
        expected = " (expected)" if hasattr(report, "wasxfail") and report.skipped else ""
        colour = "green" if expected else COLOURS.get(verdict, "yellow")
        writer.ensure_newline()
        writer.write(f"[{self.done:>{len(total)}}/{total}] ")
        writer.write(f"{verdict:<6}", **{colour: True, "bold": True})
        writer.write(f" {subject:<{self.width}}  {case:<30} {rest}{expected}{left}")
        writer.line("")

    # ------------------------------------------------------------- the end

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.results:
            return
        for subject, found in sorted(self.results.items()):
            terminalreporter.write_sep("-", f"leakcert: {subject}")
            width = max(len(r["case"]) for r in found)
            terminalreporter.line(f"{'case':<{width}}  verdict  leaks  seconds")
            for r in sorted(found, key=lambda r: r["case"]):
                terminalreporter.write(f"{r['case']:<{width}}  ")
                terminalreporter.write(
                    f"{r['verdict']:<7}", **{COLOURS.get(r["verdict"], "yellow"): True}
                )
                terminalreporter.line(f"  {r.get('leaks', 0):>5}  {r.get('duration') or 0:7.1f}")
            try:
                parsed = parse_results({"run": {}, "results": found}).results
            except ResultsError as exc:
                terminalreporter.line(f"leakcert: the results of {subject} are malformed: {exc}")
                continue
            terminalreporter.line(summary_line(subject, parsed, LEAK_CLASSES))
