"""The certificate: its verdict never reads a missing or doubled result as a pass."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.results import ResultsError, parse_results
from reports.certificate import SCHEMA, Scope, badge_text, certificate, write_certificate

PROFILE = ["connected.baseline", "crash.client", "dns.app-resolver"]
DIGEST = "ab" * 32


def results(*verdicts: tuple[str, str], subject: str = "vendor") -> dict:
    return {
        "run": {
            "profile": "seed",
            "leakcert_version": "9.9",
            "tools": {"nft": "nftables v1"},
            "subjects": {subject: {"summary": "s", "vpn": "wireguard", "folder_sha256": DIGEST}},
        },
        "results": [
            {"subject": subject, "case": case, "verdict": v, "reason": "r", "leaks": 0}
            for case, v in verdicts
        ],
    }


def cert(data: dict, certified: list[str] = PROFILE) -> dict:
    return certificate(parse_results(data), "vendor", Scope("seed", PROFILE, certified))


def test_every_case_passed_is_a_pass() -> None:
    c = cert(results(*[(case, "PASS") for case in PROFILE]))
    assert (c["verdict"], c["passed"], c["certified_cases"], c["complete"]) == ("PASS", 3, 3, True)
    assert c["schema"] == SCHEMA
    assert c["subject"]["folder_sha256"] == DIGEST
    assert c["subject"]["sha256"] == ""  # a results file from before the field has none
    assert c["lab"]["tools"] == {"nft": "nftables v1"}
    assert [x["id"] for x in c["cases"]] == PROFILE
    assert badge_text(c) == ("leakcert seed", "PASS 3/3")


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        ((("connected.baseline", "PASS"), ("crash.client", "PASS")), "ERROR"),  # one missing
        ((*[(c, "PASS") for c in PROFILE], ("crash.client", "PASS")), "ERROR"),  # one doubled
        ((*[(c, "PASS") for c in PROFILE[:2]], ("dns.app-resolver", "ERROR")), "ERROR"),
        ((*[(c, "PASS") for c in PROFILE[:2]], ("dns.app-resolver", "BROKEN")), "BROKEN"),
        ((("connected.baseline", "LEAK"), ("crash.client", "BROKEN")), "LEAK"),
    ],
)
def test_anything_short_of_a_pass_per_case_is_not_a_pass(verdicts: tuple, overall: str) -> None:
    assert cert(results(*verdicts))["verdict"] == overall


def test_no_case_certified_is_an_error() -> None:
    assert cert(results(), certified=[])["verdict"] == "ERROR"


def test_another_subjects_results_do_not_count() -> None:
    other = results(*[(case, "PASS") for case in PROFILE], subject="other")
    assert cert(other)["verdict"] == "ERROR"


def test_a_selection_says_it_is_partial() -> None:
    c = cert(results(("crash.client", "PASS")), certified=["crash.client"])
    assert (c["verdict"], c["complete"], c["profile_cases"]) == ("PASS", False, 3)
    assert badge_text(c) == ("leakcert seed (partial)", "PASS 1/1")


def test_the_files_are_written_and_escape_the_subjects_words(tmp_path: Path) -> None:
    data = results(*[(case, "PASS") for case in PROFILE])
    data["run"]["subjects"]["vendor"]["summary"] = "<script>alert(1)</script>"
    paths = write_certificate(cert(data), tmp_path)
    assert json.loads(paths["json"].read_text())["verdict"] == "PASS"
    page = paths["html"].read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'src="badge.svg"' in page
    badge = ET.parse(paths["badge"]).getroot()
    assert badge.tag.endswith("svg")
    assert [t.text for t in badge.iter("{http://www.w3.org/2000/svg}text")] == [
        "leakcert seed",
        "PASS 3/3",
    ]


def test_every_field_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "certificate.md").read_text()
    c = cert(results(*[(case, "PASS") for case in PROFILE]))
    fields = [k for k in c if not isinstance(c[k], dict) and k != "cases"]
    fields += [f"{k}.{sub}" for k in ("subject", "run", "lab") for sub in c[k]]
    fields += [f"cases[].{k}" for k in c["cases"][0]]
    assert [f for f in fields if f"`{f}`" not in doc] == []
    assert f'`"{SCHEMA}"`' in doc


def test_the_subjects_digest_with_what_it_includes_is_carried_and_checked() -> None:
    data = results(*[(case, "PASS") for case in PROFILE])
    data["run"]["subjects"]["vendor"]["sha256"] = "cd" * 32
    assert cert(data)["subject"]["sha256"] == "cd" * 32
    data["run"]["subjects"]["vendor"]["sha256"] = "not a digest"
    with pytest.raises(ResultsError, match=r"run\.subjects\[\]\.sha256' is not a SHA-256"):
        parse_results(data)
