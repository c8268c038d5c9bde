"""The run's gate fails when the certified subject leaks, misses a case or runs
one twice, or when a foil is not caught; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import for_profile
from conformance.gate import check, main, summary
from conformance.results import Results, parse_results

PROFILE = "seed"
CASES = [c.id for c in for_profile(PROFILE)]
# The cases that catch the foil `none`, and one where it need not.
NONE_LEAKS = [c.id for c in for_profile(PROFILE) if "none" in c.catches]
# A foil leaks in some cases only: where it need not leak, it may also be missing.
FOIL = "foil-no-boot"
FOIL_LEAKS = [c.id for c in for_profile(PROFILE) if FOIL in c.catches]
FOIL_PASSES = next(c.id for c in for_profile(PROFILE) if FOIL not in c.catches)


def result(subject: str, case: str, verdict: str) -> dict:
    return {"subject": subject, "case": case, "verdict": verdict, "reason": "r"}


def run(results: list[dict], profile: str | None = PROFILE) -> Results:
    return parse_results({"run": {"profile": profile}, "results": results})


def complete() -> list[dict]:
    """A whole run: reference passes every case, none leaks where it must."""
    return [result("reference", c, "PASS") for c in CASES] + [
        result("none", c, "LEAK" if c in NONE_LEAKS else "PASS") for c in CASES
    ]


def test_a_complete_run_passes() -> None:
    assert check(run(complete()), ["reference"], ["none"]) == []


def test_a_leaking_reference_fails_the_gate() -> None:
    results = complete()
    results[0] = result("reference", CASES[0], "LEAK")
    assert check(run(results), ["reference"], []) == [f"reference {CASES[0]}: LEAK (r)"]


def test_a_missing_case_fails_the_gate() -> None:
    # A run that died half-way: every result it has is a PASS.
    results = [r for r in complete() if r["case"] != CASES[-1]]
    problems = check(run(results), ["reference"], [])
    assert problems == [
        f"reference {CASES[-1]}: no result (the run stopped before it, or did not select it)"
    ]


def test_a_duplicated_case_fails_the_gate() -> None:
    results = [*complete(), result("reference", CASES[1], "PASS")]
    assert check(run(results), ["reference"], []) == [
        f"reference {CASES[1]}: 2 results, expected one"
    ]
    results = [*complete(), result("none", NONE_LEAKS[0], "LEAK")]
    assert check(run(results), [], ["none"]) == [f"none {NONE_LEAKS[0]}: 2 results, expected one"]


def test_an_unknown_profile_cannot_pass() -> None:
    problems = check(run(complete(), profile=None), ["reference"], [])
    assert len(problems) == 1 and "cannot tell whether every case ran" in problems[0]


def test_a_subject_with_no_results_fails() -> None:
    assert check(run(complete()), ["vendor"], []) == ["vendor: no results"]


def test_a_foil_not_caught_where_its_cases_say_fails_the_gate() -> None:
    results = [r for r in complete() if r["subject"] == "none"]
    results[CASES.index(NONE_LEAKS[0])] = result("none", NONE_LEAKS[0], "PASS")
    problems = check(run(results), [], ["none"])
    assert problems == [f"none {NONE_LEAKS[0]}: PASS, but this foil must be caught here (r)"]
    # Where a flawed subject is not expected to leak, a missing case is fine; where it is, not.
    foil = [result(FOIL, c, "LEAK" if c in FOIL_LEAKS else "PASS") for c in CASES]
    results = [r for r in foil if r["case"] != FOIL_PASSES]
    assert check(run(results), [], [FOIL]) == []
    results = [r for r in results if r["case"] != FOIL_LEAKS[0]]
    assert check(run(results), [], [FOIL]) == [
        f"{FOIL} {FOIL_LEAKS[0]}: no result (the run stopped before it, or did not select it)"
    ]


def test_a_reason_stays_on_its_line() -> None:
    results = complete()
    results[0] = {**result("reference", CASES[0], "ERROR"), "reason": "hook:\n  boom"}
    assert check(run(results), ["reference"], []) == [f"reference {CASES[0]}: ERROR (hook: boom)"]


def test_summary_counts_what_the_report_counts() -> None:
    results = [
        result("x", "crash.sigkill", "PASS"),
        result("x", "ipv6.announced", "LEAK"),
        result("x", "dns.app-resolver", "ERROR"),
        result("x", "connected.baseline", "BROKEN"),
    ]
    data = parse_results({"run": {"leak_classes": ["connected", "ipv6"]}, "results": results})
    # The report's own words (reports.index uses the same summary_line).
    assert summary(data) == [
        "x: 1 of 4 cases passed; leak classes failed: connected, ipv6; "
        "could not judge: dns.app-resolver"
    ]


def _write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "r.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
        ([], "top level is not a JSON object"),
        ({"results": [{"subject": "reference", "case": "crash.sigkill"}]}, "verdict None"),
        ({"results": [result("reference", "crash.sigkill", "PASS") | {"reason": 1}]}, "'reason'"),
    ],
)
def test_bad_results_file_is_one_line_and_exit_2(tmp_path, capsys, data, message) -> None:
    assert main([_write(tmp_path, data), "--must-pass", "reference"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("gate: ") and message in err


def test_main_exit_status(tmp_path, capsys) -> None:
    data = {"run": {"profile": PROFILE}, "results": complete()}
    assert main([_write(tmp_path, data), "--must-pass", "reference", "--foil", "none"]) == 0
    assert "reference: " in capsys.readouterr().out
    data["results"] = data["results"][1:]
    assert main([_write(tmp_path, data), "--must-pass", "reference"]) == 1
    assert capsys.readouterr().err.startswith(f"gate: reference {CASES[0]}: no result")


def test_bad_arguments_are_one_line_and_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--must-pass"])
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
