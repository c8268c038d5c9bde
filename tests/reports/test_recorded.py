"""A real run, recorded: `tox -e conformance` (reference and none), four cases each,
with the pcaps the lab captured. The synthetic fixture (data/run.json) covers the
corners; this one proves the report reads what the suite really writes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from scapy.utils import rdpcap

from conformance.results import subject_folder
from reports import render_report
from tests.reports.support import Page

RECORDED = Path(__file__).parent / "data" / "recorded" / "results.json"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(RECORDED.read_text())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recorded")
    render_report(RECORDED, out)
    return out


def test_every_result_has_its_cell_and_page(rendered: Path, recorded: dict) -> None:
    matrix = Page(rendered / "index.html").table("matrix")
    header = [text for _tag, text, _a in matrix.rows[1]]
    cells = {
        (row[0][1], case): text
        for row in matrix.body_rows()
        for case, (_tag, text, _a) in zip(header, row[1:], strict=True)
    }
    for result in recorded["results"]:
        expected = result["verdict"]
        if expected == "LEAK":
            expected = f"LEAK {result['leaks']}"
        assert cells[(result["subject"], result["case"])] == expected
        assert _page_path(rendered, result).is_file()


def _page_path(rendered: Path, result: dict) -> Path:
    return rendered / "cases" / subject_folder(result["subject"]) / f"{result['case']}.html"


def test_leaked_rows_and_pcaps_match_the_capture(rendered: Path, recorded: dict) -> None:
    assert any(r["verdict"] == "LEAK" for r in recorded["results"]), "no LEAK to check"
    assert any(r["verdict"] == "PASS" for r in recorded["results"]), "no PASS to check"
    for result in recorded["results"]:
        page = Page(_page_path(rendered, result))
        wire_leaks = len(result["evidence"]["leaked"])
        # Every result, leaking or not: one row per leaked packet, no table without one.
        tables = [t for t in page.tables if "leaked" in t.attrs.get("class", "").split()]
        assert sum(len(t.body_rows()) for t in tables) == wire_leaks
        assert len(tables) == (1 if wire_leaks else 0)
        pcap = rendered / "pcaps" / subject_folder(result["subject"]) / f"{result['case']}.pcap"
        # Every packet the oracle classified is in the pcap the page links to.
        assert len(rdpcap(str(pcap))) >= len(result["evidence"]["packets"])
        links = [unquote(urlsplit(link).path) for link in page.links()]
        assert any(link.endswith(f"{result['case']}.pcap") for link in links)


def test_every_relative_link_resolves(rendered: Path) -> None:
    for path in rendered.rglob("*.html"):
        for link in Page(path).links():
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            assert (path.parent / unquote(parts.path)).resolve().is_file(), f"{path}: {link}"
