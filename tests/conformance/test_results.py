"""The results reader: tolerant of missing evidence, strict about what is there,
and one line for anything malformed; and the subject-folder rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.results import (
    MAX_DEPTH,
    Event,
    ResultsError,
    StreamRef,
    load_results,
    parse_results,
    subject_folder,
)

RUN_JSON = Path(__file__).parents[1] / "reports" / "data" / "run.json"


def _one(**fields: object) -> dict:
    """Results holding one minimal valid result, changed by `fields` (None drops a key)."""
    result = {"subject": "s", "case": "c.x", "verdict": "PASS", "reason": "r", **fields}
    return {"results": [{k: v for k, v in result.items() if v is not None}]}


def test_fixture_loads():
    data = json.loads(RUN_JSON.read_text(encoding="utf-8"))
    loaded = load_results(RUN_JSON)
    assert loaded.run.kernel == data["run"]["kernel"]
    assert loaded.folder == RUN_JSON.resolve().parent
    assert len(loaded.results) == len(data["results"])
    first = loaded.results[0]
    assert first.evidence.packets and all(
        isinstance(t, float) for times in first.evidence.packets.values() for t in times
    )


def test_pcap_is_kept_as_recorded_with_the_results_folder(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_one(evidence={"pcap": "caps/a.pcap"})))
    loaded = load_results(path)
    assert loaded.results[0].evidence.pcap == "caps/a.pcap"
    assert loaded.folder == tmp_path.resolve()


def test_missing_keys_take_defaults():
    (r,) = load_results(_one(case="ipv6.x", verdict="ERROR")).results
    assert r.leak_class == "ipv6"  # from the case id
    assert r.leaks == 0 and r.duration is None and r.evidence.pcap is None
    assert r.leaked_packets is None and r.dns_leaks is None and r.limitations == ""
    assert r.evidence.events == [] and r.evidence.packets == {} and r.evidence.probes == []
    assert r.evidence.window is None and r.evidence.stream is None
    assert r.evidence.sysctls == {} and r.evidence.transcript == []


def test_integer_times_and_unknown_packet_classes_are_kept():
    ev = {"packets": [{"t": 1, "class": "odd"}, {"t": 0.5}], "trigger_at": 2}
    (r,) = load_results(_one(evidence=ev)).results
    assert r.evidence.packets == {"odd": [1.0], "link": [0.5]}
    assert r.evidence.trigger_at == 2.0


def test_old_and_new_events():
    events = [{"t": 0, "event": "VPN client crashes"}, {"t": 1, "kind": "tunnel-up", "text": "up"}]
    (r,) = load_results(_one(evidence={"events": events})).results
    assert r.evidence.events == [
        Event(0.0, "", "VPN client crashes"),  # old: text only, no kind guessed
        Event(1.0, "tunnel-up", "up"),
    ]


def test_new_fields():
    ev = {
        "window": {"first_ms": 12, "last_ms": 61.5, "packets": 38, "stream_packets": 30,
                   "text": "leaked 38 packets from +12 ms to +61 ms after the trigger"},
        "stream": {"sent": 400, "rate": 100.0, "destinations": ["203.0.113.10"]},
        "leaked": [{"t": 1.0, "stream": {"seq": 7, "sent_ms": 11.5}}, {"t": 1.1, "stream": None}],
        "settle": 2,
        "sysctls": {"net.ipv6.conf.all.disable_ipv6": 0, "net.ipv4.ip_forward": "0"},
        "transcript": [{"t": 0.1, "host": "client", "command": "ip link", "exit": None}],
    }  # fmt: skip
    (r,) = load_results(
        _one(limitations="cannot see X", leaked_packets=38, dns_leaks=2, leaks=40, evidence=ev)
    ).results
    assert (r.limitations, r.leaked_packets, r.dns_leaks, r.leaks) == ("cannot see X", 38, 2, 40)
    assert r.evidence.window.last_ms == 61.5 and r.evidence.window.stream_packets == 30
    assert r.evidence.stream.destinations == ("203.0.113.10",)
    assert [p.stream for p in r.evidence.leaked] == [StreamRef(7, 11.5), None]
    assert r.evidence.settle == 2.0
    assert r.evidence.sysctls == {"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv4.ip_forward": "0"}
    assert r.evidence.transcript[0].exit is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "top level is not a JSON object"),
        ({"run": {}}, "'results' is missing"),
        ({"run": [], "results": []}, "'run' is not an object"),
        (_one(reason=None), "results[0]: 'reason' is missing"),
        (_one(case=None), "results[0]: 'case' is missing"),
        (_one(case="../x/y"), "not a case id: '../x/y'"),
        (_one(subject="a\nb"), "'subject' is missing, not a string, or has control characters"),
        (_one(verdict="MAYBE"), "verdict 'MAYBE' is not one of"),
        (_one(title=["t"]), "'title' is not a string: list"),
        (_one(leaks=True), "'leaks' is not a count"),
        (_one(leaks=-1), "'leaks' is not a count"),
        (_one(duration=1e300), "'duration' is not a number (or out of range)"),
        (_one(description="\ud800"), "'description' is not valid Unicode"),
        (_one(evidence=[]), "'evidence' is not an object"),
        (_one(evidence={"trigger_at": "later"}), "'trigger_at' is not a number"),
        (_one(evidence={"packets": [{"t": float("nan")}]}), "'packets[].t' is not a number"),
        (_one(evidence={"packets": [{"t": 1.0, "class": 3}]}), "'packets[].class' is not a str"),
        (_one(evidence={"leaked": "lots"}), "evidence 'leaked' is not a list of objects"),
        (_one(evidence={"hooks": [{"exit": True}]}), "'hooks[].exit' is not a count"),
        (_one(evidence={"events": [{"event": "boot"}]}), "'events[].t' is missing"),
        (_one(evidence={"events": [{"t": 1, "kind": 2}]}), "'events[].kind' is not a string"),
        (_one(evidence={"window": {"first_ms": 1}}), "'window.last_ms' is missing"),
        (_one(evidence={"window": 5}), "'evidence.window' is not an object"),
        (_one(evidence={"stream": {"destinations": "x"}}), "'stream.destinations' is not a list"),
        (_one(evidence={"leaked": [{"t": 1, "stream": {}}]}), None),  # {} is no stream
        (_one(evidence={"leaked": [{"t": 1, "stream": {"sent_ms": 1}}]}), "stream.seq' is missing"),
        (_one(evidence={"sysctls": {"a": [1]}}), "'sysctls' is not a string or a number"),
        (_one(evidence={"transcript": [{"t": 0, "exit": 1.5}]}), "'transcript[].exit' is not"),
        (_one(evidence={"pcap": "a\nb.pcap"}), "'evidence.pcap' has control characters"),
    ],
)
def test_malformed_results_are_one_line(data, message):
    if message is None:
        parse_results(data)
        return
    with pytest.raises(ResultsError) as err:
        parse_results(data)
    assert message in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_probe_results_are_free_form_but_bounded():
    ok = {"a": [1, 2.5, None, True, {"b": "c"}]}
    (r,) = load_results(_one(evidence={"probes": [{"t": 1, "outcomes": ok}]})).results
    assert r.evidence.probes[0].outcomes == ok
    deep: object = "x"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ResultsError, match=r"^results\[0\]: 'probes\[\]' is nested more than"):
        load_results(_one(evidence={"probes": [{"results": deep}]}))


def test_deep_nesting_in_a_file_is_one_line(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ResultsError, match="nested too deep"):
        load_results(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"{", "not valid JSON"),
        (b'{"results": [], "x": 1' + b"0" * 5000 + b"}", "not valid JSON"),  # int too long
        (b"\xff\xfe", "cannot read"),  # not UTF-8
    ],
)
def test_unreadable_files_are_one_line(tmp_path, text, message):
    path = tmp_path / "results.json"
    path.write_bytes(text)
    with pytest.raises(ResultsError, match=f"^{path}: {message}"):
        load_results(path)
    with pytest.raises(ResultsError, match="no such file"):
        load_results(tmp_path / "nope.json")
    with pytest.raises(ResultsError, match="cannot read"):
        load_results(tmp_path)


def test_duplicates_are_left_to_the_readers_caller():
    # The gate fails a duplicate as a verdict, reports refuses it: both must see it.
    data = _one()
    data["results"] *= 2
    assert len(load_results(data).results) == 2


def test_subject_folder_is_safe_unique_and_stable():
    assert subject_folder("reference") == "reference-" + "52367a66"
    assert subject_folder("vendor a") != subject_folder("vendor_a")
    assert subject_folder("vendor a").startswith("vendor_a-")
    for name in ("..", ".", "", "../../etc", "/", "a/../b", "x" * 1000, "\ud800", "é"):
        folder = subject_folder(name)
        assert folder == subject_folder(name)
        assert "/" not in folder and not folder.startswith(".") and folder not in ("", ".", "..")
        assert len(folder) <= 64 + 9
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in folder)


def test_the_reader_and_reports_import_nothing_from_the_lab():
    # Reports are rebuilt on machines without the lab's dependencies.
    code = (
        "import sys, reports.__main__, conformance.gate\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('netns', 'scapy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
