"""junit.xml stays well-formed XML 1.0 whatever bytes a hook printed or a reason holds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from reports import render_report

# A colour escape, NUL, ESC alone, vertical tab, form feed, a C1 control, and
# U+FFFE (a noncharacter XML 1.0 forbids too).
DIRTY = "\x1b[31mFAILED\x1b[0m wg0\x00 \x1b x\x0by\x0c\x85z\ufffe"


def _results(tmp_path: Path) -> Path:
    error: dict[str, Any] = {
        "subject": "vendor",
        "case": "crash.client",
        "verdict": "ERROR",
        "reason": f"connect hook exited 1: {DIRTY}",
        "evidence": {"hooks": [{"hook": "connect", "exit": 1, "output": f"line 1\n{DIRTY}"}]},
    }
    leak: dict[str, Any] = {
        "subject": "vendor",
        "case": "crash.sigkill",
        "verdict": "LEAK",
        "reason": DIRTY,
        "leaks": 1,
        "evidence": {
            "leaked": [
                {"t": 1.0, "src": "192.0.2.57", "dst": "203.0.113.10", "proto": "UDP",
                 "summary": f"UDP {DIRTY}"},
            ],
            "dns_leaks": [{"t": 1.1, "resolver": "203.0.113.53", "client": "192.0.2.57",
                           "name": "a\x01b.test", "qtype": "A"}],
        },
    }  # fmt: skip
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"run": {}, "results": [error, leak]}), encoding="utf-8")
    return path


def test_control_characters_leave_junit_parseable(tmp_path):
    out = tmp_path / "report"
    render_report(_results(tmp_path), out)
    root = ET.parse(out / "junit.xml").getroot()  # raises ParseError on a forbidden character
    error = root.find(".//testcase[@name='crash.client']/error")
    failure = root.find(".//testcase[@name='crash.sigkill']/failure")
    assert error is not None and failure is not None
    # Colour sequences go whole; other forbidden characters become U+FFFD, visibly.
    clean = "FAILED wg0\ufffd \ufffd x\ufffdy\ufffd\x85z\ufffd"
    assert error.get("message") == f"ERROR: connect hook exited 1: {clean}"
    assert error.text == f"[connect exit 1]\nline 1\n{clean}"
    assert failure.get("message") == f"LEAK 1: {clean}"
    assert failure.text == f"UDP {clean}\nDNS A a\ufffdb.test -> 203.0.113.53"
