"""The timeline's numbers: binning, stacking, scales, markers and tunnel-up intervals."""

from __future__ import annotations

import re

import pytest

from reports.model import CaseResult, Event, Evidence
from reports.render import BINS, PLOT_L, timeline


def _result(packets, events=(), trigger=None, duration=None) -> CaseResult:
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
            events=[Event(t, name) for t, name in events],
            packets=by_class,
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


def test_markers_for_events_and_trigger_with_separate_label_rows():
    events = [(0.0, "boot"), (0.4, "connect"), (0.41, "connected"), (1.2, "crash")]
    tl = timeline(_result([], events, trigger=1.2, duration=3.0))
    assert [m.label for m in tl.markers] == ["boot", "connect", "connected", "crash", "trigger"]
    assert [m.trigger for m in tl.markers] == [False] * 4 + [True]
    # Labels at nearly the same time go on different rows.
    assert tl.markers[1].label_y != tl.markers[2].label_y
    assert tl.markers[3].label_y != tl.markers[4].label_y


def test_tunnel_up_intervals_follow_the_events():
    events = [(0.4, "connect"), (0.9, "connected"), (1.5, "crash"), (2.0, "reconnected")]
    tl = timeline(_result([], events, duration=3.0))
    sx = (tl.plot_right - tl.plot_left) / tl.span
    spans = [(round((x - PLOT_L) / sx, 6), round(w / sx, 6)) for x, w in tl.tunnel_up]
    assert spans == [(0.9, 0.6), (2.0, 1.0)]
    # The runner's phrases: the physical link coming up is not the tunnel.
    events = [
        (0.1, "link up, before the VPN connects"),
        (0.5, "connected"),
        (1.0, "tunnel interface deleted"),
        (1.5, "Wi-Fi lost"),
    ]
    tl = timeline(_result([], events, duration=3.0))
    sx = (tl.plot_right - tl.plot_left) / tl.span
    assert [(round((x - PLOT_L) / sx, 6), round(w / sx, 6)) for x, w in tl.tunnel_up] == [
        (0.5, 0.5)
    ]


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
