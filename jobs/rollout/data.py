"""Read what the rollout review judges: per symbol-horizon figures and row-level incidents.

Every query is a named file ``sql/queries/review_*.sql``; this module only binds the
window and phase and folds the rows into ``jobs.rollout.checks`` types.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

from jobs.contract.phases import covered_phases
from jobs.contract.thresholds import Thresholds
from jobs.forecasting.results import rounded_gap
from jobs.monitoring.runs import RunFigures, read_run_figures
from jobs.rollout.checks import Incident, RunShare, SymbolHorizonStats
from jobs.rollout.incidents import data_counts, data_incidents, pipeline_incidents, run_shares
from jobs.storage.db import connect, load_sql


@dataclass(frozen=True)
class ReviewData:
    """Everything the review reads for one phase and window."""

    phase: str
    since: datetime
    until: datetime
    stats: tuple[SymbolHorizonStats, ...]
    incidents: tuple[Incident, ...]
    runs: tuple[RunFigures, ...] = ()  # per run and symbol-horizon, as published (the trend charts)
    run_days: int | None = None  # days with rows of the phase's own, up to ``until`` (its minimum duration)
    run_shares: tuple[RunShare, ...] = ()  # each run's data incidents (the systemic share)


def load_review_data(url: str, phase: str, days: int, thresholds: Thresholds,
                     until: datetime | None = None) -> ReviewData:
    """Query the database for the last ``days`` days (up to ``until``, default now) of ``phase``.

    Raises:
        ValueError: for a bad phase or a non-positive ``days``.
        jobs.storage.db.DatabaseUnavailable: when the database cannot be reached.
    """
    if days < 1:
        raise ValueError(f"days={days} is invalid: expected 1 or more")
    end = until or datetime.now(timezone.utc)
    params = {"phases": covered_phases(phase), "since": end - timedelta(days=days), "until": end}
    with connect(url) as conn:
        return read_review_data(conn, phase, params, thresholds)


def read_review_data(conn: psycopg.Connection[Any], phase: str, params: dict[str, Any],
                     thresholds: Thresholds) -> ReviewData:
    """Run the review queries on an open connection with bound ``phases``, ``since`` and ``until``."""
    def rows(name: str, **extra: Any) -> list[dict[str, Any]]:
        return conn.execute(load_sql(name), {**params, **extra}).fetchall()

    failures = rows("review_failures")
    incidents = [
        *pipeline_incidents(failures),
        *data_incidents(failures, rows("review_quarantined"), rows("review_data_events")),
        *(Incident("missing", r["symbol"], r["horizon"], f"no forecast on {r['day']:%Y-%m-%d}")
          for r in rows("review_missing_forecasts")),
        *(Incident("inconsistent", r["symbol"], r["horizon"], f"run {r['run_id']}: {r['problem']}")
          for r in rows("review_inconsistent_forecasts")),
    ]
    logging_rows = rows("review_logging_gaps")
    incidents += logging_incidents(logging_rows)
    incidents += storm_incidents(rows("review_alert_storms", critical=thresholds.divergence_critical,
                                      max_alerts=thresholds.alert_storm_count,
                                      period_seconds=thresholds.alert_storm_period_seconds),
                                 thresholds.alert_storm_period_seconds)
    stats = merge_stats(rows("review_window_stats"), rows("review_baseline_rmse"),
                        rows("review_forecast_counts"), logging_rows, incidents)
    counted = data_counts(failures)
    seen = {(s.symbol, s.horizon) for s in stats}
    stats = tuple(sorted([*(replace(s, data_incidents=counted[(s.symbol, s.horizon)]) for s in stats),
                          *(SymbolHorizonStats(sym, hor, data_incidents=n) for (sym, hor), n in counted.items()
                            if (sym, hor) not in seen)], key=lambda s: (s.symbol, s.horizon)))
    runs = read_run_figures(conn, params["since"], params["until"], params["phases"])
    # The promotion gate's own query: the same runs (of any image) decide the minimum duration in both.
    own = conn.execute(load_sql("gate_phase_runs"), {"phase": phase, "until": params["until"],
                                                     "image_ref": None}).fetchone()
    run_days = int(own["run_days"] or 0) if own else 0
    return ReviewData(phase, params["since"], params["until"], stats, tuple(incidents), runs, run_days,
                      run_shares(rows("review_run_shares")))


def logging_incidents(rows: list[dict[str, Any]]) -> list[Incident]:
    """A forecast without window rows, or window rows without a forecast, is a logging gap."""
    out = []
    for r in rows:
        if not r["has_forecast"]:
            out.append(Incident("logging", r["symbol"], r["horizon"], f"run {r['run_id']}: windows without a forecast"))
        elif not r["has_windows"]:
            out.append(Incident("logging", r["symbol"], r["horizon"], f"run {r['run_id']}: forecast without windows"))
    return out


def storm_incidents(rows: list[dict[str, Any]], period_seconds: int = 3_600) -> list[Incident]:
    """The worst alert storm, if any (rows come worst first), within a storm period of ``period_seconds``."""
    if not rows:
        return []
    worst = rows[0]
    span = "hour" if period_seconds == 3_600 else f"{period_seconds // 60} minutes"
    detail = (f"{worst['critical_alerts']} critical alerts in the {span} up to {worst['hour_end']:%Y-%m-%d %H:%M}Z "
              f"({worst['labels']})")
    return [Incident("alert_storm", "all", "", detail)]


def merge_stats(windows: list[dict[str, Any]], baseline: list[dict[str, Any]], forecasts: list[dict[str, Any]],
                logging_rows: list[dict[str, Any]], incidents: list[Incident]) -> tuple[SymbolHorizonStats, ...]:
    """Fold every query's rows into one ``SymbolHorizonStats`` per symbol-horizon seen anywhere."""
    acc: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for r in windows:
        acc[(r["symbol"], r["horizon"])].update(
            windows=int(r["windows"]), runs=int(r["runs"]), avg_divergence=float(r["avg_divergence"]),
            max_divergence=float(r["max_divergence"]), overfitting_windows=int(r["overfitting_windows"]),
            model_errors=int(r["model_errors"]), coverage_windows=int(r["coverage_windows"]),
            avg_coverage=None if r["avg_coverage"] is None else float(r["avg_coverage"]))
    for r in baseline:
        # The query computes "RMSE vs baseline" (NULL when the baseline's RMSE is zero: unknown),
        # rounded here as the job rounds the metric it publishes.
        change = rounded_gap(None if r["rmse_vs_baseline"] is None else float(r["rmse_vs_baseline"]))
        acc[(r["symbol"], r["horizon"])].update(paired_windows=int(r["paired_windows"]), rmse_change=change)
    for r in forecasts:
        acc[(r["symbol"], r["horizon"])]["forecasts"] = int(r["forecasts"])
    logged: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in logging_rows:
        logged[(r["symbol"], r["horizon"])].append(bool(r["has_forecast"] and r["has_windows"]))
    for key, flags in logged.items():
        acc[key]["logged_share"] = sum(flags) / len(flags)
    counts = {"failure": "failures", "missing": "missing", "inconsistent": "inconsistent"}
    for inc in incidents:
        if inc.kind in counts:
            field_name = counts[inc.kind]
            acc[(inc.symbol, inc.horizon)][field_name] = acc[(inc.symbol, inc.horizon)].get(field_name, 0) + 1
    return tuple(replace(SymbolHorizonStats(sym, hor), **acc[(sym, hor)]) for sym, hor in sorted(acc))
