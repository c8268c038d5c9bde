"""The pytest plugin of the guest lane: `pytest vms --subject NAME_OR_PATH`.

One test per (subject, guest case), as `pytest conformance` has per case;
the results JSON is the suite's, with the guest's platform named in its run.
Options: --subject (repeatable; default: vms/subjects/reference), --results,
--hook-timeout, --case (repeatable: run only these guest cases).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import LEAK_CLASSES
from conformance.conftest import ResultsWriter, _refuse_namesakes
from vms.cases import GUEST_CASES
from vms.image import ImageError, build

GUEST_REFERENCE = str(Path(__file__).parent / "subjects" / "reference")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakcert-vms")
    group.addoption("--subject", action="append", default=[], help="a subject (repeatable)")
    group.addoption("--results", default=None, help="write the run's results JSON here")
    group.addoption("--hook-timeout", type=float, default=60.0, help="seconds a hook may run")
    group.addoption("--case", action="append", default=[], help="only this guest case")
    # The results' profile: the guest lane's cases are not a suite profile.
    group.addoption("--profile", default="guest", choices=["guest"], help="the cases' profile")


def pytest_configure(config: pytest.Config) -> None:
    for leak_class in LEAK_CLASSES:
        config.addinivalue_line("markers", f"{leak_class}: cases of the {leak_class} leak class")
    if not hasattr(config, "workerinput"):
        _refuse_namesakes(_subjects(config))
        try:
            image = build()
        except ImageError as exc:
            raise pytest.UsageError(f"vms: {exc}") from None
        writer = GuestResultsWriter(config)
        writer.platform = f"{image.platform}, QEMU TCG"
        config.pluginmanager.register(writer, "leakcert-vms-results")


class GuestResultsWriter(ResultsWriter):
    """The suite's results writer; the profile is the guest lane's."""


def _subjects(config: pytest.Config) -> list[str]:
    return config.getoption("subject") or [GUEST_REFERENCE]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames or "subject_ref" not in metafunc.fixturenames:
        return
    config = metafunc.config
    wanted = config.getoption("case")
    cases = [c for c in GUEST_CASES if not wanted or c.id in wanted]
    params = [
        pytest.param(
            ref, case, id=f"{Path(ref).name}:{case.id}", marks=getattr(pytest.mark, case.leak_class)
        )
        for ref in _subjects(config)
        for case in cases
    ]
    metafunc.parametrize(("subject_ref", "case"), params)


@pytest.fixture
def results_dir(request: pytest.FixtureRequest) -> Path | None:
    results = request.config.getoption("results")
    return Path(results).resolve().parent if results else None
