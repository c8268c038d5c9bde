"""Load and validate a run's results JSON into dataclasses.

Only the keys that identify a result (subject, case, verdict) are required;
evidence is optional key by key, because ERROR results often carry nothing
but hook output. Anything malformed raises `ReportError` with one line that
says where.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERDICTS = ("PASS", "LEAK", "BROKEN", "ERROR")
PACKET_CLASSES = ("tunnel", "link", "inbound", "leak")


class ReportError(Exception):
    """The results file is missing or malformed; the message is one line."""


@dataclass(frozen=True)
class Event:
    t: float
    event: str


@dataclass(frozen=True)
class LeakedPacket:
    t: float
    src: str
    dst: str
    proto: str
    summary: str


@dataclass(frozen=True)
class DnsLeak:
    t: float | None  # None when the resolver's log had no usable time
    resolver: str
    client: str
    name: str
    qtype: str


@dataclass(frozen=True)
class Hook:
    hook: str
    exit: int | None
    output: str


@dataclass(frozen=True)
class Probe:
    t: float | None
    results: Any


@dataclass
class Evidence:
    pcap: Path | None = None
    trigger_at: float | None = None
    events: list[Event] = field(default_factory=list)
    # Packet times by class ("tunnel", "link", "leak", "inbound"): thousands per
    # case, so plain float lists, which is also the shape the timeline bins.
    packets: dict[str, list[float]] = field(default_factory=dict)
    leaked: list[LeakedPacket] = field(default_factory=list)
    dns_leaks: list[DnsLeak] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)


@dataclass
class CaseResult:
    subject: str
    case: str
    verdict: str
    leak_class: str
    subject_summary: str = ""
    title: str = ""
    description: str = ""
    requirement: str = ""
    reason: str = ""
    leaks: int = 0
    duration: float | None = None
    evidence: Evidence = field(default_factory=Evidence)


@dataclass
class Run:
    started: str = ""
    finished: str = ""
    leakcert_version: str = ""
    profile: str = ""
    kernel: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    command: str = ""
    # The suite's order of leak classes (the run says it: reports knows no suite).
    leak_classes: list[str] = field(default_factory=list)


@dataclass
class Report:
    run: Run
    results: list[CaseResult]


def load_report(source: str | Path | dict[str, Any]) -> Report:
    """Read a results file (or an already-parsed dict) into a `Report`.

    Relative pcap paths are resolved against the results file's directory (the
    current directory for a dict).
    """
    if isinstance(source, dict):
        return _parse(source, Path.cwd())
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    try:
        return _parse(data, path.resolve().parent)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None


def _parse(data: Any, base: Path) -> Report:
    if not isinstance(data, dict):
        raise ReportError("top level is not a JSON object")
    run_data = data.get("run") or {}
    if not isinstance(run_data, dict):
        raise ReportError("'run' is not an object")
    results = data.get("results")
    if not isinstance(results, list):
        raise ReportError("'results' is missing or not a list")
    tools = run_data.get("tools") or {}
    classes = run_data.get("leak_classes")
    run = Run(
        started=_str(run_data.get("started")),
        finished=_str(run_data.get("finished")),
        leakcert_version=_str(run_data.get("leakcert_version")),
        profile=_str(run_data.get("profile")),
        kernel=_str(run_data.get("kernel")),
        tools={str(k): _str(v) for k, v in tools.items()} if isinstance(tools, dict) else {},
        command=_str(run_data.get("command")),
        leak_classes=[str(c) for c in classes] if isinstance(classes, list) else [],
    )
    parsed = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(results):
        try:
            result = _result(item, base)
        except ReportError as exc:
            raise ReportError(f"results[{i}]: {exc}") from None
        key = (result.subject, result.case)
        if key in seen:
            raise ReportError(f"results[{i}]: duplicate result for {result.subject} {result.case}")
        seen.add(key)
        parsed.append(result)
    return Report(run=run, results=parsed)


def _result(item: Any, base: Path) -> CaseResult:
    if not isinstance(item, dict):
        raise ReportError("not an object")
    for key in ("subject", "case", "verdict"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise ReportError(f"'{key}' is missing or not a string")
    verdict = item["verdict"]
    if verdict not in VERDICTS:
        raise ReportError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    case = item["case"]
    evidence = item.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise ReportError("'evidence' is not an object")
    return CaseResult(
        subject=item["subject"],
        case=case,
        verdict=verdict,
        # The case id's prefix is its leak class; used when the key is absent.
        leak_class=_str(item.get("leak_class")) or case.split(".")[0],
        subject_summary=_str(item.get("subject_summary")),
        title=_str(item.get("title")),
        description=_str(item.get("description")),
        requirement=_str(item.get("requirement")),
        reason=_str(item.get("reason")),
        leaks=int(_num(item.get("leaks"), "leaks") or 0),
        duration=_num(item.get("duration"), "duration"),
        evidence=_evidence(evidence, base),
    )


def _evidence(ev: dict[str, Any], base: Path) -> Evidence:
    pcap = None
    if isinstance(ev.get("pcap"), str) and ev["pcap"]:
        pcap = Path(ev["pcap"])
        if not pcap.is_absolute():
            pcap = base / pcap
    packets: dict[str, list[float]] = {}
    for p in _list(ev, "packets"):
        t = p.get("t")
        # The hot loop of loading: check the common case inline, not via _num.
        # (t - t is 0.0 for every finite float, NaN for NaN and the infinities.)
        if type(t) is not float or t - t != 0.0:
            t = _num(t, "packets[].t")
            if t is None:
                continue
        cls = p.get("class") or "link"
        times = packets.get(cls)
        if times is None:
            times = packets[cls] = []
        times.append(t)
    return Evidence(
        pcap=pcap,
        trigger_at=_num(ev.get("trigger_at"), "trigger_at"),
        events=[
            Event(_num(e.get("t"), "events[].t") or 0.0, _str(e.get("event")))
            for e in _list(ev, "events")
        ],
        packets=packets,
        leaked=[
            LeakedPacket(
                _num(p.get("t"), "leaked[].t") or 0.0,
                _str(p.get("src")),
                _str(p.get("dst")),
                _str(p.get("proto")),
                _str(p.get("summary")),
            )
            for p in _list(ev, "leaked")
        ],
        dns_leaks=[
            DnsLeak(
                _num(d.get("t"), "dns_leaks[].t"),
                _str(d.get("resolver")),
                _str(d.get("client")),
                _str(d.get("name")),
                _str(d.get("qtype")),
            )
            for d in _list(ev, "dns_leaks")
        ],
        hooks=[
            Hook(
                _str(h.get("hook")),
                int(code) if (code := _num(h.get("exit"), "hooks[].exit")) is not None else None,
                _str(h.get("output")),
            )
            for h in _list(ev, "hooks")
        ],
        probes=[
            Probe(_num(p.get("t"), "probes[].t"), _probe_results(p)) for p in _list(ev, "probes")
        ],
    )


def _probe_results(probe: dict[str, Any]) -> Any:
    """A probe's results, whatever the key: "results", or everything but "t".

    The runner writes {"t", "outcomes": {...}}; a single remaining key is unwrapped.
    """
    if "results" in probe:
        return probe["results"]
    rest = {k: v for k, v in probe.items() if k != "t"}
    if len(rest) == 1:
        return next(iter(rest.values()))
    return rest


def _list(ev: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = ev.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ReportError(f"evidence '{key}' is not a list of objects")
    return value


def _num(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReportError(f"'{what}' is not a number: {value!r}")
    return float(value)


def _str(value: Any) -> str:
    return "" if value is None else str(value)
