"""What a case page shows: the verdict, the timeline, the leaked packets and DNS
queries, the pcap's link, and the probes' outcomes as a table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.results import CaseResult, subject_folder
from reports.timeline import timeline, trigger_time
from reports.wording import leak_counts, window_text

LEAKED_ROWS_CAP = 500


@dataclass
class ProbeTable:
    columns: list[str]  # after "Time (s)" and "Probe"
    rows: list[tuple[str, str, list[str]]]  # (time, probe, one value per column)


def case_path(result: CaseResult) -> Path:
    """The case page's path relative to the report root (the reader vetted the case id)."""
    return Path("cases", subject_folder(result.subject), f"{result.case}.html")


def case_context(result: CaseResult, pcap_href: str | None, refused: str) -> dict[str, Any]:
    """The case template's variables; `refused` says why the pcap was not copied."""
    ev = result.evidence
    origin = trigger_time(ev)
    leaked = sorted(ev.leaked, key=lambda p: p.t)
    return {
        "r": result,
        "root": "../../",
        "timeline": timeline(result),
        "origin_is_trigger": origin is not None,
        "leaked_rows": [(p.t - (origin or 0.0), p) for p in leaked[:LEAKED_ROWS_CAP]],
        "leaked_more": max(0, len(leaked) - LEAKED_ROWS_CAP),
        "leaked_stream": any(p.stream for p in leaked),
        # DNS leaks without a time sort last and show no time.
        "dns_rows": [
            (None if d.t is None else d.t - (origin or 0.0), d)
            for d in sorted(ev.dns_leaks, key=lambda d: math.inf if d.t is None else d.t)
        ],
        "leak_counts": leak_counts(result),
        "window_text": window_text(result),
        "pcap_href": pcap_href,
        "pcap_missing": ev.pcap is not None and pcap_href is None and not refused,
        "pcap_refused": refused,
        "probes": _probe_table(result),
    }


def secs(value: float) -> str:
    """A time in seconds as the page's tables print it."""
    return f"{value:.3f}"


def _probe_table(result: CaseResult) -> ProbeTable | None:
    """Free-form probe results as a table.

    {name: {field: value}} (the runner's outcomes) gets one column per field;
    any other shape gets a single "Result" column with the value flattened.
    """
    probes = result.evidence.probes
    if not probes:
        return None
    records = all(
        isinstance(p.outcomes, dict) and all(isinstance(v, dict) for v in p.outcomes.values())
        for p in probes
    )
    if records:
        fields = list(
            dict.fromkeys(f for p in probes for outcome in p.outcomes.values() for f in outcome)
        )
        table = ProbeTable(fields, [])
        for p in probes:
            t = "" if p.t is None else secs(p.t)
            for name, outcome in p.outcomes.items():
                table.rows.append((t, str(name), [_fmt_value(outcome.get(f)) for f in fields]))
        return table
    table = ProbeTable(["Result"], [])
    for p in probes:
        t = "" if p.t is None else secs(p.t)
        res = p.outcomes
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
