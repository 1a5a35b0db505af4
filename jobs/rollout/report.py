"""Render a rollout review as Markdown and as one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from jobs.contract import metrics
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import applies
from jobs.monitoring.charts import Point, Threshold, bar_chart, figure, trend_chart
from jobs.monitoring.report_files import ensure_dir, write_text_atomic
from jobs.monitoring.runs import RunFigures, worst_series
from jobs.rollout.checks import Review, SymbolHorizonStats, pct, storm_period
from jobs.rollout.data import ReviewData

MAX_LINES = 10
COLUMNS = ("symbol", "horizon", "runs", "windows", "avg divergence", "max divergence", "overfitting",
           "RMSE vs baseline", "model errors", "forecasts", "failures", "data incidents", "missing", "generated",
           "inconsistent", "logged", "coverage")
# How many symbol-horizons the problematic-symbols list shows by divergence.
TOP_DIVERGENCE = 10


def stats_row(s: SymbolHorizonStats) -> tuple[str, ...]:
    """One symbol-horizon's figures as table cells, in ``COLUMNS`` order."""
    rmse = "n/a" if s.rmse_change is None else f"{s.rmse_change:+.1%}"
    return (s.symbol, s.horizon, str(s.runs), str(s.windows), pct(s.avg_divergence), pct(s.max_divergence),
            f"{s.overfitting_windows} ({pct(s.overfitting_share)})", rmse, str(s.model_errors), str(s.forecasts),
            str(s.failures), str(s.data_incidents), str(s.missing), pct(s.generated_share), str(s.inconsistent),
            pct(s.logged_share), pct(s.avg_coverage))


def problematic(review: Review) -> list[tuple[str, str]]:
    """The prod weekly task "identify problematic symbols": ``(heading, line)`` pairs, worst first.

    The highest average divergences, the symbols with data incidents (runs refused), and the
    quarantined symbols.
    """
    ranked = sorted((s for s in review.stats if s.avg_divergence is not None), key=lambda s: -(s.avg_divergence or 0))
    out = [("top divergence", f"{s.label}: average {pct(s.avg_divergence)}, max {pct(s.max_divergence)}, "
                              f"{s.overfitting_windows} of {s.windows} windows overfitting")
           for s in ranked[:TOP_DIVERGENCE]]
    refused: dict[str, int] = {}
    for s in review.stats:
        if s.data_incidents:
            refused[s.symbol] = refused.get(s.symbol, 0) + s.data_incidents
    out += [("data incidents", f"{sym}: {n} task(s) refused")
            for sym, n in sorted(refused.items(), key=lambda kv: (-kv[1], kv[0]))]
    out += [("quarantined", f"{i.symbol}: {i.detail}") for i in review.incidents if i.kind == "quarantined"]
    return out


def title(review: Review) -> str:
    """The report's heading."""
    return f"Rollout review: {review.phase}, last {review.days} day(s)"


# CommonMark's inline specials (a backslash escapes any ASCII punctuation); '|' for GFM tables.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#])")


def md(text: object) -> str:
    """``text`` as literal Markdown: special characters backslash-escaped, line breaks folded.

    Run ids, reasons and details come from the database: a ``|`` must not split a table cell,
    and ``<script>``, links or emphasis in them must show as typed.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_row(cells: tuple[str, ...]) -> str:
    """One Markdown table row, every cell escaped."""
    return "| " + " | ".join(md(c) for c in cells) + " |"


def render_markdown(review: Review, data: ReviewData, t: Thresholds) -> str:
    """The report as Markdown: decision, reasons, every check, the per symbol-horizon table, incidents."""
    lines = [f"# {md(title(review))}", "",
             f"Window: {data.since:%Y-%m-%d %H:%M}Z to {data.until:%Y-%m-%d %H:%M}Z.", "",
             f"## Decision: {review.decision.value}", "", *(f"- {md(r)}" for r in review.reasons), "",
             "## Checks", "", "| check | status | summary |", "|---|---|---|",
             *(md_row((c.name, c.status.value, c.summary)) for c in review.checks), "",
             "## Per symbol and horizon", "", md_row(COLUMNS),
             "|" + "---|" * len(COLUMNS), *(md_row(stats_row(s)) for s in review.stats), ""]
    if review.incidents:
        lines += ["## Incidents", "", "| kind | symbol | horizon | detail |", "|---|---|---|---|",
                  *(md_row((i.kind, i.symbol, i.horizon, i.detail)) for i in review.incidents), ""]
    lines += ["## Problematic symbols", "", "| list | symbol and figures |", "|---|---|",
              *(md_row(row) for row in problematic(review)), ""]
    lines += ["## Thresholds", "", *threshold_lines(t, review.phase), ""]
    return "\n".join(lines)


def divergence_criterion(t: Thresholds, phase: str) -> str:
    """The phase's own divergence criterion (``jobs.contract.triggers``: canary, limited, prod differ)."""
    if applies("divergence-symbol-share", phase):
        return (f"at least {pct(t.limited_symbol_share)} of symbols averaging a divergence below "
                f"{pct(t.divergence_warning)}, calibration recorded for every symbol")
    if applies("divergence-warning", phase):
        return f"no symbol-horizon averaging a divergence above {pct(t.divergence_warning)} (the daily warning)"
    return f"average divergence below {pct(t.divergence_proceed)}"


def threshold_lines(t: Thresholds, phase: str = "canary") -> list[str]:
    """The thresholds the decision used, as Markdown bullets (the divergence criterion is the phase's)."""
    return [
        f"- PROCEED ({phase}) needs {divergence_criterion(t, phase)}, overfitting below "
        f"{pct(t.overfitting_share)} of windows, test RMSE at most {pct(t.rmse_escalation)} worse than the paired "
        f"baseline, no errors, every forecast logged, and the 90% interval covering {pct(t.coverage_review_low)} "
        f"to {pct(t.coverage_review_high)} of the phase's test outcomes.",
        f"- ROLLBACK on average divergence above {pct(t.divergence_rollback)} for any symbol-horizon, RMSE more "
        f"than {pct(t.rmse_rollback)} worse, any symbol failed in code, a forecast missing with no recorded reason, "
        f"an inconsistent or unlogged forecast, more than {t.alert_storm_count} critical alerts (divergence above "
        f"{pct(t.divergence_critical)}) in {storm_period(t)}, or a systemic data outage (a run refusing more than "
        f"{pct(t.data_incident_share)} of its symbols, at least {t.data_incident_min_symbols}).",
        f"- Data incidents (input refused: too few bars, a gap, a stale feed, a damaged price, an unadjusted split, "
        f"an unknown symbol) are reported for the data team and decide nothing below that share; "
        f"{t.quarantine_after} in a row quarantine a symbol.",
        "- MONITOR otherwise: extend the phase by 3 days and review again.",
    ]


def threshold_summary(t: Thresholds) -> str:
    """The thresholds in one line, shown beside the decision."""
    return (f"Thresholds: average divergence vs naive below {pct(t.divergence_proceed)} to proceed, above "
            f"{pct(t.divergence_rollback)} rolls back; overfitting windows below {pct(t.overfitting_share)}; test RMSE "
            f"at most {pct(t.rmse_escalation)} worse than the baseline (rollback above {pct(t.rmse_rollback)}); "
            f"critical window above {pct(t.divergence_critical)}, storm above {t.alert_storm_count} in {storm_period(t)}.")


def charts(review: Review, data: ReviewData, t: Thresholds) -> list[str]:
    """The report's charts as SVG strings: trends by run, then the period's figures per symbol-horizon."""
    stats = [s for s in review.stats if s.windows]
    labels = [s.label for s in stats]
    divergence_lines = (Threshold(t.divergence_proceed, f"proceed below {pct(t.divergence_proceed)}", "#2ca02c"),
                        Threshold(t.divergence_rollback, f"rollback above {pct(t.divergence_rollback)}"))
    rmse_lines = (Threshold(t.rmse_escalation, f"escalate +{pct(t.rmse_escalation)}", "#e69500"),
                  Threshold(t.rmse_rollback, f"rollback +{pct(t.rmse_rollback)}"))
    out = [
        _trend(data, lambda f: f.symbol_average_divergence, "Divergence vs naive by run",
               f"{metrics.SYMBOL_AVERAGE_DIVERGENCE}: each symbol-horizon's mean window divergence per run",
               "divergence vs naive", divergence_lines),
        _trend(data, lambda f: f.rmse_vs_baseline, "Test RMSE vs the paired baseline by run",
               f"{metrics.RMSE_VS_BASELINE}: ensemble / legacy test RMSE - 1 on the same windows",
               "test RMSE vs baseline", rmse_lines),
        bar_chart("Average divergence vs naive per symbol-horizon", labels, [s.avg_divergence for s in stats],
                  divergence_lines, axis_title="divergence vs naive (period mean)") if stats else None,
        bar_chart("Test RMSE against the paired baseline", labels, [s.rmse_change for s in stats], rmse_lines,
                  axis_title="test RMSE vs baseline (period)")
        if any(s.rmse_change is not None for s in stats) else None,
        bar_chart("Share of overfitting windows", labels, [s.overfitting_share for s in stats],
                  (Threshold(t.overfitting_share, f"proceed below {pct(t.overfitting_share)}"),),
                  axis_title=f"windows with divergence above {pct(t.divergence_warning)}") if stats else None,
    ]
    # A chart with nothing to draw is left out (the tables say what is missing).
    return [svg for svg in out if svg is not None]


def _trend(data: ReviewData, read: Callable[[RunFigures], float | None], title_text: str, subtitle: str,
           axis_title: str, lines: Sequence[Threshold]) -> str | None:
    """One line per symbol-horizon over the run time; at prod's 300 only the worst ``MAX_LINES``, said in the title.

    ``None`` when no run has a value.
    """
    shown, total = worst_series([f for f in data.runs if read(f) is not None], read, MAX_LINES)
    if not shown:
        return None
    keep = set(shown)
    points = [Point(f.label, f.run_at, v) for f in data.runs if f.label in keep and (v := read(f)) is not None]
    suffix = f" ({MAX_LINES} highest of {total})" if total > MAX_LINES else ""
    return trend_chart(title_text + suffix, points, lines, axis_title=axis_title, subtitle=subtitle)


_CSS = """body{font-family:sans-serif;margin:2em;max-width:1250px;color:#222}
.charts{display:flex;flex-wrap:wrap;gap:8px 24px}figure.chart{margin:0.5em 0}
table{border-collapse:collapse;margin:1em 0;display:block;max-width:100%;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}.PROCEED{color:#2ca02c}.MONITOR{color:#e69500}
.ROLLBACK{color:#d62728}#thresholds-summary{color:#444}"""


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
        f"<h2 id='decision'>Decision: <span class='{decision}'>{decision}</span></h2>",
        f"<p id='thresholds-summary'>{escape(threshold_summary(t))}</p><ul>",
        *(f"<li>{escape(r)}</li>" for r in review.reasons), "</ul><h2>Checks</h2>",
        table(("check", "status", "summary"), [(c.name, c.status.value, c.summary) for c in review.checks]),
        "<h2>Charts</h2><div class='charts'>", *(figure(svg) for svg in charts(review, data, t)), "</div>",
        "<h2>Per symbol and horizon</h2>", table(COLUMNS, [stats_row(s) for s in review.stats]),
    ]
    if review.incidents:
        parts += ["<h2>Incidents</h2>",
                  table(("kind", "symbol", "horizon", "detail"),
                        [(i.kind, i.symbol, i.horizon, i.detail) for i in review.incidents])]
    parts += ["<h2 id='problematic'>Problematic symbols</h2>",
              table(("list", "symbol and figures"), problematic(review))]
    parts += ["<h2 id='thresholds'>Thresholds</h2><ul>", *(f"<li>{escape(x[2:])}</li>" for x in threshold_lines(t, review.phase)),
              "</ul></body></html>"]
    return "\n".join(parts)


def write_reports(review: Review, data: ReviewData, t: Thresholds, out_dir: Path) -> tuple[Path, Path]:
    """Write ``rollout_review_<phase>.md`` and ``.html`` into ``out_dir`` atomically; return both paths."""
    ensure_dir(out_dir, "--out-dir")
    markdown = write_text_atomic(out_dir / f"rollout_review_{review.phase}.md", render_markdown(review, data, t),
                                 "--out-dir")
    html = write_text_atomic(out_dir / f"rollout_review_{review.phase}.html", render_html(review, data, t),
                             "--out-dir")
    return markdown, html

