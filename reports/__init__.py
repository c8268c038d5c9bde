"""Static HTML leak reports from a leakcert run's results JSON.

`render_report(results, out_dir)` writes index.html (the subject x case matrix),
one page per (subject, case) with a packet timeline, junit.xml and the pcaps.
The package reads only the JSON the pytest plugin writes: it does not import
`conformance` or `netns`, so reports can be rebuilt on any machine.
"""

from reports.model import ReportError, load_report
from reports.render import render_report

__all__ = ["ReportError", "load_report", "render_report"]
