"""One test per (subject, case): the verdict must be PASS.

Where a verdict comes from, in the order it happens: `run_case`
(conformance/runner.py) runs the case and gathers the evidence, and
`judge` (conformance/judge.py) decides the verdict from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.judge import Verdict
from conformance.plugin import RESULT_KEY, LeakFound
from conformance.results import subject_folder
from conformance.runner import run_case
from conformance.subject import SubjectError
from conformance.subject import load as load_subject


def test_case(
    subject_ref: str,
    case: Case,
    tmp_path: Path,
    leakcert_results_dir: Path | None,
    leakcert_hook_timeout: float,
    record_property,
    request: pytest.FixtureRequest,
) -> None:
    # The folder follows the subject's own name (two refs ending alike stay apart); a
    # subject that does not load is reported by run_case, and its ref names the folder.
    try:
        subject_name = load_subject(subject_ref).name
    except (SubjectError, OSError):
        subject_name = subject_ref
    keep = (
        leakcert_results_dir / "pcaps" / subject_folder(subject_name) / f"{case.id}.pcap"
        if leakcert_results_dir
        else None
    )
    result = run_case(
        subject_ref, case, tmp_path, keep_pcap=keep, hook_timeout=leakcert_hook_timeout
    )
    record = result.to_json()
    if leakcert_results_dir and keep and "pcap" in record["evidence"]:
        record["evidence"]["pcap"] = str(keep.relative_to(leakcert_results_dir))
    record_property(RESULT_KEY, json.dumps(record))
    if result.verdict is not Verdict.PASS:
        leaked = "".join(
            f"\n  {p['t']:8.3f}s {p['summary']}" for p in record["evidence"].get("leaked", [])[:10]
        )
        message = f"{result.verdict.value}: {result.reason}{leaked}"
        if result.verdict is Verdict.LEAK and request.node.get_closest_marker("xfail"):
            raise LeakFound(message)  # a foil caught, as the case says
        pytest.fail(message, pytrace=False)
