"""Render a rollout review as Markdown and as one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

from html import escape
from pathlib import Path

from jobs.contract.thresholds import Thresholds
from jobs.monitoring.charts import Threshold, bar_chart, line_chart
from jobs.rollout.checks import Review, SymbolHorizonStats, pct
from jobs.rollout.data import ReviewData

MAX_LINES = 10
COLUMNS = ("symbol", "horizon", "runs", "windows", "avg divergence", "max divergence", "overfitting",
           "RMSE vs baseline", "model errors", "forecasts", "failures", "missing", "generated", "inconsistent",
           "logged", "coverage")


def stats_row(s: SymbolHorizonStats) -> tuple[str, ...]:
    """One symbol-horizon's figures as table cells, in ``COLUMNS`` order."""
    rmse = "n/a" if s.rmse_change is None else f"{s.rmse_change:+.1%}"
    return (s.symbol, s.horizon, str(s.runs), str(s.windows), pct(s.avg_divergence), pct(s.max_divergence),
            f"{s.overfitting_windows} ({pct(s.overfitting_share)})", rmse, str(s.model_errors), str(s.forecasts),
            str(s.failures), str(s.missing), pct(s.generated_share), str(s.inconsistent), pct(s.logged_share),
            pct(s.avg_coverage))


def title(review: Review) -> str:
    """The report's heading."""
    return f"Rollout review: {review.phase}, last {review.days} day(s)"


def render_markdown(review: Review, data: ReviewData, t: Thresholds) -> str:
    """The report as Markdown: decision, reasons, every check, the per symbol-horizon table, incidents."""
    lines = [f"# {title(review)}", "",
             f"Window: {data.since:%Y-%m-%d %H:%M}Z to {data.until:%Y-%m-%d %H:%M}Z.", "",
             f"## Decision: {review.decision.value}", "", *(f"- {r}" for r in review.reasons), "",
             "## Checks", "", "| check | status | summary |", "|---|---|---|",
             *(f"| {c.name} | {c.status.value} | {c.summary} |" for c in review.checks), "",
             "## Per symbol and horizon", "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS), *("| " + " | ".join(stats_row(s)) + " |" for s in review.stats), ""]
    if review.incidents:
        lines += ["## Incidents", "", "| kind | symbol | horizon | detail |", "|---|---|---|---|",
                  *(f"| {i.kind} | {i.symbol} | {i.horizon} | {i.detail} |" for i in review.incidents), ""]
    lines += ["## Thresholds", "", *threshold_lines(t), ""]
    return "\n".join(lines)


def threshold_lines(t: Thresholds) -> list[str]:
    """The thresholds the decision used, as Markdown bullets."""
    return [
        f"- PROCEED needs average divergence below {pct(t.divergence_proceed)}, overfitting below "
        f"{pct(t.overfitting_share)} of windows, test RMSE at most {pct(t.rmse_escalation)} worse than the paired "
        f"baseline, no errors, every forecast logged, and the 90% interval covering {pct(t.coverage_review_low)} "
        f"to {pct(t.coverage_review_high)} of the phase's test outcomes.",
        f"- ROLLBACK on average divergence above {pct(t.divergence_rollback)} for any symbol-horizon, RMSE more "
        f"than {pct(t.rmse_rollback)} worse, any failed symbol, a missing, inconsistent or unlogged forecast, or "
        f"more than {t.alert_storm_count} critical alerts (divergence above "
        f"{pct(t.divergence_critical)}) in one hour.",
        "- MONITOR otherwise: extend the phase by 3 days and review again.",
    ]


def charts(review: Review, data: ReviewData, t: Thresholds) -> list[str]:
    """The report's charts as SVG strings: divergence trend, average divergence, RMSE vs baseline, overfitting."""
    stats = [s for s in review.stats if s.windows]
    labels = [s.label for s in stats]
    days = sorted({p.day for p in data.daily})
    day_labels = [f"{d:%m-%d}" for d in days]
    series: dict[str, list[float | None]] = {label: [None] * len(days) for label in labels}
    for p in data.daily:
        series.setdefault(f"{p.symbol} {p.horizon}", [None] * len(days))[days.index(p.day)] = p.avg_divergence
    # A line per symbol-horizon is unreadable at prod's 300: draw the worst ones, say so in the title.
    shown = sorted(series, key=lambda k: -max((v for v in series[k] if v is not None), default=0.0))[:MAX_LINES]
    trend_title = "Average divergence per day" + (
        f" ({MAX_LINES} highest of {len(series)})" if len(series) > MAX_LINES else "")
    divergence_lines = (Threshold(t.divergence_proceed, f"proceed {pct(t.divergence_proceed)}", "#2ca02c"),
                        Threshold(t.divergence_rollback, f"rollback {pct(t.divergence_rollback)}"))
    return [
        line_chart(trend_title, day_labels, {k: series[k] for k in shown}, divergence_lines),
        bar_chart("Average divergence per symbol and horizon", labels, [s.avg_divergence for s in stats],
                  divergence_lines),
        bar_chart("Test RMSE against the paired baseline", labels, [s.rmse_change for s in stats],
                  (Threshold(t.rmse_escalation, f"+{pct(t.rmse_escalation)}", "#ff7f0e"),
                   Threshold(t.rmse_rollback, f"+{pct(t.rmse_rollback)}"))),
        bar_chart("Share of overfitting windows", labels, [s.overfitting_share for s in stats],
                  (Threshold(t.overfitting_share, f"{pct(t.overfitting_share)}"),)),
    ]


_CSS = """body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}.PROCEED{color:#2ca02c}.MONITOR{color:#e69500}
.ROLLBACK{color:#d62728}figure{margin:1em 0}"""


def render_html(review: Review, data: ReviewData, t: Thresholds) -> str:
    """The report as one self-contained HTML page: no scripts, no stylesheets or images fetched."""
    def table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><tr>{cells}</tr>{body}</table>"

    decision = review.decision.value
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title(review))}</title>"
        f"<style>{_CSS}</style></head><body><h1>{escape(title(review))}</h1>",
        f"<p>Window: {data.since:%Y-%m-%d %H:%M}Z to {data.until:%Y-%m-%d %H:%M}Z.</p>",
        f"<h2>Decision: <span class='{decision}'>{decision}</span></h2><ul>",
        *(f"<li>{escape(r)}</li>" for r in review.reasons), "</ul><h2>Checks</h2>",
        table(("check", "status", "summary"), [(c.name, c.status.value, c.summary) for c in review.checks]),
        "<h2>Charts</h2>", *(f"<figure>{svg}</figure>" for svg in charts(review, data, t)),
        "<h2>Per symbol and horizon</h2>", table(COLUMNS, [stats_row(s) for s in review.stats]),
    ]
    if review.incidents:
        parts += ["<h2>Incidents</h2>",
                  table(("kind", "symbol", "horizon", "detail"),
                        [(i.kind, i.symbol, i.horizon, i.detail) for i in review.incidents])]
    parts += ["<h2>Thresholds</h2><ul>", *(f"<li>{escape(x[2:])}</li>" for x in threshold_lines(t)),
              "</ul></body></html>"]
    return "\n".join(parts)


def write_reports(review: Review, data: ReviewData, t: Thresholds, out_dir: Path) -> tuple[Path, Path]:
    """Write ``rollout_review_<phase>.md`` and ``.html`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"rollout_review_{review.phase}.md"
    html = out_dir / f"rollout_review_{review.phase}.html"
    md.write_text(render_markdown(review, data, t))
    html.write_text(render_html(review, data, t))
    return md, html

