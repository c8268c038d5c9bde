"""`python -m reports`: the path on success; one line and exit 2 on bad input; one
line, and the case rendered without it, for a pcap the report will not copy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reports.conftest import RUN_JSON

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_renders_and_prints_the_index_path_last(tmp_path):
    proc = _run(str(RUN_JSON), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert Path(last) == tmp_path / "r" / "index.html"
    assert Path(last).is_file()
    assert (tmp_path / "r" / "junit.xml").is_file()
    assert (tmp_path / "r" / "style.css").is_file()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    return path


def _one(**fields: object) -> str:
    """A results file holding one result: a valid minimal one, changed by `fields`."""
    result = {"subject": "s", "case": "c.x", "verdict": "PASS", "reason": "r", **fields}
    return json.dumps({"results": [{k: v for k, v in result.items() if v is not None}]})


BAD = {
    "not json": ("{", "not valid JSON"),
    "not an object": ("[1, 2]", "not a JSON object"),
    "no results": ('{"run": {}}', "'results' is missing"),
    "bad verdict": (_one(verdict="MAYBE"), "results[0]: verdict 'MAYBE'"),
    "no subject": (_one(subject=None), "results[0]: 'subject' is missing"),
    "no reason": (_one(reason=None), "results[0]: 'reason' is missing"),
    "case is a path": (_one(case="../../x"), "results[0]: 'case' is missing or not a case id"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "lone surrogate": (_one(title="\ud800"), "'title' is not valid Unicode"),
    "packets not a list": (
        _one(evidence={"packets": {"t": 1}}),
        "evidence 'packets' is not a list",
    ),
    "time not a number": (
        _one(evidence={"events": [{"t": "soon", "event": "boot"}]}),
        "'events[].t' is not a number",
    ),
    "duplicate": (
        json.dumps({"results": json.loads(_one())["results"] * 2}),
        "duplicate result for s c.x",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_input_is_one_line_and_exit_2(tmp_path, name):
    text, expected = BAD[name]
    proc = _run(str(_write(tmp_path, text)), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("reports: ") and expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    proc = _run(str(tmp_path / "nope.json"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"reports: {tmp_path / 'nope.json'}: no such file"]


def test_bad_arguments_are_one_line_and_exit_2():
    proc = _run("results.json")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "reports: the following arguments are required: --out "
        "(usage: python -m reports RESULTS.json --out DIR)"
    ]


def test_unwritable_output_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = _run(str(RUN_JSON), "--out", str(blocker / "r"))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("reports: cannot write")


def _with_pcap(tmp_path: Path, pcap: str) -> Path:
    """A results file in its own folder whose one result names `pcap`."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    path = run / "results.json"
    path.write_text(_one(verdict="ERROR", evidence={"pcap": pcap}), encoding="utf-8")
    return path


def _refused(tmp_path: Path, pcap: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "r"
    proc = _run(str(_with_pcap(tmp_path, pcap)), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip().splitlines()[-1]) == out / "index.html"
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"reports: refused pcap {pcap}: ")
    assert not list(out.rglob("*.pcap"))  # nothing copied
    (page,) = out.rglob("c.x.html")
    html = page.read_text(encoding="utf-8")
    assert "download" not in html and "did not copy" in html
    return proc, out


def test_a_pcap_outside_the_results_folder_is_refused(tmp_path):
    (tmp_path / "secret").write_text("root:x:0")
    proc, _ = _refused(tmp_path, "../secret")
    assert "outside the results file's folder" in proc.stderr
    _refused(tmp_path, "../../../../../../../../etc/shadow")
    _refused(tmp_path, str(tmp_path / "secret"))  # absolute


def test_a_kernel_pseudo_file_is_refused(tmp_path):
    proc, _ = _refused(tmp_path, "/proc/self/environ")
    assert "kernel pseudo-file" in proc.stderr


def test_a_symlink_out_of_the_results_folder_is_refused(tmp_path):
    (tmp_path / "secret").write_text("root:x:0")
    run = _with_pcap(tmp_path, "pcaps/s/c.x.pcap").parent
    (run / "pcaps" / "s").mkdir(parents=True)
    (run / "pcaps" / "s" / "c.x.pcap").symlink_to(tmp_path / "secret")
    proc, _ = _refused(tmp_path, "pcaps/s/c.x.pcap")
    assert str(tmp_path / "secret") in proc.stderr


def test_a_pcap_that_is_not_a_regular_file_is_refused(tmp_path):
    (_with_pcap(tmp_path, "pcaps").parent / "pcaps").mkdir()
    proc, _ = _refused(tmp_path, "pcaps")
    assert "not a regular file" in proc.stderr


def test_a_pcap_inside_the_results_folder_is_copied(tmp_path):
    run = _with_pcap(tmp_path, "pcaps/x/../c.x.pcap").parent
    (run / "pcaps" / "x").mkdir(parents=True)
    (run / "pcaps" / "c.x.pcap").write_bytes(b"pcap")
    proc = _run(str(run / "results.json"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0 and proc.stderr == ""
    (copied,) = (tmp_path / "r").rglob("*.pcap")
    assert copied.read_bytes() == b"pcap"
