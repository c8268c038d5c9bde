"""A certificate a vendor can publish: its JSON, a printable page and an SVG badge.

    certificate.json   the facts, in the stable schema `leakcert-certificate/1`
    certificate.html   one printable page of the same facts
    badge.svg          "leakcert seed: PASS 22/22"

The schema is documented in docs/certificate.md; a field is only ever added,
and a change to what one means takes a new `schema`. The overall verdict is
PASS only when every certified case has exactly one result and it is a PASS;
a case without one, or with two, counts as ERROR (a missing result never
reads as a pass). LEAK outranks BROKEN, which outranks ERROR.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from conformance.results import CaseResult, Results, summary_line

SCHEMA = "leakcert-certificate/1"
RANK = ("LEAK", "BROKEN", "ERROR", "PASS")
BADGE_COLOURS = {"PASS": "#1b7a3a", "LEAK": "#b3261e", "BROKEN": "#8a4b00", "ERROR": "#5b5b66"}


@dataclass(frozen=True)
class Scope:
    """What a certificate covers: the profile, its cases, and which of them were certified."""

    profile: str
    profile_cases: list[str]  # every case of the profile, in the suite's order
    certified: list[str]  # the ones this certificate covers (all, or a selection)


def certificate(results: Results, subject: str, scope: Scope) -> dict[str, Any]:
    """The certificate of `subject`'s results over `scope`, as its JSON holds it."""
    found: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results.results:
        if result.subject == subject:
            found[result.case].append(result)
    cases = [_case(case_id, found.get(case_id, [])) for case_id in scope.certified]
    verdicts = {c["verdict"] for c in cases}
    verdict = next((v for v in RANK if v in verdicts), "ERROR") if cases else "ERROR"
    info = results.run.subjects.get(subject)
    judged = [r for case_id in scope.certified for r in found.get(case_id, [])]
    return {
        "schema": SCHEMA,
        "subject": {
            "name": subject,
            "summary": info.summary if info else next((r.subject_summary for r in judged), ""),
            "vpn": info.vpn if info else "",
            "folder_sha256": info.folder_sha256 if info else "",
            "sha256": info.sha256 if info else "",
        },
        "verdict": verdict,
        "passed": sum(c["verdict"] == "PASS" for c in cases),
        "certified_cases": len(cases),
        "profile": scope.profile,
        "profile_cases": len(scope.profile_cases),
        "complete": scope.certified == scope.profile_cases,
        "summary": summary_line(subject, judged, results.run.leak_classes),
        "leakcert_version": results.run.leakcert_version,
        "run": {"started": results.run.started, "finished": results.run.finished},
        "lab": {"kernel": results.run.kernel, "tools": dict(results.run.tools)},
        "cases": cases,
    }


def _case(case_id: str, found: list[CaseResult]) -> dict[str, Any]:
    if len(found) != 1:
        why = "no result" if not found else f"{len(found)} results, expected one"
        entry = {"leak_class": case_id.split(".")[0], "title": "", "verdict": "ERROR"}
        return {"id": case_id, **entry, "leaks": 0, "reason": why}
    r = found[0]
    entry = {"leak_class": r.leak_class, "title": r.title, "verdict": r.verdict}
    return {"id": case_id, **entry, "leaks": r.leaks, "reason": " ".join(r.reason.split())}


def badge_text(cert: dict[str, Any]) -> tuple[str, str]:
    """The badge's two halves: "leakcert seed" and "PASS 22/22"."""
    label = f"leakcert {cert['profile']}" + ("" if cert["complete"] else " (partial)")
    return label, f"{cert['verdict']} {cert['passed']}/{cert['certified_cases']}"


def write_certificate(cert: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write certificate.json, certificate.html and badge.svg into `out`; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    label, message = badge_text(cert)
    # Verdana 11px is about 7 px a character: wide enough for shields.io's look.
    widths = (len(label) * 7 + 12, len(message) * 7 + 12)
    env = _environment()
    paths = {
        "json": out / "certificate.json",
        "html": out / "certificate.html",
        "badge": out / "badge.svg",
    }
    paths["json"].write_text(json.dumps(cert, indent=1) + "\n", encoding="utf-8")
    paths["html"].write_text(
        env.get_template("certificate.html.j2").render(c=cert, badge=paths["badge"].name),
        encoding="utf-8",
    )
    paths["badge"].write_text(
        env.get_template("badge.svg.j2").render(
            label=label,
            message=message,
            widths=widths,
            colour=BADGE_COLOURS[cert["verdict"]],
        ),
        encoding="utf-8",
    )
    return paths


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
