"""The timeline's numbers: binning, stacking, scales, markers, tunnel-up intervals,
the leak window and the legend's totals. Events are the runner's: {"t", "kind", "text"}."""

from __future__ import annotations

import itertools
import re

import pytest

from conformance.results import (
    CaseResult,
    Event,
    Evidence,
    ResultsError,
    Window,
    parse_results,
    subject_folder,
)
from reports import render_report
from reports.timeline import BINS, PLOT_L, timeline
from tests.reports.support import Page


def _result(packets, events=(), trigger=None, duration=None, window=None) -> CaseResult:
    by_class: dict[str, list[float]] = {}
    for t, cls in packets:
        by_class.setdefault(cls, []).append(t)
    return CaseResult(
        subject="s",
        case="crash.x",
        verdict="PASS",
        leak_class="crash",
        duration=duration,
        evidence=Evidence(
            trigger_at=trigger,
            events=[Event(t, kind, text) for t, kind, text in events],
            packets=by_class,
            window=window,
        ),
    )


_RECT = re.compile(r"M([-\d.]+) ([-\d.]+)h([-\d.]+)v([-\d.]+)h-[\d.]+z")


def _rects(tl) -> list[tuple[str, float, float, float, float]]:
    """Every bar as (class, x, y, w, h): the path layers parsed back, plus the leak rects."""
    out = []
    for layer in tl.layers:
        found = _RECT.findall(layer.path)
        assert "".join(f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in found) == layer.path
        out += [(layer.cls, *map(float, f)) for f in found]
    return out + [(b.cls, b.x, b.y, b.w, b.h) for b in tl.leak_bars]


def test_every_packet_is_counted_once():
    packets = [(i * 0.01, ("tunnel", "link", "leak", "inbound")[i % 4]) for i in range(1000)]
    tl = timeline(_result(packets, duration=10.0))
    assert sum(layer.bars for layer in tl.layers) + len(tl.leak_bars) == BINS * 4
    assert tl.counts == {"tunnel": 250, "link": 250, "inbound": 250, "leak": 250}
    assert tl.span == 10.0 and tl.bin_width == pytest.approx(10.0 / BINS)


def test_bars_stack_without_overlap_and_fit_the_plot():
    packets = [(0.001, "tunnel")] * 3 + [(0.002, "leak")] * 2 + [(0.95, "link")]
    tl = timeline(_result(packets, duration=1.0))
    rects = _rects(tl)
    first = sorted((r for r in rects if r[1] == pytest.approx(PLOT_L)), key=lambda r: -r[2])
    assert [r[0] for r in first] == ["tunnel", "leak"]
    assert first[0][2] == pytest.approx(first[1][2] + first[1][4], abs=0.01)
    assert first[0][2] + first[0][4] == pytest.approx(tl.plot_bottom, abs=0.01)
    # Bar heights are proportional to counts: 3 tunnel packets, 2 leaks, 1 link.
    assert first[0][4] == pytest.approx(1.5 * first[1][4], abs=0.02)
    for _cls, x, y, w, h in rects:
        assert tl.plot_top <= y and y + h <= tl.plot_bottom + 0.01
        assert tl.plot_left <= x and x + w <= tl.plot_right + 0.01


def _seconds(tl, x: float, w: float) -> tuple[float, float]:
    """An SVG (x, width) back in seconds."""
    sx = (tl.plot_right - tl.plot_left) / tl.span
    return round((x - PLOT_L) / sx, 3), round(w / sx, 3)


def test_markers_for_events_and_trigger_with_separate_label_rows():
    events = [
        (0.0, "boot", "boot"),
        (0.4, "hook", "connect hook"),
        (0.41, "tunnel-up", "tunnel up"),
        (1.2, "trigger", "SIGKILL the VPN client"),
    ]
    tl = timeline(_result([], events, trigger=1.2, duration=3.0))
    labels = ["boot", "connect hook", "tunnel up", "SIGKILL the VPN client"]
    assert [m.label for m in tl.markers] == labels
    # The trigger event is the trigger's mark: trigger_at adds no second one.
    assert [m.trigger for m in tl.markers] == [False] * 3 + [True]
    # Labels at nearly the same time go on different rows.
    assert tl.markers[1].label_y != tl.markers[2].label_y


def test_the_trigger_mark_comes_from_its_kind_or_from_trigger_at():
    tl = timeline(_result([], [(1.0, "trigger", "link down")], duration=3.0))
    assert [(m.label, m.t, m.trigger) for m in tl.markers] == [("link down", 1.0, True)]
    # Older files: free-text events and trigger_at.
    tl = timeline(_result([], [(1.0, "", "VPN client crashes")], trigger=1.0, duration=3.0))
    assert [(m.label, m.trigger) for m in tl.markers] == [
        ("VPN client crashes", False),
        ("trigger", True),
    ]


def test_tunnel_up_intervals_follow_the_tunnel_kinds():
    events = [
        (0.1, "link", "link up"),
        (0.4, "hook", "connect"),
        (0.9, "tunnel-up", "wg0 up"),
        (1.5, "trigger", "tunnel interface deleted"),
        (1.5, "tunnel-down", "wg0 gone"),
        (1.7, "link", "Wi-Fi lost"),
        (2.0, "tunnel-up", "wg0 up again"),
    ]
    tl = timeline(_result([], events, duration=3.0))
    assert [_seconds(tl, x, w) for x, w in tl.tunnel_up] == [(0.9, 0.6), (2.0, 1.0)]


def test_free_text_events_are_not_guessed_at():
    # Old files: words such as "connected" or "crash" say nothing the band may use.
    events = [(0.5, "", "connected"), (1.0, "", "VPN client crashes")]
    assert timeline(_result([], events, duration=3.0)).tunnel_up == []


def test_the_leak_window_is_a_band_from_the_trigger():
    window = Window(12.0, 61.0, 38, 30, "leaked 38 packets from +12 ms to +61 ms after the trigger")
    tl = timeline(_result([(1.03, "leak")], trigger=1.0, duration=3.0, window=window))
    assert tl.window is not None and tl.window.text == window.text
    x, w = _seconds(tl, tl.window.x, tl.window.w)
    assert x == pytest.approx(1.012, abs=0.005) and w == pytest.approx(0.049, abs=0.005)
    assert window.text in tl.description
    # A leak at one instant still shows; without a trigger, times are from the case start.
    tl = timeline(_result([(0.5, "leak")], duration=3.0, window=Window(500, 500, 1, 0, "")))
    assert tl.window.w >= 2 and _seconds(tl, tl.window.x, 0)[0] == pytest.approx(0.5, abs=0.01)
    assert tl.window.text == "leaked 1 packet from +500 ms to +500 ms"
    assert timeline(_result([(0.5, "leak")], duration=3.0)).window is None


def test_axis_rounds_up_to_a_tick_step_and_has_ticks():
    tl = timeline(_result([(3.39, "link")], duration=3.39))
    assert tl.span == pytest.approx(4.0)  # not 5: the next whole step
    assert [t.label for t in tl.x_ticks] == ["0", "1", "2", "3", "4"]
    tl = timeline(_result([(0.7, "link")], duration=0.7))
    assert tl.span == pytest.approx(0.8)
    assert [t.label for t in tl.x_ticks][:3] == ["0", "0.2", "0.4"]
    assert tl.y_ticks[-1].label == "1"


def test_nothing_to_draw_is_none():
    assert timeline(_result([])) is None


def test_packets_outside_the_span_land_in_the_edge_bins():
    tl = timeline(_result([(-1.0, "leak"), (99.0, "leak")], duration=1.0))
    assert [(b.count, b.x) for b in tl.leak_bars] == [(1, PLOT_L), (1, tl.leak_bars[1].x)]
    assert tl.leak_bars[1].x + tl.leak_bars[1].w == pytest.approx(tl.plot_right)


def test_totals_come_from_counts_when_the_run_thinned_the_packets():
    # The runner keeps at most one frame per class per slice, and counts every frame.
    result = _result([(0.001, "tunnel"), (0.5, "tunnel"), (0.6, "leak")], duration=1.0)
    result.evidence.counts = {"tunnel": 1200, "leak": 1, "link": 0}
    tl = timeline(result)
    assert tl.counts == {"tunnel": 1200, "leak": 1}
    assert tl.sampled
    assert "1200 tunnel, 1 leak packets" in tl.description
    # The bars are still the frames listed: two tunnel bars and one leak bar.
    assert [(layer.cls, layer.bars) for layer in tl.layers] == [("tunnel", 2)]
    assert [b.count for b in tl.leak_bars] == [1]


def test_older_files_without_counts_count_the_packets_listed():
    tl = timeline(_result([(0.1, "link"), (0.2, "link"), (0.3, "inbound")], duration=1.0))
    assert tl.counts == {"link": 2, "inbound": 1}
    assert not tl.sampled


def test_a_count_below_the_frames_listed_is_not_believed():
    result = _result([(0.1, "link"), (0.2, "link")], duration=1.0)
    result.evidence.counts = {"link": 1, "tunnel": 5}
    tl = timeline(result)
    assert tl.counts == {"tunnel": 5, "link": 2}
    assert tl.sampled  # tunnel: 5 counted, none drawn


def _run_with_counts(counts: object) -> dict:
    evidence = {"packets": [{"t": 0.5, "class": "tunnel"}], "counts": counts}
    result = {"subject": "s", "case": "crash.x", "verdict": "PASS", "reason": "no leak"}
    return {"run": {}, "results": [{**result, "duration": 1.0, "evidence": evidence}]}


def test_the_legend_shows_the_counted_totals(tmp_path):
    render_report(_run_with_counts({"tunnel": 4321}), tmp_path)
    page = Page(tmp_path / "cases" / subject_folder("s") / "crash.x.html")
    assert "tunnel (4321)" in page.text
    assert "the numbers in brackets count every frame" in page.text


@pytest.mark.parametrize("counts", [[1], {"tunnel": -1}, {"tunnel": 1.5}, {"tunnel": "9"}])
def test_malformed_counts_are_refused(counts):
    with pytest.raises(ResultsError, match="counts"):
        parse_results(_run_with_counts(counts))


def test_crowded_labels_are_left_out_never_drawn_over_each_other():
    # Ten events in 50 ms: the rows fill up; the trigger's label is still drawn.
    events = [(0.1 + i * 0.005, "hook", f"event number {i}") for i in range(10)]
    events.append((0.13, "trigger", "the VPN client dies"))
    tl = timeline(_result([(0.0, "tunnel"), (5.0, "tunnel")], events=events, duration=5.0))
    shown = [m for m in tl.markers if m.shown]
    hidden = [m for m in tl.markers if not m.shown]
    assert hidden and len(tl.markers) == 11
    assert any(m.trigger for m in shown)
    by_row: dict[float, list] = {}
    for m in shown:
        if not m.trigger:
            by_row.setdefault(m.label_y, []).append(m)
    for row in by_row.values():
        spans = sorted((m.x, m.x + len(m.label) * 6.2) for m in row)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
