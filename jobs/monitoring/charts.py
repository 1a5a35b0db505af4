"""Self-contained SVG charts (no scripts, no external URLs) for the review and other HTML pages.

Two shapes cover the review: horizontal bars per label with threshold lines, and lines
per series over a shared categorical x axis. Every text is escaped; every chart carries
its title and labels as text, so a page can be checked by reading it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Threshold:
    """A vertical (bars) or horizontal (lines) reference line with its label."""

    value: float
    label: str
    color: str = "#d62728"


def _fmt(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}%" if percent else f"{value:.4g}"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None],
              thresholds: Sequence[Threshold] = (), percent: bool = True, width: int = 640) -> str:
    """Horizontal bars, one per label; ``None`` draws no bar and writes ``n/a``.

    Raises:
        ValueError: when labels and values differ in length.
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart got {len(labels)} labels and {len(values)} values: expected one value per label")
    left, right, row, top = 130, 70, 22, 34
    height = top + row * max(len(labels), 1) + 30
    known = [v for v in values if v is not None]
    lo = min([0.0, *known, *(t.value for t in thresholds)])
    hi = max([0.0, *known, *(t.value for t in thresholds)]) or 1.0
    span = (hi - lo) or 1.0
    plot = width - left - right

    def x(v: float) -> float:
        return left + plot * (v - lo) / span

    # The zero axis, so a negative bar (e.g. an RMSE improvement) reads as one.
    parts = [_open(title, width, height),
             f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{height - 24}" stroke="#555"/>']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="{x(0) + 4}" y="{y + 15}" fill="#777">n/a</text>')
            continue
        x0, x1 = sorted((x(0), x(value)))
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[0]}"><title>{escape(label)}: {_fmt(value, percent)}</title></rect>')
        parts.append(f'<text x="{x1 + 4:.1f}" y="{y + 15}">{_fmt(value, percent)}</text>')
    for t in thresholds:
        parts.append(f'<line x1="{x(t.value):.1f}" y1="{top - 4}" x2="{x(t.value):.1f}" y2="{height - 24}" '
                     f'stroke="{t.color}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(t.value):.1f}" y="{height - 10}" text-anchor="middle" fill="{t.color}">'
                     f'{escape(t.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
               thresholds: Sequence[Threshold] = (), percent: bool = True, width: int = 640) -> str:
    """One polyline per series over ``x_labels``; ``None`` points are gaps.

    Raises:
        ValueError: when a series' length differs from the number of x labels.
    """
    for name, ys in series.items():
        if len(ys) != len(x_labels):
            raise ValueError(f"series {name!r} has {len(ys)} points: expected {len(x_labels)}, one per x label")
    left, right, top, bottom, height = 60, 150, 34, 40, 300
    known = [v for ys in series.values() for v in ys if v is not None]
    lo = min([0.0, *known, *(t.value for t in thresholds)])
    hi = max([0.0, *known, *(t.value for t in thresholds)]) or 1.0
    span = (hi - lo) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(x_labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (1 - (v - lo) / span)

    parts = [_open(title, width, height),
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{_fmt(hi, percent)}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">{_fmt(lo, percent)}</text>']
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{left + i * step:.1f}" y="{height - 20}" text-anchor="middle">{escape(label)}</text>')
    for t in thresholds:
        _, y = xy(0, t.value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{t.color}" '
                     f'stroke-dasharray="4 3"/><text x="{left + plot_w + 4}" y="{y + 4:.1f}" fill="{t.color}">'
                     f'{escape(t.label)}</text>')
    for k, (name, ys) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        for segment in _segments(ys):
            points = " ".join("{:.1f},{:.1f}".format(*xy(i, v)) for i, v in segment)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" '
                         'stroke-linecap="round"/>')
        parts.append(f'<text x="{width - 8}" y="{top + 16 * (k + 1) + 40}" text-anchor="end" fill="{color}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _segments(ys: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known points; a lone point becomes a zero-length segment (still drawn)."""
    out: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(ys):
        if v is None:
            if out[-1]:
                out.append([])
            continue
        out[-1].append((i, v))
    return [s if len(s) > 1 else s * 2 for s in out if s]


def _open(title: str, width: int, height: int) -> str:
    return (f'<svg role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
            f'<title>{escape(title)}</title>'
            f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(title)}</text>')
