"""The pytest plugin that runs the suite: `pytest conformance --subject NAME_OR_PATH`.

Options: --subject (repeatable; default: reference), --profile seed|always-on,
--results results.json (the run's results, with the pcaps kept beside it).
One test per (subject, case), with a marker per leak class.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cases import LEAK_CLASSES, PROFILES, for_profile
from conformance.subject import SubjectError, load

RESULT_KEY = "leakcert_result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakcert")
    group.addoption(
        "--subject",
        action="append",
        default=[],
        help="a built-in subject's name or a subject folder (repeatable; default: reference)",
    )
    group.addoption("--profile", default="seed", choices=PROFILES, help="the cases' profile")
    group.addoption("--results", default=None, help="write the run's results JSON here")
    group.addoption(
        "--hook-timeout", type=float, default=30.0, help="seconds a subject's hook may run"
    )


def pytest_configure(config: pytest.Config) -> None:
    for leak_class in LEAK_CLASSES:
        config.addinivalue_line("markers", f"{leak_class}: cases of the {leak_class} leak class")
    if not hasattr(config, "workerinput"):
        _refuse_namesakes(config.getoption("subject"))
        config.pluginmanager.register(ResultsWriter(config), "leakcert-results")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames or "subject_ref" not in metafunc.fixturenames:
        return
    config = metafunc.config
    subjects = config.getoption("subject") or ["reference"]
    params = [
        pytest.param(
            ref, case, id=f"{Path(ref).name}:{case.id}", marks=getattr(pytest.mark, case.leak_class)
        )
        for ref in subjects
        for case in for_profile(config.getoption("profile"))
    ]
    metafunc.parametrize(("subject_ref", "case"), params)


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


@pytest.fixture
def results_dir(request: pytest.FixtureRequest) -> Path | None:
    results = request.config.getoption("results")
    return Path(results).resolve().parent if results else None


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
        path = self.config.getoption("results")
        if not path:
            return
        run = {
            "started": _iso(self.started),
            "finished": _iso(time.time()),
            "leakcert_version": _version(),
            "profile": self.config.getoption("profile"),
            "kernel": platform.release(),
            "tools": _tool_versions(),
            "command": " ".join(["pytest", *sys.argv[1:]]),
            # The suite's order of leak classes, for reports to group by.
            "leak_classes": list(LEAK_CLASSES),
        }
        results = sorted(self.results, key=lambda r: (r["subject"], r["case"]))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"run": run, "results": results}, indent=1))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("leakcert")
    except PackageNotFoundError:
        return "0.1.0+source"


TOOL_VERSIONS = {
    "nft": ["nft", "--version"],
    "wireguard-go": ["wireguard-go", "--version"],
    "wg": ["wg", "--version"],
    "dnsmasq": ["dnsmasq", "--version"],
    "tcpdump": ["tcpdump", "--version"],
    "dhclient": ["dhclient", "--version"],
}


def _tool_versions() -> dict[str, str]:
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
