"""Per-run figures: what the job publishes for each run, read back from the database.

The alarms watch CloudWatch metrics (``jobs.contract.metrics``) that the job publishes once
per run (``jobs.monitoring.publisher``): per symbol-horizon, and aggregated over symbols per
horizon with a statistic (an alarm period holds one run). ``run_figures.sql`` computes the
same per symbol-horizon figures from the rows; ``horizon_aggregate`` applies the alarms'
statistics. The dashboard and the review chart these, so a chart, an alarm and the review
agree on every number, and trends run against the run time, never a window's test dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from jobs.contract import metrics
from jobs.forecasting.results import rounded_gap
from jobs.storage.db import load_sql


@dataclass(frozen=True)
class RunFigures:
    """One symbol-horizon's figures in one run (fractions; ``None`` where nothing was measured).

    Attributes mirror the published metrics: ``symbol_average_divergence`` is
    ``SymbolAverageDivergence``, ``max_divergence`` the maximum of its ``Divergence`` values,
    ``rmse_vs_baseline`` ``RMSEVsBaseline``; ``raw_rmse_ratio`` is the raw test/validation
    RMSE ratio, which the guard does not use (docs/design.md §3.3).
    """

    run_id: str
    symbol: str
    horizon: str
    run_at: datetime
    windows_evaluated: int
    symbol_average_divergence: float | None
    max_divergence: float | None
    validation_rmse: float
    test_rmse: float
    raw_rmse_ratio: float
    overfitting_windows: int
    model_errors: int
    rmse_vs_baseline: float | None
    interval_coverage: float | None = None

    @property
    def label(self) -> str:
        """``SYMBOL HORIZON``, as the review's tables name a symbol-horizon."""
        return f"{self.symbol} {self.horizon}"


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def read_run_figures(conn: psycopg.Connection[Any], since: datetime, until: datetime,
                     phases: Sequence[str] | None = None) -> tuple[RunFigures, ...]:
    """Every run's figures with window rows in ``(since, until]``, of ``phases`` (``None``: all)."""
    rows = conn.execute(load_sql("run_figures"),
                        {"since": since, "until": until, "phases": None if phases is None else list(phases)})
    return tuple(RunFigures(
        r["run_id"], r["symbol"], r["horizon"], r["run_at"], int(r["windows_evaluated"]),
        _opt(r["symbol_average_divergence"]), _opt(r["max_divergence"]), float(r["validation_rmse"]),
        float(r["test_rmse"]), float(r["raw_rmse_ratio"]), int(r["overfitting_windows"]), int(r["model_errors"]),
        rounded_gap(_opt(r["rmse_vs_baseline"])), _opt(r["interval_coverage"])) for r in rows.fetchall())


# The alarms' statistic over the symbols of one horizon in one run (infra/monitoring/alarms.py,
# horizon_alarm_specs): the metric, its statistic, and the per symbol-horizon value it reads.
ALARM_STATISTICS: dict[str, tuple[str, str, Callable[[RunFigures], float | None]]] = {
    "divergence": (metrics.DIVERGENCE, "Maximum", lambda f: f.max_divergence),
    "rollback-divergence": (metrics.SYMBOL_AVERAGE_DIVERGENCE, "Maximum", lambda f: f.symbol_average_divergence),
    "rmse-vs-baseline": (metrics.RMSE_VS_BASELINE, "Maximum", lambda f: f.rmse_vs_baseline),
    "rollback-rmse": (metrics.RMSE_VS_BASELINE, "Average", lambda f: f.rmse_vs_baseline),
    "model-errors": (metrics.MODEL_ERRORS, "Sum", lambda f: float(f.model_errors)),
    "coverage": (metrics.INTERVAL_COVERAGE, "Average", lambda f: f.interval_coverage),
}
_STATS: dict[str, Callable[[list[float]], float]] = {
    "Maximum": max, "Sum": sum, "Average": lambda xs: sum(xs) / len(xs)}


@dataclass(frozen=True)
class HorizonRun:
    """One run of one horizon, aggregated over its symbols the way an alarm reads it."""

    run_id: str
    horizon: str
    run_at: datetime
    values: dict[str, float | None]


def horizon_aggregate(figures: Iterable[RunFigures]) -> list[HorizonRun]:
    """Per run and horizon: each ``ALARM_STATISTICS`` key's statistic over the symbols (``None``: no value)."""
    groups: dict[tuple[str, str], list[RunFigures]] = defaultdict(list)
    for f in figures:
        groups[(f.run_id, f.horizon)].append(f)
    out = []
    for (run_id, horizon), members in groups.items():
        values: dict[str, float | None] = {}
        for key, (_, stat, read) in ALARM_STATISTICS.items():
            xs = [v for v in (read(f) for f in members) if v is not None]
            values[key] = _STATS[stat](xs) if xs else None
        out.append(HorizonRun(run_id, horizon, min(f.run_at for f in members), values))
    return sorted(out, key=lambda h: (h.run_at, h.horizon))


def worst_series(figures: Sequence[RunFigures], read: Callable[[RunFigures], float | None],
                 limit: int) -> tuple[list[str], int]:
    """The ``limit`` symbol-horizons with the highest value of ``read`` in any run, and how many there are."""
    top: dict[str, float] = {}
    for f in figures:
        v = read(f)
        top[f.label] = max(top.get(f.label, float("-inf")), v if v is not None else float("-inf"))
    ranked = sorted(top, key=lambda k: (-top[k], k))
    return ranked[:limit], len(ranked)
