"""The table of case x subject: each case catches exactly the flawed subjects it
names (`none` and the `foil-*` subjects), and the reference passes every case.

A case that cannot fail on a subject with the flaw it looks for proves nothing;
a foil that leaks where its flaw does not show means the case or the lab sees
something else than it claims; a case the reference cannot pass is a case
nobody can pass. Each cell runs the case for real, in its own lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import CASES, Case
from conformance.foils import FLAWS
from conformance.judge import Verdict
from conformance.runner import run_case

pytestmark = pytest.mark.root

FOILS = ("none", *(f"foil-{flaw}" for flaw in FLAWS))
CELLS = [
    pytest.param(case, subject, id=f"{case.id}-{subject}") for case in CASES for subject in FOILS
]


def evidence(result) -> str:
    lines = [p["summary"] for p in result.evidence.get("leaked", [])[:5]]
    lines += [
        f"DNS {q['name']} to {q['resolver']}" for q in result.evidence.get("dns_leaks", [])[:5]
    ]
    return "; ".join(lines)


@pytest.mark.parametrize(("case", "subject"), CELLS)
def test_case_catches_exactly_its_flawed_subjects(case: Case, subject: str, tmp_path: Path) -> None:
    result = run_case(subject, case, tmp_path)
    expected = Verdict.LEAK if subject in case.catches else Verdict.PASS
    assert result.verdict is expected, (
        f"{subject} {case.id}: expected {expected.value}, got {result.verdict.value}:"
        f" {result.reason} {evidence(result)}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reference_passes(case: Case, tmp_path: Path) -> None:
    result = run_case("reference", case, tmp_path)
    assert result.verdict is Verdict.PASS, (
        f"{result.verdict.value}: {result.reason} {evidence(result)}"
    )
