"""One test per (subject, case): the verdict must be PASS.

Where a verdict comes from, in the order it happens: `run_case`
(conformance/runner.py) runs the case and gathers the evidence, and
`judge` (conformance/judge.py) decides the verdict from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.plugin import kept_pcap, record_verdict
from conformance.runner import run_case


def test_case(
    subject_ref: str,
    case: Case,
    tmp_path: Path,
    leakcert_results_dir: Path | None,
    leakcert_hook_timeout: float,
    request: pytest.FixtureRequest,
) -> None:
    keep = kept_pcap(subject_ref, case, leakcert_results_dir)
    result = run_case(
        subject_ref, case, tmp_path, keep_pcap=keep, hook_timeout=leakcert_hook_timeout
    )
    record_verdict(result, leakcert_results_dir, keep, request)
