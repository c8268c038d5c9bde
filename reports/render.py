"""Render a run's results to static HTML, junit.xml and copied pcaps.

This module only orchestrates: it checks the run, writes the files (the case
pages in forked workers for big runs) and holds the Jinja2 environment. What
each page shows is decided in `reports.index`, `reports.case_page` and
`reports.timeline`; junit.xml is `reports.junit`; which pcaps are copied is
`reports.pcaps`. All markup lives in the (autoescaped) templates.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from conformance.results import CaseResult, Results, ResultsError, load_results
from reports.case_page import case_context, case_path, secs
from reports.index import cell_title, index_context
from reports.junit import junit_tree
from reports.pcaps import Pcap, pcap_path, vetted_pcaps
from reports.wording import verdict_text

_WRITERS = 4

# Below this many results the cost of starting workers outweighs the gain.
_PARALLEL_MIN = 200

# What the workers render (the results, their pcaps, the output folder), set
# before forking so workers inherit it instead of receiving it pickled.
_shared: tuple[Results, list[Pcap], Path] | None = None


class ReportError(Exception):
    """The report could not be written; the message is one line."""


def render_report(
    results: str | Path | dict[str, Any] | Results, out_dir: str | Path, jobs: int = 1
) -> Path:
    """Write the report for `results` into `out_dir`; return the index.html path.

    Raises ResultsError for malformed results (a duplicate (subject, case)
    included: it would have two pages at one path) and ReportError when the
    report cannot be written. A pcap the report will not copy is left out, with
    a line on stderr (`reports: refused pcap PATH: WHY`).

    `jobs` > 1 renders the case pages in that many forked processes. Forking is
    only safe in a process without threads, so it is opt-in (the CLI uses it).
    """
    run = results if isinstance(results, Results) else load_results(results)
    _refuse_duplicates(run.results)
    pcaps = vetted_pcaps(run)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _write(run, pcaps, out, jobs)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc}") from None


def _refuse_duplicates(results: list[CaseResult]) -> None:
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(results):
        if (r.subject, r.case) in seen:
            raise ResultsError(f"results[{i}]: duplicate result for {r.subject} {r.case}")
        seen.add((r.subject, r.case))


def _write(run: Results, pcaps: list[Pcap], out: Path, jobs: int) -> Path:
    global _shared
    (out / "style.css").write_bytes(
        resources.files("reports").joinpath("static", "style.css").read_bytes()
    )
    n = len(run.results)
    if jobs > 1 and n >= _PARALLEL_MIN and "fork" in mp.get_all_start_methods():
        _shared = (run, pcaps, out)
        try:
            chunks = [range(i, n, jobs * 4) for i in range(jobs * 4)]
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                # result() re-raises a worker's OSError here, for render_report to report.
                for future in [pool.submit(_write_cases, chunk) for chunk in chunks]:
                    future.result()
        finally:
            _shared = None
    else:
        _write_pages(run, pcaps, out, range(n))

    index = out / "index.html"
    index.write_text(
        _environment().get_template("index.html.j2").render(**index_context(run)),
        encoding="utf-8",
    )
    junit_tree(run).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    return index


def _write_cases(indices: range) -> None:
    assert _shared is not None
    _write_pages(*_shared, indices)


def _write_pages(run: Results, pcaps: list[Pcap], out: Path, indices: range) -> None:
    """Write the case pages (and pcaps) of the results at `indices`."""
    case_tpl = _environment().get_template("case.html.j2")
    made_dirs: set[Path] = set()
    # Creating thousands of files is slow on a busy disk and releases the GIL,
    # so threads write while this thread renders the next page.
    with ThreadPoolExecutor(_WRITERS) as writers:
        pending = []
        for i in indices:
            result = run.results[i]
            page = out / case_path(result)
            source, pcap = pcaps[i].source, out / pcap_path(result)
            for folder in (page.parent, pcap.parent) if source else (page.parent,):
                if folder not in made_dirs:
                    folder.mkdir(parents=True, exist_ok=True)
                    made_dirs.add(folder)
            pcap_href = None
            if source is not None:
                shutil.copyfile(source, pcap)
                pcap_href = "../../" + pcap_path(result).as_posix()
            html = case_tpl.render(**case_context(result, pcap_href, pcaps[i].refused))
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
    env.filters["cell_title"] = cell_title
    env.filters["secs"] = secs
    return env
