"""The CloudWatch dashboard's view, locally: ``python -m jobs.dashboard [--out FILE] [--days N]``.

Reads the job's rows (``DATABASE_URL``, else the embedded default) with the named queries
(``run_figures``: what each run published, the alarms' figures; ``dashboard_*``: the period's
tables) and renders one self-contained HTML page of inline SVG charts (``jobs.monitoring.charts``;
no scripts, no external URLs): divergence vs naive and validation vs test RMSE by run,
overfitting alerts, the ensemble against the legacy baseline, window quality, symbol health
and forecast generation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from html import escape
from typing import Any

from jobs.contract import metrics
from jobs.contract.thresholds import Thresholds
from jobs.monitoring.charts import Point, Threshold, bar_chart, figure, trend_chart
from jobs.monitoring.runs import (
    RunFigures,
    horizon_aggregate,
    read_run_figures,
    worst_series,
)
from jobs.storage.db import connect, load_sql

MAX_ALERT_ROWS = 25
# More lines than this in one chart are unreadable: prod's 100+ symbols show the worst ones.
MAX_LINES = 10
# The warning and critical alarms' figure: the Maximum of Divergence over every window of the run.
WORST_WINDOW = "max window, all symbols"

STYLE = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1250px}.status{font-size:18px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td:first-child,td:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:8px 24px}figure.chart{margin:6px 0}
.OK{color:#2ca02c}.REVIEW,.REFUSED{color:#b8860b}.CRITICAL,.ROLLBACK,.FAILED{color:#d62728;font-weight:bold}.note{color:#666}"""


@dataclass(frozen=True)
class DashboardData:
    """The rows behind every chart: per-run figures (``run_figures``) and the ``dashboard_*`` queries."""

    days: int
    thresholds: Thresholds
    runs: tuple[RunFigures, ...]
    health: list[dict[str, Any]]
    baseline: list[dict[str, Any]]
    generation: list[dict[str, Any]]
    alerts: list[dict[str, Any]]

    @property
    def symbols(self) -> list[str]:
        """Every symbol with rows in the period."""
        return sorted({r["symbol"] for r in self.health})


def load_dashboard(url: str, days: int, thresholds: Thresholds | None = None,
                   until: datetime | None = None) -> DashboardData:
    """Run the dashboard queries for the last ``days`` days (up to ``until``, default now).

    Raises:
        ValueError: ``days`` is not a positive number of days.
    """
    if days < 1:
        raise ValueError(f"days={days} is invalid: expected a whole number of days >= 1")
    thresholds = thresholds or Thresholds()
    end = until or datetime.now(timezone.utc)
    params = {"days": days, "critical": thresholds.divergence_critical, "limit": MAX_ALERT_ROWS}
    with connect(url) as conn:
        def rows(name: str) -> list[dict[str, Any]]:
            return conn.execute(load_sql(name), params).fetchall()

        runs = read_run_figures(conn, end - timedelta(days=days), end)
        return DashboardData(days, thresholds, runs, rows("dashboard_symbol_health"), rows("dashboard_baseline"),
                             rows("dashboard_forecast_generation"), rows("dashboard_overfitting_alerts"))


def status(row: Mapping[str, Any], t: Thresholds) -> str:
    """A symbol-horizon's health: FAILED, ROLLBACK, CRITICAL, REFUSED, REVIEW or OK (worst first).

    REFUSED: its input was refused (data incidents) and nothing forecast: the data team's, not a release's.
    """
    if row["failures"] and not row["forecasts"]:
        return "FAILED"
    if (row.get("data_incidents") or row.get("quarantined")) and not row["forecasts"]:
        return "REFUSED"
    avg, top = row["avg_divergence"], row["max_divergence"]
    if row["model_errors"] or (avg is not None and avg > t.divergence_rollback):
        return "ROLLBACK"
    if top is not None and top > t.divergence_critical:
        return "CRITICAL"
    if top is not None and top > t.divergence_warning:
        return "REVIEW"
    return "OK"


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _label(row: Mapping[str, Any]) -> str:
    return f"{row['symbol']} {row['horizon']}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _horizons(d: DashboardData) -> list[str]:
    return sorted({f.horizon for f in d.runs})


def _symbol_points(runs: Sequence[RunFigures], read: Callable[[RunFigures], float | None]) -> list[Point]:
    """One series per symbol (the ``MAX_LINES`` with the highest values, so prod's 100+ stay readable)."""
    shown, _ = worst_series([f for f in runs if read(f) is not None], read, MAX_LINES)
    keep = set(shown)
    return [Point(f.symbol, f.run_at, v) for f in runs if f.label in keep and (v := read(f)) is not None]


def _lines_note(runs: Sequence[RunFigures]) -> str:
    n = len({f.symbol for f in runs})
    return f" ({MAX_LINES} highest of {n} symbols)" if n > MAX_LINES else ""


def divergence_section(d: DashboardData) -> str:
    """Per horizon: each symbol's average divergence vs naive by run, and the worst window (the alarms' figures)."""
    t, charts = d.thresholds, []
    for h in _horizons(d):
        runs = [f for f in d.runs if f.horizon == h]
        points = _symbol_points(runs, lambda f: f.symbol_average_divergence)
        points += [Point(WORST_WINDOW, r.run_at, v) for r in horizon_aggregate(runs)
                   if (v := r.values["divergence"]) is not None]
        charts.append(trend_chart(
            f"{h}: divergence vs naive by run{_lines_note(runs)}", points,
            [Threshold(t.divergence_warning, f"warning {t.divergence_warning:.0%}", "#b8860b"),
             Threshold(t.divergence_rollback, f"rollback (symbol mean) {t.divergence_rollback:.0%}", "#9467bd"),
             Threshold(t.divergence_critical, f"critical {t.divergence_critical:.0%}")],
            axis_title="divergence vs naive", colors={WORST_WINDOW: "#333333"},
            subtitle=f"{metrics.SYMBOL_AVERAGE_DIVERGENCE} per symbol; max {metrics.DIVERGENCE} over all windows"))
        charts.append(rmse_chart(h, runs))
        if any(f.interval_coverage is not None for f in runs):
            charts.append(coverage_chart(h, runs, t))
    note = "" if charts else '<p class="note">No window rows in the period.</p>'
    return _section("Divergence trends (the guard's figure: skill vs the naive forecast)", charts, note)


def coverage_chart(horizon: str, runs: Sequence[RunFigures], t: Thresholds) -> str:
    """Each symbol's 90% interval coverage by run, against the review band and the alarms' bounds."""
    return trend_chart(
        f"{horizon}: 90% interval coverage by run{_lines_note(runs)}",
        _symbol_points(runs, lambda f: f.interval_coverage),
        # Only the alarm bounds are drawn: four lines within 18 points overlap their labels.
        [Threshold(t.coverage_alarm_low, f"alarm below {t.coverage_alarm_low:.0%}"),
         Threshold(t.coverage_alarm_high, f"alarm above {t.coverage_alarm_high:.0%}")],
        axis_title="share of outcomes inside the interval",
        subtitle=f"{metrics.INTERVAL_COVERAGE}: test-slice outcomes inside the 90% interval (0.9 is calibrated); "
                 f"review band {t.coverage_review_low:.0%}-{t.coverage_review_high:.0%}")


def rmse_chart(horizon: str, runs: Sequence[RunFigures]) -> str:
    """Validation and test RMSE by run, window-weighted over the horizon's symbols (the CloudWatch widget's Average)."""
    points = []
    for run_id in dict.fromkeys(f.run_id for f in runs):
        members = [f for f in runs if f.run_id == run_id]
        n = sum(f.windows_evaluated for f in members)
        at = min(f.run_at for f in members)
        points += [Point("validation RMSE", at, sum(f.validation_rmse * f.windows_evaluated for f in members) / n),
                   Point("test RMSE", at, sum(f.test_rmse * f.windows_evaluated for f in members) / n)]
    return trend_chart(f"{horizon}: validation vs test RMSE by run", points, axis_title=f"RMSE of the {horizon} return",
                       subtitle=f"{metrics.VALIDATION_RMSE}, {metrics.TEST_RMSE}: mean over windows (raw RMSE: "
                                "volatility moves it)")


def overfitting_section(d: DashboardData) -> str:
    """Overfitting alerts: max divergence per symbol-horizon and the worst overfitting windows."""
    t = d.thresholds
    chart = bar_chart("Max window divergence per symbol", [_label(r) for r in d.health],
                      [_num(r["max_divergence"]) for r in d.health],
                      [Threshold(t.divergence_warning, f"warning {t.divergence_warning:.0%}", "#b8860b"),
                       Threshold(t.divergence_critical, f"critical {t.divergence_critical:.0%}")],
                      axis_title="divergence vs naive (worst window)")
    rows = [(escape(r["symbol"]), escape(r["horizon"]), str(r["window_id"]), escape(str(r["test_start"])[:10]),
             _pct(r["divergence"]), "critical" if r["is_critical"] else "warning") for r in d.alerts]
    table = _table(("symbol", "horizon", "window", "test start", "divergence", "severity"), rows) if rows else \
        '<p class="note">No overfitting windows in the period.</p>'
    return _section(f"Overfitting alerts (divergence > {t.divergence_warning:.0%})", [chart] if d.health else [], table)


def baseline_section(d: DashboardData) -> str:
    """The ensemble's test RMSE against the paired legacy baseline, by run per symbol."""
    if not d.baseline:
        return _section("RMSE: ensemble vs legacy baseline", [],
                        '<p class="note">No paired baseline rows: run the job with BASELINE_MODELS set.</p>')
    t = d.thresholds
    charts = []
    for h in _horizons(d):
        runs = _of(d, h)
        if any(f.rmse_vs_baseline is not None for f in runs):
            charts.append(trend_chart(
                f"{h}: test RMSE vs the paired baseline by run{_lines_note(runs)}",
                _symbol_points(runs, lambda f: f.rmse_vs_baseline),
                [Threshold(t.rmse_escalation, f"escalate +{t.rmse_escalation:.0%}", "#b8860b"),
                 Threshold(t.rmse_rollback, f"rollback +{t.rmse_rollback:.0%}")],
                axis_title="test RMSE vs baseline",
                subtitle=f"{metrics.RMSE_VS_BASELINE}: ensemble / legacy test RMSE - 1, same windows"))
    rows = [(escape(r["symbol"]), escape(r["horizon"]), escape(r["model_set"]), escape(r["baseline_model_set"]),
             str(r["paired_windows"]), f"{r['avg_test_rmse']:.5f}", f"{r['avg_baseline_test_rmse']:.5f}",
             _pct(r["rmse_vs_baseline"])) for r in d.baseline]
    table = _table(("symbol", "horizon", "ensemble", "baseline", "windows", "test RMSE", "baseline RMSE",
                    "vs baseline"), rows)
    return _section("RMSE: ensemble vs legacy baseline", charts, table)


def _of(d: DashboardData, horizon: str) -> list[RunFigures]:
    return [f for f in d.runs if f.horizon == horizon]


def quality_section(d: DashboardData) -> str:
    """Window quality: share of overfitting windows, and the raw test/validation RMSE ratio labelled for what it is."""
    if not d.health:
        return _section("Window quality", [], '<p class="note">No window rows in the period.</p>')
    share = [r["overfitting_windows"] / r["windows"] if r["windows"] else None for r in d.health]
    labels = [_label(r) for r in d.health]
    charts = [bar_chart("Share of overfitting windows", labels, share,
                        [Threshold(d.thresholds.overfitting_share, f"target below {d.thresholds.overfitting_share:.0%}")],
                        axis_title=f"windows with divergence above {d.thresholds.divergence_warning:.0%}"),
              bar_chart("Raw test/validation RMSE ratio (not the guard's figure)", labels,
                        [_num(r["avg_rmse_ratio"]) for r in d.health], [Threshold(1.0, "equal", "#7f7f7f")],
                        percent=False, axis_title="test RMSE / validation RMSE (mean over windows)",
                        subtitle="Volatility alone moves it by 20% or more (docs/design.md §3.3); the guard uses divergence")]
    return _section("Window quality", charts)


def health_section(d: DashboardData) -> str:
    """Symbol health: status per symbol-horizon with its figures."""
    rows = []
    for r in d.health:
        s = status(r, d.thresholds)
        rows.append((escape(r["symbol"]), escape(r["horizon"]), f'<span class="{s}">{s}</span>', str(r["windows"]),
                     _pct(r["avg_divergence"]), _pct(r["max_divergence"]), str(r["overfitting_windows"]),
                     str(r["model_errors"]), str(r["forecasts"]), str(r["failures"]), str(r.get("data_incidents", 0)),
                     "yes" if r.get("quarantined") else ""))
    table = _table(("symbol", "horizon", "status", "windows", "avg div", "max div", "overfitting", "model errors",
                    "forecasts", "failures", "data incidents", "quarantined"), rows)
    return _section("Symbol health", [], table)


def generation_section(d: DashboardData) -> str:
    """Forecast generation: forecasts written, pipeline failures and data incidents per run day."""
    points = [Point(f"{r['horizon']} {kind}", datetime.combine(r["day"], time(), timezone.utc), float(r[kind]))
              for r in d.generation for kind in ("written", "failed", "refused")]
    charts = [trend_chart("Forecasts written, failed (code) and refused (data) per day", points, percent=False,
                          axis_title="forecasts per day",
                          subtitle=f"{metrics.FORECASTS_WRITTEN}, {metrics.PIPELINE_FAILURES}, "
                                   f"{metrics.DATA_INCIDENTS} + {metrics.QUARANTINED_TASKS}", period="day")] \
        if points else []
    total_w = sum(r["written"] for r in d.generation)
    total_f = sum(r["failed"] for r in d.generation)
    total_r = sum(r.get("refused", 0) for r in d.generation)
    return _section("Forecast generation", charts,
                    f"<p>{total_w} forecasts written, {total_f} failed in code (rollback trigger), {total_r} refused "
                    "as data incidents (reported; a rollback only when systemic).</p>")


def _section(title: str, charts: Sequence[str], extra: str = "") -> str:
    return (f'<section><h2>{escape(title)}</h2><div class="charts">{"".join(figure(c) for c in charts)}</div>'
            f'{extra}</section>')


SEVERITY = ("OK", "REVIEW", "REFUSED", "CRITICAL", "FAILED", "ROLLBACK")


def overall_status(d: DashboardData) -> str:
    """The worst symbol-horizon status and how many symbol-horizons have each, e.g. ``ROLLBACK (1 ROLLBACK, 2 OK)``."""
    counts = Counter(status(r, d.thresholds) for r in d.health)
    if not counts:
        return "NO DATA (no rows in the period)"
    worst = max(counts, key=SEVERITY.index)
    return f"{worst} (" + ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITY) if counts[s]) + ")"


def render_html(d: DashboardData, generated: datetime | None = None) -> str:
    """The whole page: one self-contained HTML document."""
    when = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f(d) for f in (divergence_section, overfitting_section, baseline_section, quality_section,
                                   health_section, generation_section))
    symbols = ", ".join(d.symbols) or "none"
    state = overall_status(d)
    t = d.thresholds
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Ensemble forecast dashboard'
            f'</title><style>{STYLE}</style></head><body><h1>Ensemble forecast dashboard</h1>'
            f'<p>Last {d.days} day(s), generated {when}. Symbols: {escape(symbols)}.</p>'
            f'<p id="decision" class="status">Status: <span class="{state.split()[0]}">{escape(state)}</span></p>'
            f'<p id="thresholds">Thresholds: warning {t.divergence_warning:.0%}, critical {t.divergence_critical:.0%}, '
            f'rollback {t.divergence_rollback:.0%} (a symbol\'s average divergence vs naive); RMSE vs baseline '
            f'escalate +{t.rmse_escalation:.0%}, rollback +{t.rmse_rollback:.0%}; overfitting windows below '
            f'{t.overfitting_share:.0%}.</p>{body}</body></html>')
