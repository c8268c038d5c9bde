"""One test per (subject, guest case): the verdict must be PASS, as in test_conformance.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.judge import Verdict
from conformance.plugin import RESULT_KEY, LeakFound
from conformance.results import subject_folder
from conformance.subject import SubjectError
from conformance.subject import load as load_subject
from vms.image import build
from vms.lane import run_guest_case


def test_guest_case(
    subject_ref: str,
    case: Case,
    tmp_path: Path,
    results_dir: Path | None,
    record_property,
    request: pytest.FixtureRequest,
) -> None:
    try:
        subject_name = load_subject(subject_ref).name
    except (SubjectError, OSError):
        subject_name = subject_ref
    keep = (
        results_dir / "pcaps" / subject_folder(subject_name) / f"{case.id}.pcap"
        if results_dir
        else None
    )
    timeout = request.config.getoption("hook_timeout")
    result = run_guest_case(subject_ref, case, tmp_path, build(), keep, timeout)
    record = result.to_json()
    if results_dir and keep and "pcap" in record["evidence"]:
        record["evidence"]["pcap"] = str(keep.relative_to(results_dir))
    record_property(RESULT_KEY, json.dumps(record))
    if result.verdict is not Verdict.PASS:
        leaked = "".join(
            f"\n  {p['t']:8.3f}s {p['summary']}" for p in record["evidence"].get("leaked", [])[:10]
        )
        message = f"{result.verdict.value}: {result.reason}{leaked}"
        if result.verdict is Verdict.LEAK and request.node.get_closest_marker("xfail"):
            raise LeakFound(message)  # a foil caught, as the case says
        pytest.fail(message, pytrace=False)
