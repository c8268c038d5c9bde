"""One test per (subject, case): the verdict must be PASS.

Where a verdict comes from: conformance.runner.run_case gathers the evidence,
netns.oracle classifies every captured frame, netns.dnslock reads the
resolvers' logs, and conformance.verdict.decide turns them into the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.conftest import RESULT_KEY
from conformance.runner import run_case
from conformance.verdict import Verdict


def test_case(
    subject_ref: str,
    case: Case,
    tmp_path: Path,
    results_dir: Path | None,
    record_property,
    request: pytest.FixtureRequest,
) -> None:
    subject_name = Path(subject_ref).name
    keep = results_dir / "pcaps" / subject_name / f"{case.id}.pcap" if results_dir else None
    timeout = request.config.getoption("hook_timeout")
    result = run_case(subject_ref, case, tmp_path, keep_pcap=keep, hook_timeout=timeout)
    record = result.to_json()
    if results_dir and keep:
        record["evidence"]["pcap"] = str(keep.relative_to(results_dir))
    record_property(RESULT_KEY, json.dumps(record))
    if result.verdict is not Verdict.PASS:
        leaked = "".join(
            f"\n  {p['t']:8.3f}s {p['summary']}" for p in record["evidence"].get("leaked", [])[:10]
        )
        pytest.fail(f"{result.verdict.value}: {result.reason}{leaked}", pytrace=False)
