"""The run's gate fails when the certified subject leaks or the control does not."""

from __future__ import annotations

import json

from conformance.gate import check, main, summary


def result(subject: str, case: str, verdict: str, leak_class: str = "crash") -> dict:
    return {
        "subject": subject,
        "case": case,
        "leak_class": leak_class,
        "verdict": verdict,
        "reason": "r",
    }


def test_all_good() -> None:
    results = [
        result("reference", "crash.sigkill", "PASS"),
        result("none", "crash.sigkill", "LEAK"),
    ]
    assert check(results, ["reference"], ["none"]) == []


def test_a_leaking_reference_fails_the_gate() -> None:
    results = [result("reference", "crash.sigkill", "LEAK")]
    assert check(results, ["reference"], []) == ["reference crash.sigkill: LEAK (r)"]


def test_a_control_that_does_not_leak_where_expected_fails_the_gate() -> None:
    problems = check([result("none", "crash.sigkill", "PASS")], [], ["none"])
    assert len(problems) == 1 and "must leak" in problems[0]
    # Where the control is not expected to leak, its PASS is fine.
    assert (
        check([result("none", "tunnel.server-unreachable", "PASS", "tunnel")], [], ["none"]) == []
    )


def test_summary_line_a_vendor_can_quote() -> None:
    results = [
        result("x", "crash.sigkill", "PASS"),
        result("x", "ipv6.announced", "LEAK", "ipv6"),
        result("x", "dns.app-resolver", "ERROR", "dns"),
    ]
    assert summary(results) == ["x: passed 1 of 3 cases; leaks in: ipv6; 1 broken or in error"]


def test_bad_results_file_is_exit_2(tmp_path, capsys) -> None:
    path = tmp_path / "r.json"
    path.write_text("{")
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    path.write_text(json.dumps({"results": [result("reference", "crash.sigkill", "PASS")]}))
    assert main([str(path), "--must-pass", "reference"]) == 0
