"""Open the report in headless Chromium from file://: it renders, with no console errors.

Skipped, with the reason, where `chromium` is not on PATH (Debian package `chromium`);
failed instead when `CI` is set, so that CI cannot pass without the browser.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conformance.results import subject_folder
from tests.reports.support import Page

CHROMIUM = shutil.which("chromium")

# Chromium logs page console messages to stderr as INFO:CONSOLE lines.
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught")


@pytest.fixture(autouse=True)
def _chromium_is_there() -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH, and CI is set: install the Debian package")
        pytest.skip("chromium is not on PATH")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    env = {**os.environ, "HOME": str(tmp_path)}
    cmd = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",  # we run as root in the lab
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,2000",
        *args,
    ]
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=120, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish in 120 s: {' '.join(args)}")


def _png_is_blank(png: bytes) -> bool:
    """True if the screenshot is (near) one colour.

    Undoing PNG filters in pure Python is slow, so this looks at the inflated
    scanlines: a single-colour page inflates to a handful of byte values,
    rendered text and colour to many.
    """
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) < 32


def _open(tmp_path: Path, page: Path) -> tuple[str, Path]:
    """The DOM Chromium built for `page`, and a screenshot of it."""
    url = page.resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if CONSOLE.search(line)]
    assert not console, console
    shot = tmp_path / f"{page.stem}.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", url)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    assert not _png_is_blank(shot.read_bytes()), f"blank screenshot: {shot}"
    return dom.stdout, shot


def _check_links(dom: str, page: Path, tmp_path: Path) -> None:
    dumped = tmp_path / f"{page.stem}.dom.html"
    dumped.write_text(dom, encoding="utf-8")
    for link in Page(dumped).links():
        parts = urlsplit(link)
        if parts.scheme or not parts.path:
            continue
        assert (page.parent / unquote(parts.path)).is_file(), f"broken link {link} in {page}"


def test_index_renders_in_chromium(report_dir, run_data, tmp_path):
    page = report_dir / "index.html"
    dom, _ = _open(tmp_path, page)
    assert "reference: 19 of 19 cases passed; leak classes failed: none" in dom
    for text in ("LEAK 12", "PASS", "BROKEN", "ERROR"):
        assert f">{text}</a>" in dom
    _check_links(dom, page, tmp_path)


def test_leak_case_page_renders_in_chromium(report_dir, tmp_path):
    page = report_dir / "cases" / subject_folder("none") / "crash.sigkill.html"
    dom, _ = _open(tmp_path, page)
    assert "LEAK 12" in dom
    assert dom.count('<path class="layer') >= 3 and '<rect class="bar leak-bar"' in dom
    assert ">trigger</text>" in dom
    _check_links(dom, page, tmp_path)


def test_the_certificate_prints_on_one_page(tmp_path: Path) -> None:
    from conformance.cases import CASES
    from conformance.results import parse_results
    from reports.certificate import Scope, certificate, write_certificate

    ids = [case.id for case in CASES]  # more cases than any profile has
    data = {
        "run": {"tools": {"nft": "nftables v1.0.6 " + "x" * 200}},
        "results": [{"subject": "v", "case": c, "verdict": "PASS", "reason": ""} for c in ids],
    }
    cert = certificate(parse_results(data), "v", Scope("always-on", ids, ids))
    page = write_certificate(cert, tmp_path / "out")["html"]
    pdf = tmp_path / "certificate.pdf"
    done = _chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    assert pdf.is_file(), done.stderr[-2000:]
    assert re.findall(rb"/Count (\d+)", pdf.read_bytes()) == [b"1"]
