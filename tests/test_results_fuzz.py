"""Untrusted results files: whatever JSON arrives, the reader, the gate and
reports answer with results, a verdict or a report, or one line and exit 2,
never a traceback and never a PASS for malformed input."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import gate
from conformance.results import ResultsError, parse_results
from reports import __main__ as reports_main

# A valid run with one result in each shape (the runner's newer evidence, and
# an older file's), for the mutations to start from.
VALID: dict[str, Any] = {
    "run": {"profile": "seed", "leak_classes": ["crash"], "tools": {"nft": "1.0.6"}},
    "results": [
        {
            "subject": "vendor a",
            "case": "crash.sigkill",
            "verdict": "LEAK",
            "reason": "2 packets outside the tunnel",
            "limitations": "none known",
            "leaks": 2,
            "leaked_packets": 2,
            "dns_leaks": 0,
            "duration": 3.0,
            "evidence": {
                "pcap": "pcaps/missing.pcap",
                "trigger_at": 1.0,
                "events": [
                    {"t": 0.5, "kind": "tunnel-up", "text": "up"},
                    {"t": 1.0, "kind": "trigger", "text": "kill"},
                ],
                "packets": [{"t": 0.6, "class": "tunnel"}, {"t": 1.1, "class": "leak"}],
                "leaked": [
                    {"t": 1.1, "src": "a", "dst": "b", "proto": "UDP", "summary": "s",
                     "stream": {"seq": 3, "sent_ms": 99.0}},
                ],
                "dns_leaks": [{"t": None, "resolver": "r", "client": "c", "name": "n",
                               "qtype": "A"}],
                "hooks": [{"hook": "connect", "exit": 0, "output": "ok"}],
                "probes": [{"t": 1.2, "outcomes": {"http": {"ok": False, "detail": "x"}}}],
                "window": {"first_ms": 100.0, "last_ms": 100.0, "packets": 1,
                           "stream_packets": 1, "text": "leaked 1 packet at +100 ms"},
                "stream": {"sent": 10, "rate": 100.0, "destinations": ["b"]},
                "settle": 1.5,
                "sysctls": {"net.ipv4.ip_forward": "0"},
                "transcript": [{"t": 0.1, "host": "client", "command": "ip", "exit": 0}],
            },
        },
        {
            "subject": "vendor_a",
            "case": "crash.sigkill",
            "verdict": "PASS",
            "reason": "no leak",
            "evidence": {"events": [{"t": 0.0, "event": "boot"}], "trigger_at": 0.5},
        },
    ],
}  # fmt: skip

KEYS = sorted(
    {"run", "results", "subject", "case", "verdict", "reason", "evidence", "t", "kind", "text"}
    | set(VALID["results"][0]["evidence"])
)
# Values that mean something here; a lone surrogate and a line break, which
# st.text() seldom or never makes.
TRICKY = st.sampled_from(
    ["PASS", "LEAK", "crash.sigkill", "seed", "../x", "/proc/1/environ", "\ud800", "a\u2028b"]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | TRICKY
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """The valid run with a few nodes dropped or given another JSON value."""
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        node: Any = data
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            # Mostly deeper: the evidence is where the shapes are.
            if isinstance(child, dict | list) and child and draw(st.integers(0, 5)):
                node = child
                continue
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(TRICKY | JSON)
            break
    return data


def _judge_reader(data: Any) -> None:
    try:
        parse_results(data)
    except ResultsError as exc:
        assert len(str(exc).splitlines()) == 1


def _run(main: Any, argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


def _judge_commands(text: str) -> None:
    """The gate and reports on the file `text`: a verdict, a report, or one line and 2."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(text, encoding="utf-8")

        status, err = _run(gate.main, [str(path), "--must-pass", "vendor a"])
        assert status in (0, 1, 2)
        if status == 2:
            assert len(err.splitlines()) == 1 and err.startswith("gate: ")

        out = Path(tmp) / "report"
        status, err = _run(reports_main.main, [str(path), "--out", str(out), "--jobs", "1"])
        assert status in (0, 2)
        if status == 2:
            assert len(err.splitlines()) == 1 and err.startswith("reports: ")
        else:
            assert (out / "index.html").is_file()
            assert all(line.startswith("reports: refused pcap ") for line in err.splitlines())


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(JSON)
def test_any_json_value(data: Any) -> None:
    _judge_reader(data)
    _judge_commands(json.dumps(data))


@settings(FUZZ, max_examples=300)
@given(mutated())
def test_a_valid_run_mutated(data: Any) -> None:
    _judge_reader(data)
    _judge_commands(json.dumps(data))


def test_the_valid_run_is_valid() -> None:
    # Else the mutations above start from an error and prove little.
    assert len(parse_results(VALID).results) == 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.json"
        path.write_text(json.dumps(VALID))
        assert _run(gate.main, [str(path), "--must-pass", "vendor a"])[0] == 1  # it leaked
        assert _run(reports_main.main, [str(path), "--out", f"{tmp}/r"]) == (0, "")


def test_deep_nesting() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _judge_commands(deep)
    # Deep inside a valid run: too deep for json, or stopped by the reader's depth bound.
    for depth in (100_000, 500):
        probe = '{"t": 1, "results": ' + "[" * depth + "]" * depth + "}"
        text = json.dumps(VALID).replace('"probes": [', '"probes": [' + probe + ", ", 1)
        _judge_commands(text)
    with pytest.raises(ResultsError, match="nested more than"):
        parse_results(json.loads(text))
