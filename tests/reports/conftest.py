"""Fixtures for the report tests: the recorded-run fixture rendered once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reports import render_report

DATA = Path(__file__).parent / "data"
RUN_JSON = DATA / "run.json"


@pytest.fixture(scope="session")
def run_data() -> dict[str, Any]:
    """The fixture run as plain JSON, the oracle the rendered pages are checked against."""
    return json.loads(RUN_JSON.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture run rendered into a fresh directory; shared, so tests must not modify it."""
    out = tmp_path_factory.mktemp("report")
    index = render_report(RUN_JSON, out)
    assert index == out / "index.html"
    return out
