"""What the index page shows: the run, one summary line per subject, and the
subject x case matrix with its columns grouped by leak class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.results import VERDICTS, CaseResult, Results, summary_line
from reports.wording import leak_counts, window_text


@dataclass(frozen=True)
class Column:
    case: str
    leak_class: str
    title: str


def index_context(run: Results) -> dict[str, Any]:
    """The index template's variables."""
    columns = _columns(run.results, run.run.leak_classes)
    subjects = list(dict.fromkeys(r.subject for r in run.results))
    by_key = {(r.subject, r.case): r for r in run.results}
    rows = []
    for subject in subjects:
        results = [by_key[(subject, c.case)] for c in columns if (subject, c.case) in by_key]
        rows.append(
            {
                "subject": subject,
                "summary_text": next((r.subject_summary for r in results if r.subject_summary), ""),
                "line": summary_line(subject, results, run.run.leak_classes),
                "cells": [by_key.get((subject, c.case)) for c in columns],
            }
        )
    groups = [
        (cls, sum(1 for c in columns if c.leak_class == cls))
        for cls in dict.fromkeys(c.leak_class for c in columns)
    ]
    return {
        "run": run.run,
        "columns": columns,
        "groups": groups,
        # The legend: the meaning of each leak class shown, when the run says it.
        "meanings": [
            (cls, run.run.leak_class_meanings[cls])
            for cls, _ in groups
            if cls in run.run.leak_class_meanings
        ],
        "rows": rows,
        "total": len(run.results),
        "counts": {v: sum(r.verdict == v for r in run.results) for v in VERDICTS},
    }


def cell_title(result: CaseResult) -> str:
    """The index cell's tooltip: the reason, what n counts, and when it leaked."""
    parts = [f"{result.subject} {result.case}: {result.reason}"]
    parts += [text for text in (leak_counts(result), window_text(result)) if text]
    return "; ".join(parts)


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
