"""The results JSON: read and check it, in one place, for the gate and for reports.
Longer than 400 lines because every field of the format is checked here, once.

Results files are handed around, so nothing in one is trusted: anything
malformed (not JSON, nested too deep, a key of the wrong type, a number out of
range, a string that is not valid Unicode) raises `ResultsError` with one line
that says where. Only the keys that identify a result are required: subject,
case (a case id: letters, digits, `.`, `_`, `-`), verdict and reason. Evidence
is optional key by key: ERROR results often carry nothing but hook output, and
older files lack the newer keys.

Also here: `subject_folder`, the one rule that turns a subject's name into a
folder name, for the runner's pcaps and for reports' pages and pcaps; and
`summary_line`, the one sentence the gate and the report both print.

This module imports nothing from `netns`, so reports can be rebuilt anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERDICTS = ("PASS", "LEAK", "BROKEN", "ERROR")
PACKET_CLASSES = ("tunnel", "link", "inbound", "leak")
EVENT_KINDS = ("boot", "hook", "tunnel-up", "tunnel-down", "trigger", "link", "wait", "settle")

# Far beyond any real figure (a case lasts seconds, counts are thousands), and
# small enough that the timeline's arithmetic stays finite.
LIMIT = 1e9
# Probe outcomes are free-form; rendering walks them recursively.
MAX_DEPTH = 32
FOLDER_NAME_MAX = 64

_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Characters that end or break a line (str.splitlines() splits on some beyond \n).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class ResultsError(Exception):
    """The results file is missing or malformed; the message is one line."""


@dataclass(frozen=True)
class Event:
    t: float
    kind: str  # one of EVENT_KINDS; "" in older files, whose events are only text
    text: str


@dataclass(frozen=True)
class StreamRef:
    """A leaked packet that was one of the traffic stream's."""

    seq: int
    sent_ms: float  # when the stream sent it, from the trigger


@dataclass(frozen=True)
class LeakedPacket:
    t: float
    src: str
    dst: str
    proto: str
    summary: str
    stream: StreamRef | None = None


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
    outcomes: Any


@dataclass(frozen=True)
class Window:
    """When the leak happened, in milliseconds from the trigger."""

    first_ms: float
    last_ms: float
    packets: int
    stream_packets: int
    text: str


@dataclass(frozen=True)
class Stream:
    """The continuous traffic stream the client sent through the case."""

    sent: int
    rate: float
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """One command the lab ran."""

    t: float
    host: str
    command: str
    exit: int | None


@dataclass
class Evidence:
    pcap: str | None = None  # as recorded: relative paths are from the results' folder
    trigger_at: float | None = None
    events: list[Event] = field(default_factory=list)
    # Packet times by class ("tunnel", "link", "leak", "inbound"): thousands per
    # case, so plain float lists, which is also the shape the timeline bins.
    packets: dict[str, list[float]] = field(default_factory=dict)
    # Frames per class over the whole case. The runner thins `packets` (a
    # stream sends 1,200 a second), so totals come from here; older files have none.
    counts: dict[str, int] = field(default_factory=dict)
    leaked: list[LeakedPacket] = field(default_factory=list)
    dns_leaks: list[DnsLeak] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    window: Window | None = None
    stream: Stream | None = None
    settle: float | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    transcript: list[Command] = field(default_factory=list)


@dataclass
class CaseResult:
    subject: str
    case: str
    verdict: str
    leak_class: str
    reason: str = ""
    subject_summary: str = ""
    title: str = ""
    description: str = ""
    limitations: str = ""
    requirement: str = ""
    leaks: int = 0  # leaked_packets + dns_leaks
    leaked_packets: int | None = None
    dns_leaks: int | None = None
    duration: float | None = None
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True)
class SubjectInfo:
    """What the run knew of a subject it certified: its words, its kind, its hashes."""

    summary: str
    vpn: str
    folder_sha256: str  # its folder (`subject.folder_digest`)
    sha256: str = ""  # its folder and those it includes (`subject.subject_digest`)


@dataclass
class Run:
    started: str = ""
    finished: str = ""
    leakcert_version: str = ""
    profile: str = ""
    kernel: str = ""
    # Where the client ran: the lab's namespaces, or a guest OS (`vms/`).
    platform: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    command: str = ""
    # The suite's order of leak classes (the run says it: reports knows no suite).
    leak_classes: list[str] = field(default_factory=list)
    # The case ids the run selected of its profile, and its subjects by name (newer files).
    cases: list[str] = field(default_factory=list)
    subjects: dict[str, SubjectInfo] = field(default_factory=dict)
    # What each leak class holds, in one line (the report's legend).
    leak_class_meanings: dict[str, str] = field(default_factory=dict)


@dataclass
class Results:
    run: Run
    results: list[CaseResult]
    folder: Path  # the results file's folder, resolved: where relative pcaps are


def load_results(source: str | Path | dict[str, Any]) -> Results:
    """Read and check a results file (or an already-parsed dict: see `parse_results`)."""
    if isinstance(source, dict):
        return parse_results(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ResultsError(f"{path}: not valid JSON: nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise ResultsError(f"{path}: not valid JSON: {exc}") from None
    try:
        return parse_results(data, path.resolve().parent)
    except ResultsError as exc:
        raise ResultsError(f"{path}: {exc}") from None


def parse_results(data: Any, folder: Path | None = None) -> Results:
    """Check parsed JSON (any value); relative pcaps are from `folder` (default: the cwd)."""
    return _parse(data, (folder or Path.cwd()).resolve())


def subject_folder(name: str) -> str:
    """A folder name for a subject: readable, safe as one path part, unique per name.

    The name cleaned to [A-Za-z0-9._-] (never empty, never starting with a dot)
    plus 8 hex digits of its SHA-256, so "vendor a" and "vendor_a" differ.
    """
    clean = _UNSAFE.sub("_", name)[:FOLDER_NAME_MAX].lstrip(".") or "_"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{clean}-{digest[:8]}"


def summary_line(subject: str, results: list[CaseResult], leak_classes: Iterable[str] = ()) -> str:
    """One quotable line: cases passed, leak classes failed, cases not judged.

    A class fails on a LEAK or a BROKEN; classes are in `leak_classes`' order
    (the run's), then in the order they appear.
    """
    passed = sum(r.verdict == "PASS" for r in results)
    order = list(dict.fromkeys([*leak_classes, *(r.leak_class for r in results)]))
    failing = {r.leak_class for r in results if r.verdict in ("LEAK", "BROKEN")}
    failed = [cls for cls in order if cls in failing]
    line = (
        f"{subject}: {passed} of {len(results)} cases passed; "
        f"leak classes failed: {', '.join(failed) or 'none'}"
    )
    errors = [r.case for r in results if r.verdict == "ERROR"]
    if errors:
        line += f"; could not judge: {', '.join(errors)}"
    return line


def _parse(data: Any, folder: Path) -> Results:
    if not isinstance(data, dict):
        raise ResultsError("top level is not a JSON object")
    run = _obj(data.get("run"), "'run'")
    results = data.get("results")
    if not isinstance(results, list):
        raise ResultsError("'results' is missing or not a list")
    tools = _obj(run.get("tools"), "'run.tools'")
    subjects = _obj(run.get("subjects"), "'run.subjects'")
    meanings = _obj(run.get("leak_class_meanings"), "'run.leak_class_meanings'")
    parsed = []
    for i, item in enumerate(results):
        try:
            parsed.append(_result(item))
        except ResultsError as exc:
            raise ResultsError(f"results[{i}]: {exc}") from None
    return Results(
        run=Run(
            started=_str(run.get("started"), "run.started"),
            finished=_str(run.get("finished"), "run.finished"),
            leakcert_version=_str(run.get("leakcert_version"), "run.leakcert_version"),
            profile=_str(run.get("profile"), "run.profile"),
            kernel=_str(run.get("kernel"), "run.kernel"),
            platform=_str(run.get("platform"), "run.platform"),
            tools={_str(k, "run.tools"): _str(v, "run.tools") for k, v in tools.items()},
            command=_str(run.get("command"), "run.command"),
            leak_classes=_strings(run.get("leak_classes"), "run.leak_classes"),
            cases=_strings(run.get("cases"), "run.cases"),
            subjects={
                _str(name, "run.subjects"): _subject_info(info) for name, info in subjects.items()
            },
            leak_class_meanings={
                _str(k, "run.leak_class_meanings"): _str(v, "run.leak_class_meanings")
                for k, v in meanings.items()
            },
        ),
        results=parsed,
        folder=folder,
    )


def _subject_info(value: Any) -> SubjectInfo:
    info = _obj(value, "'run.subjects[]'")
    digests = {}
    for key in ("folder_sha256", "sha256"):
        # `sha256` is newer: a results file from before it has none.
        digest = _str(info.get(key), f"run.subjects[].{key}")
        if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ResultsError(f"'run.subjects[].{key}' is not a SHA-256 in hex")
        digests[key] = digest
    return SubjectInfo(
        _str(info.get("summary"), "run.subjects[].summary"),
        _str(info.get("vpn"), "run.subjects[].vpn"),
        **digests,
    )


def _result(item: Any) -> CaseResult:
    if not isinstance(item, dict):
        raise ResultsError("not an object")
    subject = item.get("subject")
    if not isinstance(subject, str) or not subject or _CONTROL.search(subject):
        raise ResultsError("'subject' is missing, not a string, or has control characters")
    _str(subject, "subject")
    case = item.get("case")
    if not isinstance(case, str) or not _CASE_ID.fullmatch(case):
        raise ResultsError(f"'case' is missing or not a case id: {_show(case)}")
    verdict = item.get("verdict")
    if verdict not in VERDICTS:
        raise ResultsError(f"verdict {_show(verdict)} is not one of {', '.join(VERDICTS)}")
    if not isinstance(item.get("reason"), str):
        raise ResultsError("'reason' is missing or not a string")
    return CaseResult(
        subject=subject,
        case=case,
        verdict=verdict,
        # The case id's prefix is its leak class; used when the key is absent.
        leak_class=_str(item.get("leak_class"), "leak_class") or case.split(".")[0],
        reason=_str(item["reason"], "reason"),
        subject_summary=_str(item.get("subject_summary"), "subject_summary"),
        title=_str(item.get("title"), "title"),
        description=_str(item.get("description"), "description"),
        limitations=_str(item.get("limitations"), "limitations"),
        requirement=_str(item.get("requirement"), "requirement"),
        leaks=_int(item.get("leaks"), "leaks") or 0,
        leaked_packets=_int(item.get("leaked_packets"), "leaked_packets"),
        dns_leaks=_int(item.get("dns_leaks"), "dns_leaks"),
        duration=_num(item.get("duration"), "duration"),
        evidence=_evidence(_obj(item.get("evidence"), "'evidence'")),
    )


def _evidence(ev: dict[str, Any]) -> Evidence:
    pcap = _str(ev.get("pcap"), "evidence.pcap") or None
    if pcap and _CONTROL.search(pcap):
        raise ResultsError("'evidence.pcap' has control characters")
    window = _obj(ev.get("window"), "'evidence.window'")
    stream = _obj(ev.get("stream"), "'evidence.stream'")
    sysctls = _obj(ev.get("sysctls"), "'evidence.sysctls'")
    counts = _obj(ev.get("counts"), "'evidence.counts'")
    return Evidence(
        pcap=pcap,
        trigger_at=_num(ev.get("trigger_at"), "trigger_at"),
        events=[_event(e) for e in _objects(ev, "events")],
        packets=_packets(_objects(ev, "packets")),
        counts={_str(k, "counts"): _int(v, "counts") or 0 for k, v in counts.items()},
        leaked=[
            LeakedPacket(
                _time(p.get("t"), "leaked[].t"),
                _str(p.get("src"), "leaked[].src"),
                _str(p.get("dst"), "leaked[].dst"),
                _str(p.get("proto"), "leaked[].proto"),
                _str(p.get("summary"), "leaked[].summary"),
                _stream_ref(p.get("stream")),
            )
            for p in _objects(ev, "leaked")
        ],
        dns_leaks=[
            DnsLeak(
                _num(d.get("t"), "dns_leaks[].t"),
                _str(d.get("resolver"), "dns_leaks[].resolver"),
                _str(d.get("client"), "dns_leaks[].client"),
                _str(d.get("name"), "dns_leaks[].name"),
                _str(d.get("qtype"), "dns_leaks[].qtype"),
            )
            for d in _objects(ev, "dns_leaks")
        ],
        hooks=[
            Hook(
                _str(h.get("hook"), "hooks[].hook"),
                _int(h.get("exit"), "hooks[].exit", -LIMIT),
                _str(h.get("output"), "hooks[].output"),
            )
            for h in _objects(ev, "hooks")
        ],
        probes=[
            Probe(_num(p.get("t"), "probes[].t"), _free(_probe_outcomes(p), "probes[]"))
            for p in _objects(ev, "probes")
        ],
        window=Window(
            _time(window.get("first_ms"), "window.first_ms"),
            _time(window.get("last_ms"), "window.last_ms"),
            _int(window.get("packets"), "window.packets") or 0,
            _int(window.get("stream_packets"), "window.stream_packets") or 0,
            _str(window.get("text"), "window.text"),
        )
        if window
        else None,
        stream=Stream(
            _int(stream.get("sent"), "stream.sent") or 0,
            _num(stream.get("rate"), "stream.rate") or 0.0,
            tuple(_strings(stream.get("destinations"), "stream.destinations")),
        )
        if stream
        else None,
        settle=_num(ev.get("settle"), "settle"),
        sysctls={_str(k, "sysctls"): _scalar(v, "sysctls") for k, v in sysctls.items()},
        transcript=[
            Command(
                _time(c.get("t"), "transcript[].t"),
                _str(c.get("host"), "transcript[].host"),
                _str(c.get("command"), "transcript[].command"),
                _int(c.get("exit"), "transcript[].exit", -LIMIT),
            )
            for c in _objects(ev, "transcript")
        ],
    )


def _event(e: dict[str, Any]) -> Event:
    t = _time(e.get("t"), "events[].t")
    if "kind" in e:
        kind = _str(e["kind"], "events[].kind")
        if not kind:
            raise ResultsError("'events[].kind' is empty")
        return Event(t, kind, _str(e.get("text"), "events[].text"))
    # Older files: {"t", "event"}, free text that says nothing reliable about the tunnel.
    return Event(t, "", _str(e.get("event"), "events[].event"))


def _packets(items: list[dict[str, Any]]) -> dict[str, list[float]]:
    # The hot loop of loading (thousands of packets per case): the common case
    # is checked inline, and a class is checked once, when first seen.
    packets: dict[str, list[float]] = {}
    for p in items:
        t = p.get("t")
        if type(t) is not float or not -LIMIT <= t <= LIMIT:  # a NaN fails it too
            t = _num(t, "packets[].t")
            if t is None:
                continue
        cls = p.get("class")
        try:
            packets[cls].append(t)
        except (KeyError, TypeError):  # a new class, or not a string at all
            name = _str(cls, "packets[].class") or "link"
            packets.setdefault(name, []).append(t)
    return packets


def _stream_ref(value: Any) -> StreamRef | None:
    ref = _obj(value, "'leaked[].stream'")
    if not ref:
        return None
    seq = _int(ref.get("seq"), "leaked[].stream.seq")
    if seq is None:
        raise ResultsError("'leaked[].stream.seq' is missing")
    return StreamRef(seq, _time(ref.get("sent_ms"), "leaked[].stream.sent_ms"))


def _probe_outcomes(probe: dict[str, Any]) -> Any:
    """A probe's results, whatever the key: "results", or everything but "t".

    The runner writes {"t", "outcomes": {...}}; a single remaining key is unwrapped.
    """
    if "results" in probe:
        return probe["results"]
    rest = {k: v for k, v in probe.items() if k != "t"}
    if len(rest) == 1:
        return next(iter(rest.values()))
    return rest


def _free(value: Any, what: str) -> Any:
    """Free-form JSON, checked without recursion: bounded depth, valid Unicode."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            _str(v, what)
        elif isinstance(v, dict | list):
            if depth >= MAX_DEPTH:
                raise ResultsError(f"'{what}' is nested more than {MAX_DEPTH} deep")
            children = [*v.keys(), *v.values()] if isinstance(v, dict) else v
            stack += [(c, depth + 1) for c in children]
        elif v is not None and not isinstance(v, int | float):
            raise ResultsError(f"'{what}' holds a {type(v).__name__}, not JSON")
    return value


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ResultsError(f"{what} is not an object")
    return value


def _objects(ev: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = ev.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ResultsError(f"evidence '{key}' is not a list of objects")
    return value


def _num(value: Any, what: str) -> float | None:
    if value is None:
        return None
    # `not -LIMIT <= value <= LIMIT` also catches NaN and the infinities.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not -LIMIT <= value <= LIMIT
    ):
        raise ResultsError(f"'{what}' is not a number (or out of range): {_show(value)}")
    return float(value)


def _time(value: Any, what: str) -> float:
    t = _num(value, what)
    if t is None:
        raise ResultsError(f"'{what}' is missing")
    return t


def _int(value: Any, what: str, low: float = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= LIMIT:
        raise ResultsError(f"'{what}' is not a count (or out of range): {_show(value)}")
    return value


def _str(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ResultsError(f"'{what}' is not a string: {type(value).__name__}")
    # JSON's \ud800 escapes decode to lone surrogates, which no page can be written with.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ResultsError(f"'{what}' is not valid Unicode") from None
    return value


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResultsError(f"'{what}' is not a list of strings")
    return [_str(v, what) for v in value]


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ResultsError(f"'{what}' is not a string or a number")
    return _str(value, what) if isinstance(value, str) else str(value)


def _show(value: Any) -> str:
    """A value for an error message: its repr, on one line and short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
