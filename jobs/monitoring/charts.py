"""Charts for the dashboard and the review: Vega-Lite specs (altair) rendered offline to inline SVG.

``vl-convert`` renders each spec to SVG in-process (no browser, no network), so a page is one
self-contained HTML file with no script. Two shapes cover both pages:

- ``trend_chart``: one line per series against the *run* time (never a window's test dates),
  with threshold rules. With fewer than two runs a line says nothing, so the values are drawn
  as labelled bars instead.
- ``bar_chart``: one labelled horizontal bar per symbol-horizon, with threshold rules.

Every data item carries an ``aria-label``; ``to_svg`` turns it into an SVG ``<title>``, which
browsers show on hover (Vega's static SVG has no tooltips of its own, vega/vega#1585).
Drawn data items are marked ``aria-roledescription="series"``, so a check can count them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import altair as alt
import vl_convert

SERIES_ROLE = "series"
POINT_ROLE = "value"
WIDTH, HEIGHT, BAR_ROW = 440, 210, 22
FONT = "sans-serif"
# Tableau 10: distinct hues, readable on white; a series keeps its colour within a chart.
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d",
           "#ff9da6", "#bab0ac")
CONFIG: dict[str, Any] = {
    "font": FONT, "view": {"stroke": "#ddd"},
    "axis": {"labelFontSize": 11, "labelOverlap": True, "titleFontSize": 11, "titleFontWeight": "normal", "titleColor": "#444"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom", "direction": "horizontal",
               "columns": 4, "symbolType": "stroke", "labelLimit": 160},
    "title": {"fontSize": 13, "anchor": "start", "subtitleFontSize": 11, "subtitleColor": "#555"},
}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _without_debug_mode(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """Build a chart with Altair's debug mode off.

    Debug mode validates every schema object as it is created, for a traceback at the faulty
    line; off, the whole specification is still validated once, by ``to_dict`` in ``to_svg``.
    That saves about a quarter of a chart's time (a review or a dashboard draws about ten).
    """
    @wraps(build)
    def plain(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with alt.utils.schemapi.debug_mode(False):
            return build(*args, **kwargs)
    return plain


@dataclass(frozen=True)
class Threshold:
    """A reference line (horizontal on trends, vertical on bars) with its label."""

    value: float
    label: str
    color: str = "#d62728"


@dataclass(frozen=True)
class Point:
    """One value of one series at one run."""

    series: str
    at: datetime
    value: float


def _fmt(value: float, percent: bool) -> str:
    return f"{100 * value:+.1f}%" if percent and value < 0 else f"{100 * value:.1f}%" if percent else f"{value:.4g}"


def _axis_format(percent: bool) -> str:
    # "~%": as many decimals as the ticks need (1.2%, 30%), trailing zeros trimmed.
    return "~%" if percent else "~g"


def _rules(thresholds: Sequence[Threshold], channel: str) -> list[alt.Chart]:
    """One dashed rule and its label per threshold; ``channel`` is the value axis (``x`` or ``y``)."""
    layers = []
    # Bars: labels sit above the plot, one line each from the lowest threshold up, so they
    # never cover a bar's value or each other.
    for i, t in enumerate(sorted(thresholds, key=lambda t: t.value)):
        base = alt.Chart(alt.Data(values=[{"v": t.value, "label": t.label}]))
        rule = base.mark_rule(color=t.color, strokeDash=[5, 3], strokeWidth=1.5, ariaRoleDescription="threshold")
        if channel == "y":
            text = base.mark_text(align="right", baseline="bottom", dy=-2, color=t.color, fontSize=10).encode(
                y="v:Q", x=alt.XValue("width"), text="label:N")
            layers += [rule.encode(y="v:Q", description="label:N"), text]
        else:
            text = base.mark_text(align="center", baseline="bottom", dy=-3 - 12 * i, color=t.color,
                                  fontSize=10).encode(x="v:Q", y=alt.YValue(0), text="label:N")
            layers += [rule.encode(x="v:Q", description="label:N"), text]
    return layers


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


@_without_debug_mode
def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None],
              thresholds: Sequence[Threshold] = (), *, percent: bool = True, axis_title: str = "",
              subtitle: str | Sequence[str] = "") -> str:
    """Horizontal bars, one per label, each with its value written beside it; ``None`` draws no bar.

    Raises:
        ValueError: when labels and values differ in length.
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart got {len(labels)} labels and {len(values)} values: expected one value per label")
    # The value is written right of the bar, or right of zero for a negative bar (never over it).
    rows = [{"label": lab, "v": v if _finite(v) else None, "at": max(v, 0.0) if _finite(v) else 0.0,
             "text": _fmt(v, percent) if _finite(v) else "n/a", "tip": f"{lab}: {_fmt(v, percent) if _finite(v) else 'n/a'}"}
            for lab, v in zip(labels, values)]
    base = alt.Chart(alt.Data(values=rows))
    y = alt.Y("label:N", sort=list(dict.fromkeys(labels)), title=None, axis=alt.Axis(labelLimit=150))
    x = alt.X("v:Q", title=axis_title or None, axis=alt.Axis(format=_axis_format(percent), tickCount=6),
              scale=alt.Scale(zero=True, nice=True))
    bars = base.mark_bar(color=PALETTE[0], height={"band": 0.7}, ariaRoleDescription=SERIES_ROLE).encode(
        y=y, x=x, description="tip:N")
    text = base.mark_text(align="left", dx=3, fontSize=10, color="#333").encode(
        y=y, x=alt.X("at:Q"), text="text:N")
    chart = alt.layer(bars, text, *_rules(thresholds, "x")).properties(
        width=WIDTH, height=max(BAR_ROW * len(rows), 40), title=_title(title, subtitle))
    return to_svg(chart)


@_without_debug_mode
def trend_chart(title: str, points: Sequence[Point], thresholds: Sequence[Threshold] = (), *,
                percent: bool = True, axis_title: str = "", subtitle: str = "", period: str = "run",
                colors: Mapping[str, str] | None = None) -> str:
    """One line per series over the run time (UTC), with a point per run; thresholds as rules.

    ``period`` names what one x value is (``run``, or ``day`` for daily counts); ``colors`` fixes
    some series' colours (e.g. an aggregate drawn beside the symbols), the rest take the palette.

    Non-finite values are left out. When no series has two runs the values are drawn as
    labelled bars (one per series and run), since a line through one point shows nothing.
    """
    kept = [p for p in points if math.isfinite(p.value)]
    if max(Counter(p.series for p in kept).values(), default=0) < 2:
        return _values_instead(title, kept, thresholds, percent, axis_title, subtitle, period)
    times = sorted({p.at for p in kept})
    span_days = (times[-1] - times[0]).total_seconds() / 86_400
    # Daily ticks carry no hour; runs hours apart get the hour too.
    ticks: dict[str, Any] = {"format": "%b %d", "tickCount": {"interval": "day", "step": 1}} if span_days >= 2 \
        else {"format": "%b %d %H:%M"}
    names = list(dict.fromkeys(p.series for p in kept))
    stamp = "%Y-%m-%d %H:%M UTC" if period == "run" else "%Y-%m-%d"
    rows = [{"series": p.series, "at": _iso(p.at), "v": p.value,
             "tip": f"{p.series} · {period} {p.at.astimezone(timezone.utc):{stamp}}: {_fmt(p.value, percent)}"}
            for p in kept]
    base = alt.Chart(alt.Data(values=rows))
    x = alt.X("at:T", title=f"{period} (UTC)" if period != "run" else "run time (UTC)",
              axis=alt.Axis(labelOverlap=True, labelAngle=0, **ticks),
              scale=alt.Scale(type="utc"))
    y = alt.Y("v:Q", title=axis_title or None, axis=alt.Axis(format=_axis_format(percent), tickCount=6))
    palette = iter(PALETTE * (1 + len(names) // len(PALETTE)))
    fixed = colors or {}
    color = alt.Color("series:N", title=None,
                      scale=alt.Scale(domain=names, range=[fixed.get(n) or next(palette) for n in names]),
                      legend=alt.Legend(columns=min(len(names), 4)))
    line = base.mark_line(strokeWidth=2, ariaRoleDescription=SERIES_ROLE).encode(
        x=x, y=y, color=color, description="series:N")
    dots = base.mark_point(filled=True, size=36, ariaRoleDescription=POINT_ROLE).encode(
        x=x, y=y, color=alt.Color("series:N", legend=None), description="tip:N")
    chart = alt.layer(line, dots, *_rules(thresholds, "y")).properties(
        width=WIDTH, height=HEIGHT, title=_title(title, subtitle))
    return to_svg(chart)


def _values_instead(title: str, kept: Sequence[Point], thresholds: Sequence[Threshold], percent: bool,
                    axis_title: str, subtitle: str, period: str) -> str:
    """No series has two points: a labelled bar per value, and a subtitle line that says why."""
    times = sorted({p.at for p in kept})
    when = f"{times[0]:%Y-%m-%d %H:%M} UTC" if times and period == "run" else f"{times[0]:%Y-%m-%d}" if times else ""
    label = (f"one {period} ({when}): values shown" if len(times) == 1 else
             f"{len(times)} {period}s, none twice per series: values shown" if times else f"no {period}s in the period")
    names = [p.series if len(times) < 2 else f"{p.series} {p.at:%m-%d %H:%M}" for p in kept]
    return bar_chart(title, names, [p.value for p in kept], thresholds, percent=percent, axis_title=axis_title,
                     subtitle=[subtitle, label])


def _iso(at: datetime) -> str:
    # Vega parses ISO 8601 with an offset as an absolute instant; naive times are taken as UTC.
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()


def _title(title: str, subtitle: str | Sequence[str]) -> alt.TitleParams:
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    return alt.TitleParams(text=title, subtitle=[x for x in lines if x], subtitlePadding=4, offset=8)


# A data item as vl-convert writes it: a self-closing element with an aria-label.
_ITEM = re.compile(r'<(path|line|rect)( [^>]*?aria-label="([^"]*)"[^>]*?)/>')


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render ``chart`` to an SVG string offline and give every labelled data item a hover ``<title>``.

    The chart's title is repeated as the SVG's first ``<title>`` (its accessible name).
    """
    spec = chart.configure(**CONFIG).to_dict()
    svg = vl_convert.vegalite_to_svg(spec)
    # Inline in HTML the namespaces are implied; dropping them leaves the page without a single URL.
    svg = svg.replace(' xmlns="http://www.w3.org/2000/svg"', "").replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    svg = _ITEM.sub(lambda m: f"<{m.group(1)}{m.group(2)}><title>{m.group(3)}</title></{m.group(1)}>", svg)
    text = spec.get("title", {}).get("text", "") if isinstance(spec.get("title"), dict) else ""
    return svg.replace(">", f' role="img" aria-label="{escape(text)}"><title>{escape(text)}</title>', 1)


def figure(svg: str) -> str:
    """A chart as an HTML figure (the browser check looks for ``figure.chart``)."""
    return f'<figure class="chart">{svg}</figure>'
