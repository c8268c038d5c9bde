"""Loading the results JSON: tolerant of missing evidence, strict about what is there."""

from __future__ import annotations

import json

import pytest

from reports.model import ReportError, load_report
from tests.reports.conftest import RUN_JSON


def test_fixture_loads(run_data):
    report = load_report(RUN_JSON)
    assert report.run.kernel == run_data["run"]["kernel"]
    assert len(report.results) == len(run_data["results"])
    first = report.results[0]
    assert first.evidence.packets and all(
        isinstance(t, float) for times in first.evidence.packets.values() for t in times
    )


def test_relative_pcap_is_resolved_against_the_results_file(tmp_path):
    (tmp_path / "caps").mkdir()
    path = tmp_path / "results.json"
    result = {"subject": "s", "case": "crash.x", "verdict": "PASS"}
    result["evidence"] = {"pcap": "caps/a.pcap"}
    path.write_text(json.dumps({"results": [result]}))
    (loaded,) = load_report(path).results
    assert loaded.evidence.pcap == tmp_path / "caps" / "a.pcap"


def test_missing_keys_take_defaults():
    (r,) = load_report(
        {"results": [{"subject": "s", "case": "ipv6.x", "verdict": "ERROR"}]}
    ).results
    assert r.leak_class == "ipv6"  # from the case id
    assert r.leaks == 0 and r.duration is None and r.evidence.pcap is None
    assert r.evidence.events == [] and r.evidence.packets == {} and r.evidence.probes == []


def test_integer_times_and_unknown_packet_classes_are_kept():
    ev = {"packets": [{"t": 1, "class": "odd"}, {"t": 0.5}], "trigger_at": 2}
    (r,) = load_report(
        {"results": [{"subject": "s", "case": "c.x", "verdict": "PASS", "evidence": ev}]}
    ).results
    assert r.evidence.packets == {"odd": [1.0], "link": [0.5]}
    assert r.evidence.trigger_at == 2.0


@pytest.mark.parametrize(
    ("evidence", "message"),
    [
        ({"trigger_at": "later"}, "'trigger_at' is not a number"),
        ({"packets": [{"t": float("nan")}]}, "'packets[].t' is not a number"),
        ({"leaked": "lots"}, "evidence 'leaked' is not a list of objects"),
        ({"hooks": [{"hook": "up", "exit": True}]}, "'hooks[].exit' is not a number"),
    ],
)
def test_malformed_evidence_names_the_result_and_key(evidence, message):
    data = {"results": [{"subject": "s", "case": "c.x", "verdict": "LEAK", "evidence": evidence}]}
    with pytest.raises(ReportError, match=r"^results\[0\]: ") as err:
        load_report(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
