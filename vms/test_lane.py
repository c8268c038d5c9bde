"""One test per (subject, guest case): the verdict must be PASS, as in test_conformance.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.plugin import kept_pcap, record_verdict
from vms.image import build
from vms.lane import run_guest_case


def test_guest_case(
    subject_ref: str,
    case: Case,
    tmp_path: Path,
    results_dir: Path | None,
    request: pytest.FixtureRequest,
) -> None:
    keep = kept_pcap(subject_ref, case, results_dir)
    timeout = request.config.getoption("hook_timeout")
    result = run_guest_case(subject_ref, case, tmp_path, build(), keep, timeout)
    record_verdict(result, results_dir, keep, request)
