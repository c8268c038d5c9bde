"""junit.xml: one testsuite per subject, one testcase per case, for CI dashboards."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from conformance.results import CaseResult, Results
from reports.wording import verdict_text

# ElementTree writes any str as it is, and XML 1.0 forbids most control
# characters (https://www.w3.org/TR/xml/#charsets): one colour escape in a
# hook's output made the whole file unreadable to CI. Colour sequences are
# dropped whole, as noise; any other forbidden character becomes U+FFFD.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_tree(run: Results) -> ET.ElementTree:
    """One testsuite per subject, one testcase per case."""
    root = ET.Element("testsuites", name="leakcert")
    subjects = list(dict.fromkeys(r.subject for r in run.results))
    for subject in subjects:
        results = [r for r in run.results if r.subject == subject]
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
        if run.run.started:
            suite.set("timestamp", run.run.started)
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
    for element in root.iter():
        element.text = element.text and _xml_text(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_text(value))
    ET.indent(root)
    return ET.ElementTree(root)


def _xml_text(text: str) -> str:
    """`text` with only the characters XML 1.0 allows."""
    return _NOT_XML.sub("\ufffd", _ANSI.sub("", text))


def _msg(r: CaseResult) -> str:
    return f"{verdict_text(r)}: {r.reason}" if r.reason else verdict_text(r)
