"""The rendered report against the recorded-run fixture: matrix, case pages, links, junit."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from conformance.results import ResultsError, parse_results, subject_folder
from reports import render_report
from reports.case_page import LEAKED_ROWS_CAP
from tests.reports.conftest import DATA
from tests.reports.support import Page


def _verdict_text(r: dict[str, Any]) -> str:
    return f"LEAK {r['leaks']}" if r["verdict"] == "LEAK" else r["verdict"]


def _case_page(out: Path, r: dict[str, Any]) -> Path:
    return out / "cases" / subject_folder(r["subject"]) / f"{r['case']}.html"


def test_every_result_has_a_cell_with_its_verdict_as_text(report_dir, run_data):
    index = Page(report_dir / "index.html")
    matrix = index.table("matrix")
    cells = {}
    for row in matrix.body_rows():
        subject = row[0][1]
        for _tag, text, attrs in row[1:]:
            cells.setdefault(subject, []).append((text, attrs.get("class", "")))
    links = {e.attrs["href"]: e for e in index.find("a") if e.attrs["href"].startswith("cases/")}
    for r in run_data["results"]:
        href = f"cases/{subject_folder(r['subject'])}/{r['case']}.html"
        assert href in links, href
        assert _case_page(report_dir, r).is_file()
        assert (_verdict_text(r), f"v v-{r['verdict'].lower()}") in cells[r["subject"]]
    # Every subject row has one cell per case column; the partial subject shows "not run".
    n_cases = len({r["case"] for r in run_data["results"]})
    assert all(len(v) == n_cases for v in cells.values())
    assert sum(text == "not run" for text, _ in cells["blocks-all"]) == n_cases - 6


def test_leak_counts_in_cells_match_the_json(report_dir, run_data):
    matrix = Page(report_dir / "index.html").table("matrix")
    header = [text for tag, text, _ in matrix.rows[1]]
    seen = {}
    for row in matrix.body_rows():
        for case, (_tag, text, _a) in zip(header, row[1:], strict=True):
            seen[(row[0][1], case)] = text
    leaks = [r for r in run_data["results"] if r["verdict"] == "LEAK"]
    assert len(leaks) >= 5
    for r in leaks:
        assert seen[(r["subject"], r["case"])] == f"LEAK {r['leaks']}"


def test_matrix_columns_are_grouped_by_leak_class_in_suite_order(report_dir):
    matrix = Page(report_dir / "index.html").table("matrix")
    groups = [(text, int(a["colspan"])) for tag, text, a in matrix.rows[0] if tag == "th"]
    assert [g for g, _ in groups] == [
        "connected", "crash", "tunnel", "network", "roam", "routes",
        "dhcp121", "boot", "ipv6", "dns", "webrtc",
    ]  # fmt: skip
    cases = [text for _, text, _ in matrix.rows[1]]
    assert sum(n for _, n in groups) == len(cases)
    pos = 0
    for group, n in groups:
        assert all(c.split(".")[0] == group for c in cases[pos : pos + n])
        pos += n


def test_index_is_accessible_markup(report_dir, run_data):
    index = Page(report_dir / "index.html")
    assert index.lang == "en"
    assert index.title.strip()
    matrix = index.table("matrix")
    assert "subjects" in matrix.caption
    scopes = {e.attrs.get("scope") for e in index.find("th")}
    assert {"col", "colgroup", "row"} <= scopes
    for key in ("started", "leakcert_version", "kernel", "profile", "command"):
        assert run_data["run"][key] in index.text
    for version in run_data["run"]["tools"].values():
        assert version in index.text


def test_summary_lines(report_dir):
    lines = [
        " ".join(li.split())
        for li in Page(report_dir / "index.html").text_parts
        if li.strip().startswith(("reference:", "none:", "blocks-all:"))
    ]
    assert lines == [
        "reference: 19 of 19 cases passed; leak classes failed: none",
        "none: 4 of 19 cases passed; leak classes failed: crash, tunnel, network, roam, "
        "routes, dhcp121, boot, ipv6, dns, webrtc",
        "blocks-all: 4 of 6 cases passed; leak classes failed: connected; "
        "could not judge: crash.sigkill",
    ]


def _local_links(page: Page) -> list[str]:
    out = []
    for link in page.links():
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # fragments (#x) and absolute URLs are not files
        out.append(unquote(parts.path))
    return out


def test_every_relative_link_resolves(report_dir):
    pages = sorted(report_dir.rglob("*.html"))
    assert len(pages) > 40
    checked = 0
    for path in pages:
        for link in _local_links(Page(path)):
            target = (path.parent / link).resolve()
            assert target.is_file(), f"{path.relative_to(report_dir)}: broken link {link}"
            assert report_dir.resolve() in target.parents
            checked += 1
    assert checked > 100


def test_leaked_packets_table_has_one_row_per_leak(report_dir, run_data):
    for r in run_data["results"]:
        page = Page(_case_page(report_dir, r))
        leaked = (r.get("evidence") or {}).get("leaked", [])
        if leaked:
            table = page.table("leaked")
            rows = table.body_rows()
            assert len(rows) == len(leaked)
            assert [c[4][1] for c in rows] == [p["summary"] for p in leaked]
        else:
            assert not [t for t in page.tables if "leaked" in t.attrs.get("class", "")]


def test_leaked_time_is_relative_to_the_trigger(report_dir, run_data):
    r = next(
        r for r in run_data["results"] if (r["subject"], r["case"]) == ("none", "crash.sigkill")
    )
    rows = Page(_case_page(report_dir, r)).table("leaked").body_rows()
    first = r["evidence"]["leaked"][0]["t"] - r["evidence"]["trigger_at"]
    assert float(rows[0][0][1]) == pytest.approx(first, abs=1e-3)


def test_dns_leaks_probes_and_hooks(report_dir, run_data):
    by_key = {(r["subject"], r["case"]): r for r in run_data["results"]}
    dns = Page(_case_page(report_dir, by_key[("none", "dns.tunnel-down")])).table("dns")
    assert [(row[0][1], row[1][1], row[4][1]) for row in dns.body_rows()] == [
        ("0.300", "203.0.113.53", "A"),
        ("", "203.0.113.53", "AAAA"),  # no time in the resolver's log: last, blank
    ]

    # The runner's shape, {"t", "outcomes": {name: {ok, detail, t}}}: a column per field.
    probes = Page(_case_page(report_dir, by_key[("none", "connected.baseline")])).table("probes")
    assert [text for _, text, _ in probes.rows[0]] == ["Time (s)", "Probe", "ok", "detail", "t"]
    assert [(row[1][1], row[2][1]) for row in probes.body_rows()] == [
        ("tcp", "yes"),
        ("dns", "yes"),
    ]
    odd = Page(_case_page(report_dir, by_key[("blocks-all", "connected.baseline")]))
    assert len(odd.table("probes").body_rows()) == 3  # a list of two, then a null

    err_path = _case_page(report_dir, by_key[("blocks-all", "crash.sigkill")])
    raw = err_path.read_text(encoding="utf-8")
    assert "Error: &lt;wg0&gt; not found" in raw and "<wg0>" not in raw
    assert "exit 1" in Page(err_path).text


def test_pcaps_are_copied_and_linked(report_dir, run_data):
    for subject in ("reference", "none"):
        r = next(
            r
            for r in run_data["results"]
            if (r["subject"], r["case"]) == (subject, "crash.sigkill")
        )
        copied = report_dir / "pcaps" / subject_folder(subject) / "crash.sigkill.pcap"
        source = Path(__file__).parent / "data" / r["evidence"]["pcap"]
        assert copied.read_bytes() == source.read_bytes()
        href = f"../../pcaps/{subject_folder(subject)}/crash.sigkill.pcap"
        assert href in Page(_case_page(report_dir, r)).links()
    # A pcap the run recorded but which is gone is reported, not linked.
    missing = Page(report_dir / "cases" / subject_folder("none") / "tunnel.disconnect.html")
    assert not [link for link in missing.links() if link.endswith(".pcap")]
    assert "was not found" in missing.text


def test_case_page_shows_the_words(report_dir, run_data):
    for r in run_data["results"]:
        page = Page(_case_page(report_dir, r))
        assert page.lang == "en" and r["case"] in page.title
        for key in ("title", "description", "requirement", "reason", "subject_summary"):
            assert " ".join(r[key].split()) in page.text, (r["case"], key)
        assert _verdict_text(r) in page.text
        assert "../../index.html" in page.links()


def test_timeline_svg_has_bars_markers_and_axes(report_dir, run_data):
    r = next(
        r for r in run_data["results"] if (r["subject"], r["case"]) == ("none", "crash.sigkill")
    )
    page = Page(_case_page(report_dir, r))
    (svg,) = page.find("svg", None)[:1]
    assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"]
    layers = page.find("path", "layer")
    assert {cls for e in layers for cls in e.classes} >= {"c-tunnel", "c-link", "c-inbound"}
    assert all(e.attrs["d"].count("z") >= 5 for e in layers)  # real bars, not a placeholder
    leak_bars = page.find("rect", "leak-bar")
    assert leak_bars and all(float(e.attrs["height"]) > 0 for e in leak_bars)
    assert (
        sum(1 for e in page.find("g") if "marker" in e.classes) == len(r["evidence"]["events"]) + 1
    )
    assert len(page.find("g", "trigger")) == 1
    for e in r["evidence"]["events"]:
        assert e["event"] in page.text
    assert len(page.find("text", "tick")) >= 8  # tick labels on both axes
    assert page.find("pattern")


def test_result_with_no_evidence_has_no_timeline(report_dir):
    page = Page(report_dir / "cases" / subject_folder("blocks-all") / "crash.sigkill.html")
    assert not page.find("rect", "bar") and not page.find("path", "layer")
    assert "No packets or events were recorded" in page.text
    assert "No pcap was recorded" in page.text


def test_junit_matches_verdicts(report_dir, run_data):
    root = ET.parse(report_dir / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["reference", "none", "blocks-all"]
    for name, suite in suites.items():
        results = [r for r in run_data["results"] if r["subject"] == name]
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) == len(results)
        failures = sum(r["verdict"] in ("LEAK", "BROKEN") for r in results)
        errors = sum(r["verdict"] == "ERROR" for r in results)
        assert (
            int(suite.get("failures")) == failures == sum(bool(c.findall("failure")) for c in cases)
        )
        assert int(suite.get("errors")) == errors == sum(bool(c.findall("error")) for c in cases)
    leak = next(c for c in suites["none"].findall("testcase") if c.get("name") == "crash.sigkill")
    text = leak.find("failure").text
    assert "192.0.2.57:41000 > 203.0.113.10:80 S" in text
    assert len(text.splitlines()) == 12


def _one_leaky_run(n_leaks: int) -> dict[str, Any]:
    leaked = [
        {"t": 1.0 + i / 1000, "src": "192.0.2.57", "dst": "203.0.113.10", "proto": "UDP",
         "summary": f"192.0.2.57:{1000 + i} > 203.0.113.10:53"}
        for i in range(n_leaks)
    ]  # fmt: skip
    return {
        "run": {},
        "results": [
            {
                "subject": "many",
                "case": "crash.sigkill",
                "verdict": "LEAK",
                "reason": f"{n_leaks} packets outside the tunnel",
                "leaks": n_leaks,
                "evidence": {
                    "trigger_at": 0.5,
                    "leaked": leaked,
                    "packets": [{"t": p["t"], "class": "leak"} for p in leaked],
                },
            }
        ],
    }


def test_leaked_table_is_capped_with_a_note(tmp_path):
    render_report(_one_leaky_run(LEAKED_ROWS_CAP + 123), tmp_path)
    page = Page(tmp_path / "cases" / subject_folder("many") / "crash.sigkill.html")
    assert len(page.table("leaked").body_rows()) == LEAKED_ROWS_CAP
    assert "and 123 more, see the pcap" in page.text
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert len(junit.find(".//failure").text.splitlines()) == LEAKED_ROWS_CAP + 123


def test_minimal_results_render(tmp_path):
    """Only the identifying keys: no run block, no evidence, no titles."""
    data = {
        "results": [
            {"subject": "s", "case": "dns.app-resolver", "verdict": "ERROR", "reason": ""},
            {"subject": "s", "case": "custom.thing", "verdict": "PASS", "reason": ""},
        ]
    }
    data["results"][1]["evidence"] = None
    index = Page(render_report(data, tmp_path))
    groups = [text for tag, text, _ in index.table("matrix").rows[0] if tag == "th"]
    assert groups == ["dns", "custom"]  # no order from the run: as they first appear
    assert (tmp_path / "cases" / subject_folder("s") / "custom.thing.html").is_file()


def test_the_run_orders_the_leak_classes(tmp_path):
    data = {
        "run": {"leak_classes": ["crash", "dns"]},
        "results": [
            {"subject": "s", "case": "custom.thing", "verdict": "PASS", "reason": ""},
            {"subject": "s", "case": "dns.app-resolver", "verdict": "PASS", "reason": ""},
            {"subject": "s", "case": "crash.sigkill", "verdict": "PASS", "reason": ""},
        ],
    }
    index = Page(render_report(data, tmp_path))
    groups = [text for tag, text, _ in index.table("matrix").rows[0] if tag == "th"]
    assert groups == ["crash", "dns", "custom"]  # classes the run does not list go last


def test_names_cannot_escape_the_output_directory(tmp_path, run_data):
    data = copy.deepcopy(run_data)
    data["results"] = [r for r in data["results"] if r["case"] == "crash.sigkill"][:1]
    data["results"][0]["subject"] = "../../evil"
    out = tmp_path / "out"
    render_report(parse_results(data, DATA), out)  # its pcap is relative to DATA
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in written)
    assert not (tmp_path / "evil").exists()
    assert (out / "pcaps" / subject_folder("../../evil") / "crash.sigkill.pcap").is_file()
    # A case is an id, not a path: the reader refuses anything else.
    data["results"][0]["case"] = "../x/y"
    with pytest.raises(ResultsError, match="not a case id"):
        render_report(data, tmp_path / "out2")


def test_subjects_whose_names_clean_alike_keep_their_own_pages(tmp_path, run_data):
    data = copy.deepcopy(run_data)
    (one,) = [r for r in data["results"] if (r["subject"], r["case"]) == ("none", "crash.sigkill")]
    data["results"] = [
        {**one, "subject": "vendor a", "verdict": "PASS", "reason": "no leak (vendor a)"},
        {**one, "subject": "vendor_a", "reason": "leaked (vendor_a)"},
    ]
    render_report(parse_results(data, DATA), tmp_path)
    pages = [Page(_case_page(tmp_path, r)) for r in data["results"]]
    assert _case_page(tmp_path, data["results"][0]) != _case_page(tmp_path, data["results"][1])
    assert "no leak (vendor a)" in pages[0].text and "leaked (vendor_a)" in pages[1].text
    pcaps = sorted(p.parent.name for p in (tmp_path / "pcaps").rglob("*.pcap"))
    assert pcaps == sorted(subject_folder(r["subject"]) for r in data["results"])


def test_parallel_render_writes_the_same_files(tmp_path, run_data):
    data = copy.deepcopy(run_data)
    # Enough results to take the forked path (see render._PARALLEL_MIN).
    data["results"] = [
        {**r, "subject": f"{r['subject']}-{i}"} for i in range(6) for r in run_data["results"]
    ]
    assert len(data["results"]) >= 200
    one, two = tmp_path / "one", tmp_path / "two"
    render_report(data, one, jobs=1)
    render_report(data, two, jobs=2)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert len(files) > 250
    for rel in files:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


def test_the_legend_says_what_each_leak_class_shown_holds(run_data, tmp_path):
    data = copy.deepcopy(run_data)
    data["run"]["leak_class_meanings"] = {"crash": "the client dies", "unseen": "no case of it"}
    index = Page(render_report(parse_results(data, tmp_path), tmp_path / "out"))
    assert "crash" in index.text and "the client dies" in index.text
    assert "no case of it" not in index.text  # only the classes the matrix shows


@pytest.mark.parametrize("meanings", [["crash"], {"crash": 3}])
def test_a_malformed_legend_is_refused(run_data, tmp_path, meanings):
    data = copy.deepcopy(run_data)
    data["run"]["leak_class_meanings"] = meanings
    with pytest.raises(ResultsError):
        parse_results(data, tmp_path)
