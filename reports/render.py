"""Render a loaded report to static HTML, junit.xml and copied pcaps.

All markup lives in Jinja2 templates (autoescaped); this module only decides
what goes on each page and computes the timeline's coordinates as numbers.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from reports.model import (
    PACKET_CLASSES,
    VERDICTS,
    CaseResult,
    Report,
    ReportError,
    load_report,
)

LEAKED_ROWS_CAP = 500
BINS = 100

# Timeline geometry, in SVG user units.
SVG_W = 960
PLOT_H = 180
PLOT_L, PLOT_R = 56, 16
PLOT_B = 70
LABEL_ROW_H = 14
LABEL_ROWS = 4
CHAR_W = 6.2  # rough width of one 11px label character, to stop labels overlapping

_PLOT_W = SVG_W - PLOT_L - PLOT_R
_COL_W = _PLOT_W / BINS
# The bins' x positions and width are the same on every page: format them once.
# Each bar is the path "M x y h w v h h -w z".
_BAR_MOVE = [f"M{PLOT_L + i * _COL_W:.2f} " for i in range(BINS)]
_BAR_ACROSS = f"h{_COL_W:.2f}v"
_BAR_BACK = f"h-{_COL_W:.2f}z"

# Event names (free text from the runner, e.g. "VPN client crashes", "tunnel
# interface deleted") that say the tunnel went down, matched as substrings.
# "connected" (but not "disconnected") says it came up. Network events such as
# "Wi-Fi lost" or "link up" say nothing about the tunnel and change nothing.
_DOWN_WORDS = (
    "disconnect",
    "crash",
    "kill",
    "deleted",
    "removed",
    "tunnel down",
    "tunnel_down",
    "stops answering",
    "unreachable",
    "sleep",
    "reboot",
)


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    cls: str
    count: int
    start: float


@dataclass
class Layer:
    """All of one packet class's bars as one SVG path.

    A page has hundreds of bars; one <rect> each made rendering four times
    slower (see benchmarks/report_bench.py), so the bars of the busy classes
    are merged into path data. Leak bars stay separate rects with a tooltip.
    """

    cls: str
    path: str
    bars: int


@dataclass
class Marker:
    x: float
    label: str
    label_y: float  # the label's baseline; the line starts just below it
    t: float
    trigger: bool = False
    anchor: str = "start"

    @property
    def text_x(self) -> float:
        return round(self.x + (2 if self.anchor == "start" else -2), 1)

    @property
    def line_top(self) -> float:
        return round(self.label_y + 3, 1)


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Timeline:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    span: float
    bin_width: float
    layers: list[Layer]
    leak_bars: list[Bar]
    markers: list[Marker]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    tunnel_up: list[tuple[float, float]]
    counts: dict[str, int]
    description: str


def render_report(
    results: str | Path | dict[str, Any] | Report, out_dir: str | Path, jobs: int = 1
) -> Path:
    """Write the report for `results` into `out_dir`; return the index.html path.

    `jobs` > 1 renders the case pages in that many forked processes. Forking is
    only safe in a process without threads, so it is opt-in (the CLI uses it).
    """
    report = results if isinstance(results, Report) else load_report(results)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _write(report, out, jobs)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc}") from None


_WRITERS = 4

# Below this many results the cost of starting workers outweighs the gain.
_PARALLEL_MIN = 200

# The report being rendered, set before forking so workers inherit it
# instead of receiving it pickled.
_shared: tuple[Report, Path] | None = None


def _write(report: Report, out: Path, jobs: int) -> Path:
    global _shared
    env = _environment()
    (out / "style.css").write_bytes(
        resources.files("reports").joinpath("static", "style.css").read_bytes()
    )
    columns = _columns(report.results, report.run.leak_classes)
    subjects = list(dict.fromkeys(r.subject for r in report.results))
    by_key = {(r.subject, r.case): r for r in report.results}

    n = len(report.results)
    if jobs > 1 and n >= _PARALLEL_MIN and "fork" in mp.get_all_start_methods():
        _shared = (report, out)
        try:
            chunks = [range(i, n, jobs * 4) for i in range(jobs * 4)]
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                # result() re-raises a worker's OSError here, for render_report to report.
                for future in [pool.submit(_write_cases, chunk) for chunk in chunks]:
                    future.result()
        finally:
            _shared = None
    else:
        _write_pages(report, out, range(n))

    rows = []
    for subject in subjects:
        results = [by_key[(subject, c.case)] for c in columns if (subject, c.case) in by_key]
        rows.append(
            {
                "subject": subject,
                "summary_text": next((r.subject_summary for r in results if r.subject_summary), ""),
                "line": summary_line(subject, results),
                "cells": [by_key.get((subject, c.case)) for c in columns],
            }
        )
    groups = [
        (cls, sum(1 for c in columns if c.leak_class == cls))
        for cls in dict.fromkeys(c.leak_class for c in columns)
    ]
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(
            run=report.run,
            columns=columns,
            groups=groups,
            rows=rows,
            total=len(report.results),
            counts={v: sum(r.verdict == v for r in report.results) for v in VERDICTS},
        ),
        encoding="utf-8",
    )
    junit_tree(report).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    return index


def _write_cases(indices: range) -> None:
    assert _shared is not None
    _write_pages(*_shared, indices)


def _write_pages(report: Report, out: Path, indices: range) -> None:
    """Write the case pages (and pcaps) of the results at `indices`."""
    case_tpl = _environment().get_template("case.html.j2")
    made_dirs: set[Path] = set()
    # Creating thousands of files is slow on a busy disk and releases the GIL,
    # so threads write while this thread renders the next page.
    with ThreadPoolExecutor(_WRITERS) as writers:
        pending = []
        for i in indices:
            result = report.results[i]
            page = out / case_path(result)
            if page.parent not in made_dirs:
                page.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(page.parent)
            pcap_href = _copy_pcap(result, out, made_dirs)
            html = case_tpl.render(**_case_context(result, pcap_href))
            pending.append(writers.submit(page.write_text, html, encoding="utf-8"))
        for future in pending:
            future.result()  # re-raise the first write error


@cache
def _environment() -> jinja2.Environment:
    # Cached so templates are compiled once per process, not once per report.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2", "svg"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["verdict_text"] = verdict_text
    env.filters["case_href"] = lambda r: case_path(r).as_posix()
    env.filters["secs"] = _fmt_secs
    return env


@dataclass(frozen=True)
class Column:
    case: str
    leak_class: str
    title: str


def _columns(results: list[CaseResult], leak_classes: list[str]) -> list[Column]:
    """One column per case, grouped by leak class in the suite's order (the run's)."""
    seen: dict[str, Column] = {}
    for r in results:
        if r.case not in seen or (r.title and not seen[r.case].title):
            seen[r.case] = Column(r.case, r.leak_class, r.title)
    # Classes the run does not list follow, in the order they first appear.
    order = {cls: i for i, cls in enumerate(leak_classes)}
    for column in seen.values():
        order.setdefault(column.leak_class, len(order))
    first = {case: i for i, case in enumerate(seen)}
    return sorted(seen.values(), key=lambda c: (order[c.leak_class], first[c.case]))


def verdict_text(result: CaseResult) -> str:
    """The verdict as text a cell shows: colour is never the only signal."""
    return f"LEAK {result.leaks}" if result.verdict == "LEAK" else result.verdict


def summary_line(subject: str, results: list[CaseResult]) -> str:
    """One quotable line: cases passed and the leak classes failed."""
    passed = sum(r.verdict == "PASS" for r in results)
    failed = [
        cls
        for cls in dict.fromkeys(r.leak_class for r in results)
        if any(r.leak_class == cls and r.verdict in ("LEAK", "BROKEN") for r in results)
    ]
    line = (
        f"{subject}: {passed} of {len(results)} cases passed; "
        f"leak classes failed: {', '.join(failed) or 'none'}"
    )
    errors = [r.case for r in results if r.verdict == "ERROR"]
    if errors:
        line += f"; could not judge: {', '.join(errors)}"
    return line


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(name: str) -> str:
    # Subject and case names become path parts; never let them climb out.
    return _UNSAFE.sub("_", name).strip(".") or "_"


def case_path(result: CaseResult) -> Path:
    """The case page's path relative to the report root."""
    return Path("cases", _slug(result.subject), f"{_slug(result.case)}.html")


def _copy_pcap(result: CaseResult, out: Path, made_dirs: set[Path]) -> str | None:
    src = result.evidence.pcap
    if src is None or not src.is_file():
        return None
    dest = out / "pcaps" / _slug(result.subject) / f"{_slug(result.case)}.pcap"
    if dest.parent not in made_dirs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        made_dirs.add(dest.parent)
    shutil.copyfile(src, dest)
    return f"../../pcaps/{_slug(result.subject)}/{_slug(result.case)}.pcap"


def _case_context(result: CaseResult, pcap_href: str | None) -> dict[str, Any]:
    ev = result.evidence
    origin = ev.trigger_at if ev.trigger_at is not None else 0.0
    leaked = sorted(ev.leaked, key=lambda p: p.t)
    return {
        "r": result,
        "root": "../../",
        "timeline": timeline(result),
        "origin_is_trigger": ev.trigger_at is not None,
        "leaked_rows": [(p.t - origin, p) for p in leaked[:LEAKED_ROWS_CAP]],
        "leaked_more": max(0, len(leaked) - LEAKED_ROWS_CAP),
        # DNS leaks without a time sort last and show no time.
        "dns_rows": [
            (None if d.t is None else d.t - origin, d)
            for d in sorted(ev.dns_leaks, key=lambda d: math.inf if d.t is None else d.t)
        ],
        "pcap_href": pcap_href,
        "pcap_missing": ev.pcap is not None and pcap_href is None,
        "probes": _probe_table(result),
    }


@dataclass
class ProbeTable:
    columns: list[str]  # after "Time (s)" and "Probe"
    rows: list[tuple[str, str, list[str]]]  # (time, probe, one value per column)


def _probe_table(result: CaseResult) -> ProbeTable | None:
    """Free-form probe results as a table.

    {name: {field: value}} (the runner's outcomes) gets one column per field;
    any other shape gets a single "Result" column with the value flattened.
    """
    probes = result.evidence.probes
    if not probes:
        return None
    records = all(
        isinstance(p.results, dict) and all(isinstance(v, dict) for v in p.results.values())
        for p in probes
    )
    if records:
        fields = list(
            dict.fromkeys(f for p in probes for outcome in p.results.values() for f in outcome)
        )
        table = ProbeTable(fields, [])
        for p in probes:
            t = "" if p.t is None else _fmt_secs(p.t)
            for name, outcome in p.results.items():
                table.rows.append((t, str(name), [_fmt_value(outcome.get(f)) for f in fields]))
        return table
    table = ProbeTable(["Result"], [])
    for p in probes:
        t = "" if p.t is None else _fmt_secs(p.t)
        res = p.results
        if isinstance(res, dict):
            table.rows.extend((t, str(k), [_fmt_value(v)]) for k, v in res.items())
        elif isinstance(res, list):
            table.rows.extend((t, str(i), [_fmt_value(v)]) for i, v in enumerate(res))
        else:
            table.rows.append((t, "", [_fmt_value(res)]))
    return table


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_fmt_value(v) for v in value)
    return "" if value is None else str(value)


def _fmt_num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _fmt_secs(value: float) -> str:
    return f"{value:.3f}"


def timeline(result: CaseResult) -> Timeline | None:
    """Stacked per-class packet counts in time bins, plus event and trigger markers.

    Returns None when there is nothing to draw (no packets and no events).
    """
    ev = result.evidence
    if not ev.packets and not ev.events and ev.trigger_at is None:
        return None
    span = max(
        [result.duration or 0.0, ev.trigger_at or 0.0]
        + [max(times) for times in ev.packets.values() if times]
        + [e.t for e in ev.events]
    )
    # Round the axis up to a whole tick step, not a whole decade: 3.4 s -> 3.5 s, not 5 s.
    span = span if span > 0 else 1.0
    step = _nice_ceiling(span / 6)
    span = math.ceil(span / step - 1e-9) * step
    plot_w = _PLOT_W
    plot_h = PLOT_H
    bin_w = span / BINS

    classes = [c for c in PACKET_CLASSES if ev.packets.get(c)]
    classes += sorted(c for c, times in ev.packets.items() if times and c not in classes)
    grid = {}
    counts = {}
    per_bin = BINS / span
    last = BINS - 1
    for cls in classes:
        # map/Counter keep the per-packet loop in C: thousands of packets per case.
        binned = Counter(map(int, map(per_bin.__mul__, ev.packets[cls])))
        row = [binned.get(i, 0) for i in range(BINS)]
        for i, n in binned.items():
            # Times outside the axis (clock skew, late packets) land in the edge bins.
            if i < 0:
                row[0] += n
            elif i > last:
                row[last] += n
        grid[cls] = row
        counts[cls] = len(ev.packets[cls])
    totals = [sum(col) for col in zip(*grid.values(), strict=True)] if grid else [0]
    y_max = _nice_ceiling(max(totals, default=0) or 1)

    sx = plot_w / span
    sy = plot_h / y_max
    # Event labels sit in rows above the plot; the plot starts below the last used row.
    markers, label_rows = _markers(result, sx)
    top = 12 + label_rows * LABEL_ROW_H
    for m in markers:
        m.label_y = round(m.label_y + top, 1)
    bottom = top + plot_h
    col_w = _COL_W
    layers = []
    leak_bars = []
    # Bars stack upwards in class order: `base` is each bin's current top, in SVG y.
    base = [float(bottom)] * BINS
    for cls in classes:
        row = grid[cls]
        parts = []
        for i, n in enumerate(row):
            if not n:
                continue
            h = n * sy
            y = base[i] - h
            base[i] = y
            if cls == "leak":
                # Rounded here so the template prints numbers without formatting them.
                x = round(PLOT_L + i * col_w, 2)
                leak_bars.append(
                    Bar(x, round(y, 2), round(col_w, 2), round(h, 2), cls, n, i * bin_w)
                )
            else:
                # SVG path data (numbers only): a closed rectangle per bin.
                parts.append(f"{_BAR_MOVE[i]}{y:.2f}{_BAR_ACROSS}{h:.2f}{_BAR_BACK}")
        if parts:
            layers.append(Layer(cls, "".join(parts), len(parts)))

    return Timeline(
        width=SVG_W,
        height=bottom + PLOT_B,
        plot_left=PLOT_L,
        plot_right=PLOT_L + plot_w,
        plot_top=top,
        plot_bottom=bottom,
        span=span,
        bin_width=bin_w,
        layers=layers,
        leak_bars=leak_bars,
        markers=markers,
        x_ticks=[Tick(round(PLOT_L + v * sx, 1), _fmt_num(v)) for v in _ticks(span, step)],
        y_ticks=[Tick(round(bottom - v * sy, 1), _fmt_num(v)) for v in _ticks(y_max)],
        tunnel_up=[
            (round(PLOT_L + a * sx, 1), round((b - a) * sx, 1)) for a, b in _tunnel_up(result, span)
        ],
        counts=counts,
        description=_describe(result, counts, len(markers)),
    )


def _markers(result: CaseResult, sx: float) -> tuple[list[Marker], int]:
    """Markers for the events and the trigger, and how many label rows they use.

    Label y positions are relative to the plot's top edge (negative: above it).
    """
    ev = result.evidence
    items = [(e.t, e.event or "event", False) for e in ev.events]
    if ev.trigger_at is not None:
        items.append((ev.trigger_at, "trigger", True))
    items.sort(key=lambda m: m[0])
    # Greedy label rows: each label goes on the first row whose last label ends left of it.
    row_end = [-math.inf] * LABEL_ROWS
    right_edge = SVG_W - PLOT_R
    markers = []
    used = 0
    for t, label, trigger in items:
        x = PLOT_L + t * sx
        width = len(label) * CHAR_W + 4
        anchor = "end" if x + width > right_edge else "start"
        left = x - width if anchor == "end" else x
        row = next((i for i, end in enumerate(row_end) if end < left), None)
        if row is None:
            row = min(range(LABEL_ROWS), key=lambda i: row_end[i])
        row_end[row] = x if anchor == "end" else x + width
        used = max(used, row + 1)
        markers.append(Marker(round(x, 1), label, -8 - row * LABEL_ROW_H, t, trigger, anchor))
    return markers, used


def _tunnel_up(result: CaseResult, span: float) -> list[tuple[float, float]]:
    """Intervals in which the events say the tunnel was up."""
    intervals = []
    up_since: float | None = None
    for e in sorted(result.evidence.events, key=lambda e: e.t):
        name = e.event.lower()
        is_down = any(w in name for w in _DOWN_WORDS)
        is_up = not is_down and "connected" in name
        if is_up and up_since is None:
            up_since = e.t
        elif is_down and up_since is not None:
            intervals.append((up_since, e.t))
            up_since = None
    if up_since is not None:
        intervals.append((up_since, span))
    return intervals


def _describe(result: CaseResult, counts: dict[str, int], n_markers: int) -> str:
    parts = ", ".join(f"{n} {cls}" for cls, n in counts.items()) or "no"
    trig = result.evidence.trigger_at
    when = f"; trigger at {trig:.3f} s" if trig is not None else ""
    return (
        f"Packets over time for {result.case} on {result.subject}: {parts} packets"
        f"{when}; {n_markers} event markers."
    )


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value."""
    exp = math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= value - 1e-9:
            return m * 10**exp
    return 10 ** (exp + 1)


def _ticks(top: float, step: float | None = None) -> list[float]:
    step = step or _nice_ceiling(top / 5)
    return [i * step for i in range(round(top / step) + 1)]


def junit_tree(report: Report) -> ET.ElementTree:
    """One testsuite per subject, one testcase per case."""
    root = ET.Element("testsuites", name="leakcert")
    subjects = list(dict.fromkeys(r.subject for r in report.results))
    for subject in subjects:
        results = [r for r in report.results if r.subject == subject]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=subject,
            tests=str(len(results)),
            failures=str(sum(r.verdict in ("LEAK", "BROKEN") for r in results)),
            errors=str(sum(r.verdict == "ERROR" for r in results)),
            skipped="0",
            time=f"{sum(r.duration or 0.0 for r in results):.3f}",
        )
        if report.run.started:
            suite.set("timestamp", report.run.started)
        for r in results:
            tc = ET.SubElement(
                suite,
                "testcase",
                classname=f"leakcert.{subject}.{r.leak_class}",
                name=r.case,
                time=f"{r.duration or 0.0:.3f}",
            )
            if r.verdict == "LEAK":
                fail = ET.SubElement(tc, "failure", type="LEAK", message=_msg(r))
                lines = [p.summary for p in r.evidence.leaked]
                lines += [f"DNS {d.qtype} {d.name} -> {d.resolver}" for d in r.evidence.dns_leaks]
                fail.text = "\n".join(lines)
            elif r.verdict == "BROKEN":
                ET.SubElement(tc, "failure", type="BROKEN", message=_msg(r))
            elif r.verdict == "ERROR":
                err = ET.SubElement(tc, "error", type="ERROR", message=_msg(r))
                err.text = "\n".join(
                    f"[{h.hook} exit {h.exit}]\n{h.output}" for h in r.evidence.hooks
                )
    ET.indent(root)
    return ET.ElementTree(root)


def _msg(r: CaseResult) -> str:
    return f"{verdict_text(r)}: {r.reason}" if r.reason else verdict_text(r)
