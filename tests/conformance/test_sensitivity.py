"""The table of case x foil: every case catches the flawed subjects it names, and
the reference enforcer passes every case.

A case that cannot fail on a subject with the flaw it looks for proves nothing;
a case the reference cannot pass is a case nobody can pass. Each row runs the
case for real, in its own lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import CASES, Case
from conformance.runner import run_case
from conformance.verdict import Verdict

pytestmark = pytest.mark.root

CATCHES = [
    pytest.param(case, foil, id=f"{case.id}-{foil}") for case in CASES for foil in case.catches
]


def leaked(result) -> str:
    lines = [p["summary"] for p in result.evidence.get("leaked", [])[:5]]
    lines += [
        f"DNS {q['name']} to {q['resolver']}" for q in result.evidence.get("dns_leaks", [])[:5]
    ]
    return "; ".join(lines)


@pytest.mark.parametrize(("case", "foil"), CATCHES)
def test_case_catches_its_foil(case: Case, foil: str, tmp_path: Path) -> None:
    result = run_case(foil, case, tmp_path)
    assert result.verdict is Verdict.LEAK, (
        f"{foil} {case.id}: {result.verdict.value} {result.reason}"
    )
    assert result.leaks > 0


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reference_passes(case: Case, tmp_path: Path) -> None:
    result = run_case("reference", case, tmp_path)
    assert result.verdict is Verdict.PASS, (
        f"{result.verdict.value}: {result.reason} {leaked(result)}"
    )
