"""Static HTML leak reports from a leakcert run's results JSON.

`render_report(results, out_dir)` writes index.html (the subject x case matrix),
one page per (subject, case) with a packet timeline, junit.xml and the pcaps.
The package reads the results through `conformance.results`, which imports
nothing from the lab (`netns`), so reports can be rebuilt on any machine.
"""

from conformance.results import ResultsError, load_results
from reports.render import ReportError, render_report

__all__ = ["ReportError", "ResultsError", "load_results", "render_report"]
