"""The pytest plugin of the guest lane: `pytest vms --subject NAME_OR_PATH`.

One test per (subject, guest case), as leakcert's plugin has per suite case
(`conformance/plugin.py`): a built-in foil (`none`) is expected to LEAK
where a case says it catches it (xfail, strict). The results JSON is the
suite's, with the guest's platform named in its run. Options: --subject
(repeatable; default: vms/subjects/reference), --results, --hook-timeout,
--case (repeatable: only these guest cases).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import pytest

from conformance import plugin
from conformance.cases import LEAK_CLASSES, Case
from vms.cases import GUEST_CASES
from vms.image import ImageError, build

GUEST_REFERENCE = str(Path(__file__).parent / "subjects" / "reference")
PROFILE = "guest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakcert-vms")
    group.addoption("--subject", action="append", default=[], help="a subject (repeatable)")
    group.addoption("--results", default=None, help="write the run's results JSON here")
    group.addoption("--hook-timeout", type=float, default=60.0, help="seconds a hook may run")
    group.addoption("--case", action="append", default=[], help="only this guest case")


def pytest_configure(config: pytest.Config) -> None:
    for leak_class in LEAK_CLASSES:
        config.addinivalue_line("markers", f"{leak_class}: cases of the {leak_class} leak class")
    if not hasattr(config, "workerinput"):
        plugin._refuse_namesakes(_subjects(config))
        try:
            image = build()
        except ImageError as exc:
            raise pytest.UsageError(f"vms: {exc}") from None
        writer = GuestResultsWriter(config, f"{image.platform}, QEMU TCG")
        config.pluginmanager.register(writer, "leakcert-vms-results")


def _subjects(config: pytest.Config) -> list[str]:
    return config.getoption("subject") or [GUEST_REFERENCE]


def _cases(config: pytest.Config) -> list[Case]:
    wanted = config.getoption("case")
    return [c for c in GUEST_CASES if not wanted or c.id in wanted]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if Path(metafunc.definition.path).resolve() != Path(__file__).with_name("test_lane.py"):
        return
    config = metafunc.config
    params = [
        pytest.param(ref, case, id=f"{Path(ref).name}:{case.id}", marks=_marks(ref, case))
        for ref in _subjects(config)
        for case in _cases(config)
    ]
    metafunc.parametrize(("subject_ref", "case"), params)


def _marks(ref: str, case: Case) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, case.leak_class), *plugin.foil_xfail(ref, case)]


@pytest.fixture
def results_dir(request: pytest.FixtureRequest) -> Path | None:
    results = request.config.getoption("results")
    return Path(results).resolve().parent if results else None


class GuestResultsWriter(plugin.ResultsWriter):
    """The suite's results writer, for the guest lane's options, cases and platform."""

    def __init__(self, config: pytest.Config, platform_name: str) -> None:
        super().__init__(config)
        self.platform = platform_name

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("results")
        if not path:
            return
        run = {
            "started": plugin._iso(self.started),
            "finished": plugin._iso(time.time()),
            "leakcert_version": plugin.version(),
            "profile": PROFILE,
            "cases": [c.id for c in _cases(self.config)],
            "subjects": plugin._subjects(_subjects(self.config)),
            "kernel": platform.release(),
            "platform": self.platform,
            "tools": plugin.tool_versions(),
            "command": " ".join(["pytest", *sys.argv[1:]]),
            "leak_classes": list(LEAK_CLASSES),
        }
        results = sorted(self.results, key=lambda r: (r["subject"], r["case"]))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"run": run, "results": results}, indent=1))
