"""leakcert's pytest plugin, registered by entry point (`pytest11`): the suite in any repository.

    pytest --leakcert-subject ./our-subject [--leakcert-profile always-on]
           [--leakcert-case 'crash.*'] [--leakcert-results results.json] [-n N]

With a subject given, pytest collects the suite (`conformance/test_conformance.py`,
wherever leakcert is installed) besides any path named on the command line,
so a vendor's repository needs no conftest.py; it runs on 2 xdist workers
unless `-n` says otherwise. One test per (subject, case), with a marker per
leak class. A built-in foil (`none` included) is expected to leak exactly where a
case says it catches it: those tests are xfail(strict) on a LEAK, so a run
with nothing wrong has no FAILED line (a PASS there, or an ERROR, fails).

Without a subject the plugin adds nothing to a run but its options: pytest
in a project that merely has leakcert installed is unchanged.
"""

from __future__ import annotations

import fnmatch
import json
import platform
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance import progress
from conformance.cases import LEAK_CLASS_MEANINGS, LEAK_CLASSES, PROFILES, Case, for_profile
from conformance.judge import Verdict
from conformance.results import subject_folder
from conformance.subject import (
    BUILTIN,
    SubjectError,
    folder_digest,
    load,
    resolve,
    subject_digest,
)

if TYPE_CHECKING:
    from conformance.runner import CaseRecord

RESULT_KEY = "leakcert_result"
SUITE = Path(__file__).resolve().with_name("test_conformance.py")
DEFAULT_WORKERS = 2


class LeakFound(Exception):
    """A LEAK where a case says the subject must leak: the strict xfail's one accepted failure."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakcert")
    group.addoption(
        "--leakcert-subject",
        action="append",
        default=[],
        dest="leakcert_subject",
        help="a built-in subject's name or a subject folder (repeatable)",
    )
    group.addoption("--leakcert-profile", default="seed", choices=PROFILES, dest="leakcert_profile")
    group.addoption(
        "--leakcert-case",
        action="append",
        default=[],
        dest="leakcert_case",
        metavar="ID_OR_GLOB",
        help="run only these cases of the profile (repeatable; e.g. 'crash.*')",
    )
    group.addoption(
        "--leakcert-results",
        default=None,
        dest="leakcert_results",
        help="write the run's results JSON here (the pcaps go beside it)",
    )
    group.addoption(
        "--leakcert-hook-timeout",
        type=float,
        default=30.0,
        dest="leakcert_hook_timeout",
        help="seconds a subject's hook may run",
    )


def add_short_options(parser: pytest.Parser) -> None:
    """The checkout's own names (`pytest conformance --subject reference`), same settings."""
    group = parser.getgroup("leakcert")
    group.addoption("--subject", action="append", default=[], dest="leakcert_subject")
    group.addoption("--profile", default="seed", choices=PROFILES, dest="leakcert_profile")
    group.addoption("--results", default=None, dest="leakcert_results")
    group.addoption("--hook-timeout", type=float, default=30.0, dest="leakcert_hook_timeout")


def selected_cases(profile: str, patterns: list[str]) -> list[Case]:
    """The profile's cases that match any pattern (all of them without one)."""
    cases = for_profile(profile)
    if not patterns:
        return cases
    return [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, object, object]:
    # Before xdist reads it: a subject given means the suite runs, on workers by default.
    worker = hasattr(config, "workerinput")
    if config.getoption("leakcert_subject") and config.option.numprocesses is None and not worker:
        config.option.numprocesses = DEFAULT_WORKERS
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{progress.MARK}: a case of leakcert's suite")
    for leak_class in LEAK_CLASSES:
        config.addinivalue_line("markers", f"{leak_class}: cases of the {leak_class} leak class")
    subjects = config.getoption("leakcert_subject")
    if subjects:
        _collect_suite(config)
    if not hasattr(config, "workerinput"):
        _refuse_namesakes(subjects)
        patterns = config.getoption("leakcert_case")
        if patterns and not selected_cases(config.getoption("leakcert_profile"), patterns):
            raise pytest.UsageError(f"--leakcert-case {' '.join(patterns)}: no case matches")
        config.pluginmanager.register(ResultsWriter(config), "leakcert-results")
        config.pluginmanager.register(progress.Progress(config, RESULT_KEY), "leakcert-progress")


def _collect_suite(config: pytest.Config) -> None:
    """Make pytest collect the suite: alone, or beside the paths the command line names."""
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    named = [Path(a.split("::")[0]).resolve() for a in config.args] if explicit else []
    if any(p == SUITE or p in SUITE.parents for p in named):
        return
    config.args = [*config.args, str(SUITE)] if explicit else [str(SUITE)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only the suite's own test: a project's tests with fixtures of these names are theirs.
    if Path(metafunc.definition.path).resolve() != SUITE:
        return
    config = metafunc.config
    subjects = config.getoption("leakcert_subject") or ["reference"]
    cases = selected_cases(config.getoption("leakcert_profile"), config.getoption("leakcert_case"))
    params = [
        pytest.param(ref, case, id=f"{Path(ref).name}:{case.id}", marks=_marks(ref, case))
        for ref in subjects
        for case in cases
    ]
    metafunc.parametrize(("subject_ref", "case"), params)


def _marks(ref: str, case: Case) -> list[pytest.MarkDecorator]:
    return [
        getattr(pytest.mark, progress.MARK),
        getattr(pytest.mark, case.leak_class),
        *foil_xfail(ref, case),
    ]


def foil_xfail(ref: str, case: Case) -> list[pytest.MarkDecorator]:
    """A built-in foil's strict xfail where `case` must catch it (nothing for other subjects)."""
    builtin = resolve(ref).parent == BUILTIN.resolve()
    if not (builtin and resolve(ref).name in case.catches):
        return []
    reason = f"{resolve(ref).name} is a foil that this case must catch"
    return [pytest.mark.xfail(strict=True, raises=LeakFound, reason=reason)]


def _refuse_namesakes(refs: list[str]) -> None:
    """Two subjects of one name would share their results: refuse before any case runs."""
    named: dict[str, str] = {}
    for ref in refs:
        try:
            name = load(ref).name
        except SubjectError:
            continue  # its every case is an ERROR with the reason
        if name in named:
            raise pytest.UsageError(
                f"--subject {ref} and --subject {named[name]} are both named {name!r}:"
                " give each subject its own name"
            )
        named[name] = ref


def kept_pcap(subject_ref: str, case: Case, results_dir: Path | None) -> Path | None:
    """Where a case's pcap is kept beside the results JSON (nowhere without one)."""
    if results_dir is None:
        return None
    # The folder follows the subject's own name (two refs ending alike stay apart); a
    # subject that does not load is reported by its case's run, and its ref names the folder.
    try:
        subject_name = load(subject_ref).name
    except (SubjectError, OSError):
        subject_name = subject_ref
    return results_dir / "pcaps" / subject_folder(subject_name) / f"{case.id}.pcap"


def record_verdict(
    result: CaseRecord,
    results_dir: Path | None,
    keep: Path | None,
    request: pytest.FixtureRequest,
) -> None:
    """Hand a case's result to the results JSON, and fail its test unless it is a PASS.

    A LEAK where the test is marked xfail (a foil the case must catch) raises
    LeakFound, the one failure its strict xfail accepts.
    """
    record = result.to_json()
    if results_dir and keep and "pcap" in record["evidence"]:
        record["evidence"]["pcap"] = str(keep.relative_to(results_dir))
    request.node.user_properties.append((RESULT_KEY, json.dumps(record)))
    if result.verdict is not Verdict.PASS:
        leaked = "".join(
            f"\n  {p['t']:8.3f}s {p['summary']}" for p in record["evidence"].get("leaked", [])[:10]
        )
        message = f"{result.verdict.value}: {result.reason}{leaked}"
        if result.verdict is Verdict.LEAK and request.node.get_closest_marker("xfail"):
            raise LeakFound(message)  # a foil caught, as the case says
        pytest.fail(message, pytrace=False)


@pytest.fixture
def leakcert_results_dir(request: pytest.FixtureRequest) -> Path | None:
    results = request.config.getoption("leakcert_results")
    return Path(results).resolve().parent if results else None


@pytest.fixture
def leakcert_hook_timeout(request: pytest.FixtureRequest) -> float:
    return request.config.getoption("leakcert_hook_timeout")


class ResultsWriter:
    """Collects every case's result on the controller and writes the results JSON."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.time()
        self.results: list[dict] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Results from xdist workers arrive here too, in the reports' user_properties.
        if report.when == "call":
            self.results += [json.loads(v) for k, v in report.user_properties if k == RESULT_KEY]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("leakcert_results")
        if not path:
            return
        profile = self.config.getoption("leakcert_profile")
        run = {
            "started": _iso(self.started),
            "finished": _iso(time.time()),
            "leakcert_version": version(),
            "profile": profile,
            "cases": [
                c.id for c in selected_cases(profile, self.config.getoption("leakcert_case"))
            ],
            "subjects": _subjects(self.config.getoption("leakcert_subject") or ["reference"]),
            "kernel": platform.release(),
            "tools": tool_versions(),
            "command": " ".join(["pytest", *sys.argv[1:]]),
            # The suite's order of leak classes, for reports to group by.
            "leak_classes": list(LEAK_CLASSES),
            "leak_class_meanings": LEAK_CLASS_MEANINGS,
        }
        results = sorted(self.results, key=lambda r: (r["subject"], r["case"]))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"run": run, "results": results}, indent=1))


def _subjects(refs: list[str]) -> dict[str, dict[str, str]]:
    """What the run certified, by name: each subject's summary, kind and digests."""
    found = {}
    for ref in refs:
        try:
            subject = load(ref)
            digests = {
                "folder_sha256": folder_digest(subject.folder),
                "sha256": subject_digest(subject),
            }
        except (SubjectError, OSError):
            continue  # its results say why it did not load
        found[subject.name] = {
            "summary": subject.summary,
            "vpn": subject.vpn_kind,
            **digests,
        }
    return found


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def version() -> str:
    """leakcert's version, as installed (a bare checkout says so)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("leakcert")
    except PackageNotFoundError:
        return "0.1.0+source"


TOOL_VERSIONS = {
    "nft": ["nft", "--version"],
    "wireguard-go": ["wireguard-go", "--version"],
    "wg": ["wg", "--version"],
    "openvpn": ["openvpn", "--version"],
    "dnsmasq": ["dnsmasq", "--version"],
    "tcpdump": ["tcpdump", "--version"],
    "dhclient": ["dhclient", "--version"],
    "bwrap": ["bwrap", "--version"],
    "ip": ["ip", "-V"],
    "kernel": ["uname", "-r"],
}


def tool_versions() -> dict[str, str]:
    """The first line each of the lab's tools prints for its version ("missing" if absent)."""
    found = {}
    for tool, argv in TOOL_VERSIONS.items():
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            found[tool] = "missing"
            continue
        first = (out.stdout.strip() or out.stderr.strip()).splitlines()
        found[tool] = first[0] if first else "unknown"
    return found
