"""The case page's timeline as numbers: per-class packet counts in time bins,
stacked, with event and trigger markers, the tunnel-up band and the leak window.

The template (timeline.svg.j2) only prints these numbers; all geometry is here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from conformance.results import PACKET_CLASSES, CaseResult, Evidence
from reports.wording import window_text

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
    shown: bool = True  # False: no row had room; the line and its title stay

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
class Band:
    """The leak window, a strip under the axis."""

    x: float
    w: float
    text: str


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
    window: Band | None
    counts: dict[str, int]  # every frame per class, for the legend
    sampled: bool  # the bars are drawn from fewer frames than `counts` says
    description: str


def timeline(result: CaseResult) -> Timeline | None:
    """Stacked per-class packet counts in time bins, plus event and trigger markers.

    Returns None when there is nothing to draw (no packets and no events).
    """
    ev = result.evidence
    counts = _frame_counts(ev)
    if not counts and not ev.events and ev.trigger_at is None:
        return None
    window = _window_span(ev)
    span = max(
        [result.duration or 0.0, ev.trigger_at or 0.0, window[1] if window else 0.0]
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

    classes = list(counts)
    grid = {}
    per_bin = BINS / span
    last = BINS - 1
    for cls in classes:
        # map/Counter keep the per-packet loop in C: thousands of packets per case.
        binned = Counter(map(int, map(per_bin.__mul__, ev.packets.get(cls, ()))))
        row = [binned.get(i, 0) for i in range(BINS)]
        for i, n in binned.items():
            # Times outside the axis (clock skew, late packets) land in the edge bins.
            if i < 0:
                row[0] += n
            elif i > last:
                row[last] += n
        grid[cls] = row
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
        # At least 2 units wide, so that a leak at one instant still shows.
        window=Band(
            round(PLOT_L + max(window[0], 0.0) * sx, 1),
            round(max((window[1] - max(window[0], 0.0)) * sx, 2.0), 1),
            window_text(result),
        )
        if window
        else None,
        counts=counts,
        sampled=any(n > len(ev.packets.get(cls, ())) for cls, n in counts.items()),
        description=_describe(result, counts, len(markers)),
    )


def _frame_counts(ev: Evidence) -> dict[str, int]:
    """Frames per class, in PACKET_CLASSES' order then by name; classes with none left out.

    The runner thins `packets` for drawing and gives the totals in `counts`;
    older files have only `packets`. A count below the frames listed (a
    hand-made file) would contradict the bars, so the larger is taken.
    """
    listed = {cls: len(times) for cls, times in ev.packets.items()}
    every = {cls: max(ev.counts.get(cls, 0), listed.get(cls, 0)) for cls in {*listed, *ev.counts}}
    known = [cls for cls in PACKET_CLASSES if every.get(cls)]
    others = sorted(cls for cls, n in every.items() if n and cls not in PACKET_CLASSES)
    return {cls: every[cls] for cls in known + others}


def trigger_time(ev: Evidence) -> float | None:
    """When the trigger fired, in seconds from the case start: the run's
    `trigger_at`, else the first trigger event; None if nothing triggered."""
    if ev.trigger_at is not None:
        return ev.trigger_at
    return min((e.t for e in ev.events if e.kind == "trigger"), default=None)


def _window_span(ev: Evidence) -> tuple[float, float] | None:
    """The leak window in seconds from the case start (its times are from the
    trigger, or from the case start when nothing triggered)."""
    w = ev.window
    if w is None:
        return None
    origin = trigger_time(ev) or 0.0
    first, last = sorted((w.first_ms, w.last_ms))
    return origin + first / 1000, origin + last / 1000


def _markers(result: CaseResult, sx: float) -> tuple[list[Marker], int]:
    """Markers for the events and the trigger, and how many label rows they use.

    Label y positions are relative to the plot's top edge (negative: above it).
    """
    ev = result.evidence
    items = [(e.t, e.text or e.kind or "event", e.kind == "trigger") for e in ev.events]
    # Older files have no trigger event, only the time.
    if ev.trigger_at is not None and not any(trigger for _t, _l, trigger in items):
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
        # A label with no room is left out rather than drawn over another (its
        # line and title stay); the trigger's is always drawn.
        shown = row is not None or trigger
        if row is None:
            row = min(range(LABEL_ROWS), key=lambda i: row_end[i])
        if shown:
            row_end[row] = x if anchor == "end" else x + width
            used = max(used, row + 1)
        y = -8 - row * LABEL_ROW_H
        markers.append(Marker(round(x, 1), label, y, t, trigger, anchor, shown))
    return markers, used


def _tunnel_up(result: CaseResult, span: float) -> list[tuple[float, float]]:
    """Intervals between the runner's tunnel-up and tunnel-down events.

    Older files' events are free text, which is not guessed at: no band.
    """
    intervals = []
    up_since: float | None = None
    for e in sorted(result.evidence.events, key=lambda e: e.t):
        if e.kind == "tunnel-up" and up_since is None:
            up_since = e.t
        elif e.kind == "tunnel-down" and up_since is not None:
            intervals.append((up_since, e.t))
            up_since = None
    if up_since is not None:
        intervals.append((up_since, span))
    return intervals


def _describe(result: CaseResult, counts: dict[str, int], n_markers: int) -> str:
    parts = ", ".join(f"{n} {cls}" for cls, n in counts.items()) or "no"
    trig = trigger_time(result.evidence)
    when = f"; trigger at {trig:.3f} s" if trig is not None else ""
    window = f"; {window_text(result)}" if result.evidence.window else ""
    return (
        f"Packets over time for {result.case} on {result.subject}: {parts} packets"
        f"{when}{window}; {n_markers} event markers."
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


def _fmt_num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
