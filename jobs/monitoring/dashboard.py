"""The CloudWatch dashboard's view, locally: ``python -m jobs.dashboard [--out FILE] [--days N]``.

Reads the job's rows (``DATABASE_URL``, else the embedded default) with the named
``dashboard_*`` queries and renders one self-contained HTML page of inline SVG charts (no
scripts, no external URLs): divergence trends (validation vs test RMSE), overfitting
alerts, the ensemble against the legacy baseline, window quality, symbol health and
forecast generation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any

from jobs.contract.thresholds import Thresholds
from jobs.monitoring.charts import Threshold, bar_chart, line_chart
from jobs.storage.db import connect, load_sql

# The rollout document's rollback and escalation triggers (the stacks' defaults).
MAX_ALERT_ROWS = 25
MAX_X_LABELS = 6

STYLE = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td:first-child,td:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}
.OK{color:#2ca02c}.REVIEW{color:#b8860b}.CRITICAL,.ROLLBACK,.FAILED{color:#d62728;font-weight:bold}.note{color:#666}"""


@dataclass(frozen=True)
class DashboardData:
    """The rows behind every chart, each list straight from its ``dashboard_*`` query."""

    days: int
    thresholds: Thresholds
    trend: list[dict[str, Any]]
    health: list[dict[str, Any]]
    baseline: list[dict[str, Any]]
    generation: list[dict[str, Any]]
    alerts: list[dict[str, Any]]

    @property
    def symbols(self) -> list[str]:
        """Every symbol with rows in the period."""
        return sorted({r["symbol"] for r in self.health})


def load_dashboard(url: str, days: int, thresholds: Thresholds | None = None) -> DashboardData:
    """Run the dashboard queries for the last ``days`` days.

    Raises:
        ValueError: ``days`` is not a positive number of days.
    """
    if days < 1:
        raise ValueError(f"days={days} is invalid: expected a whole number of days >= 1")
    thresholds = thresholds or Thresholds()
    params = {"days": days, "critical": thresholds.divergence_critical, "limit": MAX_ALERT_ROWS}
    with connect(url) as conn:
        def rows(name: str) -> list[dict[str, Any]]:
            return conn.execute(load_sql(name), params).fetchall()

        return DashboardData(days, thresholds, rows("dashboard_window_trend"), rows("dashboard_symbol_health"),
                             rows("dashboard_baseline"), rows("dashboard_forecast_generation"),
                             rows("dashboard_overfitting_alerts"))


def status(row: Mapping[str, Any], t: Thresholds) -> str:
    """A symbol-horizon's health: FAILED, ROLLBACK, CRITICAL, REVIEW or OK (worst first)."""
    if row["failures"] and not row["forecasts"]:
        return "FAILED"
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


def _thin(labels: Sequence[str]) -> list[str]:
    # Every label printed would overlap; keep about MAX_X_LABELS of them.
    step = max(1, -(-len(labels) // MAX_X_LABELS))
    return [s if i % step == 0 else "" for i, s in enumerate(labels)]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def trend_section(d: DashboardData) -> str:
    """Divergence trends: validation vs test RMSE, and divergence, per walk-forward test period."""
    charts = []
    for h in sorted({r["horizon"] for r in d.trend}):
        rows = [r for r in d.trend if r["horizon"] == h]
        x = _thin([str(r["period"]) for r in rows])
        charts.append(line_chart(f"{h}: validation vs test RMSE", x, {
            "validation RMSE": [_num(r["avg_val_rmse"]) for r in rows],
            "test RMSE": [_num(r["avg_test_rmse"]) for r in rows]}, percent=False))
        charts.append(line_chart(f"{h}: divergence (mean and max)", x, {
            "mean divergence": [_num(r["avg_divergence"]) for r in rows],
            "max divergence": [_num(r["max_divergence"]) for r in rows]},
            thresholds=[Threshold(d.thresholds.divergence_warning, "warning", "#b8860b"), Threshold(d.thresholds.divergence_critical, "critical")]))
    return _section("Divergence trends (validation vs test RMSE)", charts)


def overfitting_section(d: DashboardData) -> str:
    """Overfitting alerts: max divergence per symbol-horizon and the worst overfitting windows."""
    chart = bar_chart("Max window divergence per symbol", [_label(r) for r in d.health],
                      [_num(r["max_divergence"]) for r in d.health],
                      thresholds=[Threshold(d.thresholds.divergence_warning, "warning", "#b8860b"), Threshold(d.thresholds.divergence_critical, "critical")])
    rows = [(escape(r["symbol"]), escape(r["horizon"]), str(r["window_id"]), escape(str(r["test_start"])[:10]),
             _pct(r["divergence"]), "critical" if r["is_critical"] else "warning") for r in d.alerts]
    table = _table(("symbol", "horizon", "window", "test start", "divergence", "severity"), rows) if rows else \
        '<p class="note">No overfitting windows in the period.</p>'
    return _section(f"Overfitting alerts (divergence > {d.thresholds.divergence_warning:.0%})", [chart], table)


def baseline_section(d: DashboardData) -> str:
    """The ensemble's test RMSE against the paired legacy baseline."""
    if not d.baseline:
        return _section("RMSE: ensemble vs legacy baseline", [],
                        '<p class="note">No paired baseline rows: run the job with BASELINE_MODELS set.</p>')
    chart = bar_chart("Test RMSE vs baseline (relative)", [_label(r) for r in d.baseline],
                      [_num(r["rmse_vs_baseline"]) for r in d.baseline],
                      thresholds=[Threshold(d.thresholds.rmse_escalation, "escalate", "#b8860b"),
                                  Threshold(d.thresholds.rmse_rollback, "rollback")])
    rows = [(escape(r["symbol"]), escape(r["horizon"]), escape(r["model_set"]), escape(r["baseline_model_set"]),
             str(r["paired_windows"]), f"{r['avg_test_rmse']:.5f}", f"{r['avg_baseline_test_rmse']:.5f}",
             _pct(r["rmse_vs_baseline"])) for r in d.baseline]
    table = _table(("symbol", "horizon", "ensemble", "baseline", "windows", "test RMSE", "baseline RMSE",
                    "vs baseline"), rows)
    return _section("RMSE: ensemble vs legacy baseline", [chart], table)


def quality_section(d: DashboardData) -> str:
    """Window quality: share of overfitting windows and the raw test/validation RMSE ratio."""
    share = [r["overfitting_windows"] / r["windows"] if r["windows"] else None for r in d.health]
    labels = [_label(r) for r in d.health]
    charts = [bar_chart("Share of overfitting windows", labels, share,
                        thresholds=[Threshold(d.thresholds.overfitting_share, "target")]),
              bar_chart("Mean test/validation RMSE ratio", labels, [_num(r["avg_rmse_ratio"]) for r in d.health],
                        thresholds=[Threshold(1.0, "equal", "#7f7f7f")], percent=False)]
    return _section("Window quality", charts)


def health_section(d: DashboardData) -> str:
    """Symbol health: status per symbol-horizon with its figures."""
    chart = bar_chart("Average divergence per symbol", [_label(r) for r in d.health],
                      [_num(r["avg_divergence"]) for r in d.health],
                      thresholds=[Threshold(d.thresholds.divergence_rollback, "rollback")])
    rows = []
    for r in d.health:
        s = status(r, d.thresholds)
        rows.append((escape(r["symbol"]), escape(r["horizon"]), f'<span class="{s}">{s}</span>', str(r["windows"]),
                     _pct(r["avg_divergence"]), _pct(r["max_divergence"]), str(r["overfitting_windows"]),
                     str(r["model_errors"]), str(r["forecasts"]), str(r["failures"])))
    table = _table(("symbol", "horizon", "status", "windows", "avg div", "max div", "overfitting", "model errors",
                    "forecasts", "failures"), rows)
    return _section("Symbol health", [chart], table)


def generation_section(d: DashboardData) -> str:
    """Forecast generation: forecasts written and failures per day."""
    days = sorted({r["day"] for r in d.generation})
    series: dict[str, list[float | None]] = {}
    for h in sorted({r["horizon"] for r in d.generation}):
        by_day = {r["day"]: r for r in d.generation if r["horizon"] == h}
        series[f"{h} written"] = [float(by_day[x]["written"]) if x in by_day else 0.0 for x in days]
        series[f"{h} failed"] = [float(by_day[x]["failed"]) if x in by_day else 0.0 for x in days]
    charts = [line_chart("Forecasts written and failed per day", _thin([str(x) for x in days]), series,
                         percent=False)] if days else []
    total_w = sum(r["written"] for r in d.generation)
    total_f = sum(r["failed"] for r in d.generation)
    return _section("Forecast generation", charts, f"<p>{total_w} forecasts written, {total_f} failed.</p>")


def _section(title: str, charts: Sequence[str], extra: str = "") -> str:
    return f'<section><h2>{escape(title)}</h2><div class="charts">{"".join(charts)}</div>{extra}</section>'


def render_html(d: DashboardData, generated: datetime | None = None) -> str:
    """The whole page: one self-contained HTML document."""
    when = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f(d) for f in (trend_section, overfitting_section, baseline_section, quality_section,
                                   health_section, generation_section))
    symbols = ", ".join(d.symbols) or "none"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Ensemble forecast dashboard'
            f'</title><style>{STYLE}</style></head><body><h1>Ensemble forecast dashboard</h1>'
            f'<p>Last {d.days} day(s), generated {when}. Symbols: {escape(symbols)}. Thresholds: warning '
            f'{d.thresholds.divergence_warning:.0%}, critical {d.thresholds.divergence_critical:.0%}, rollback {d.thresholds.divergence_rollback:.0%}.</p>{body}</body></html>')
