"""The overfitting guard end to end (issue 14): planted divergences through the real pipeline.

A stand-in model factory (``tests.support.planted``) plants 19%, exactly 20%, 21%, 25%, exactly
30% and 31% in six walk-forward windows; everything else is the job's own code: the pipeline
and weighting, the writes to a real PostgreSQL, the metric publisher against moto's CloudWatch,
the stack's alarm definitions, the rollout review and the daily checks. Each of six symbols has
the same windows rotated, so each planted figure is once the latest window (the one whose
verdict decides the production forecast's weights).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from infra.monitoring.alarms import AlarmSpec, alarm_specs
from infra.monitoring.args import MonitoringArgs
from jobs.contract import metrics
from jobs.contract.config import JobConfig
from jobs.contract.domain import OPTIMIZATION_METHODS
from jobs.contract.thresholds import LEAK_DIVERGENCE
from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.walkforward import WindowSpec
from jobs.monitoring.publisher import RunPublisher
from jobs.rollout.checks import Decision
from jobs.rollout.daily import fetch as daily_fetch
from jobs.rollout.review import review
from jobs.storage.db import connect
from jobs.storage.forecasts import write_outcome
from jobs.storage.sample_data import seed_sample_bars
from tests.support.pipeline import run_symbol
from tests.support.planted import COVERED, LEAK, PRODUCTION, PlantedFactory
from tests.support.queries import query

PLANTED = (0.19, 0.20, 0.21, 0.25, 0.30, 0.31)
SPEC = WindowSpec(train=120, val=40, test=40, step=40, windows=len(PLANTED))
SYMBOLS = ("GUA", "GUB", "GUC", "GUD", "GUE", "GUF")
# Written out by hand, not computed with the rule under test: "divergence > threshold".
FLAGGED = {"0.20": {0.21, 0.25, 0.30, 0.31}, "0.30": {0.31}}
CRITICAL = {"0.20": "0.30", "0.30": "0.40"}
RUN_ID = "guard-run"
EQUAL = {"LSTM": 0.5, "ARIMA_GARCH": 0.5}


def rotated(k: int) -> tuple[float, ...]:
    """The planted figures rotated so that the latest window carries ``PLANTED[k]``."""
    shift = (k + 1) % len(PLANTED)
    return PLANTED[shift:] + PLANTED[:shift]


def config(threshold: str, method: str, symbols: tuple[str, ...], critical: str | None = None) -> JobConfig:
    """The job's configuration from its environment, as a stack renders it."""
    return JobConfig.from_env({
        "DIVERGENCE_THRESHOLD": threshold, "DIVERGENCE_CRITICAL_THRESHOLD": critical or CRITICAL[threshold],
        "ENSEMBLE_OPTIMIZATION_METHOD": method, "CANARY_SYMBOLS": ",".join(symbols), "CANARY_HORIZONS": "1D",
        "ROLLOUT_PHASE": "canary", "STACK_NAME": "guard",
    })


def run_planted(url: str, cfg: JobConfig, plans: dict[str, tuple[float | str, ...]]) -> list[SymbolOutcome]:
    """Run each symbol through the real pipeline with its planted windows and write its rows."""
    seed_sample_bars(url, plans, ["1d"])
    outcomes = []
    with connect(url) as conn:
        for symbol, plan in plans.items():
            outcome = run_symbol(conn, symbol, "1D", cfg, SPEC, PlantedFactory(SPEC, plan, cfg.optimization_method))
            assert outcome.ok, outcome.error
            with conn.transaction():
                write_outcome(conn, outcome, cfg, RUN_ID)
            outcomes.append(outcome)
    return outcomes


def fired_alarms(outcomes: list[SymbolOutcome], cfg: JobConfig) -> tuple[set[str], dict[str, float]]:
    """Publish the run to moto's CloudWatch; which of the stack's alarms are breached, and key sums."""
    client = boto3.client("cloudwatch", region_name="us-east-1")
    assert RunPublisher(cfg, RUN_ID, client)(outcomes) > 0
    args = MonitoringArgs(stack=cfg.stack, horizons=("1D",), region="us-east-1", thresholds=cfg.thresholds,
                          expected_tasks={"1D": ((f"ensemble-forecast-{cfg.stack}-1D", len(outcomes)),)})
    fired = {s.key for s in alarm_specs(args) if s.breaches(statistic(client, s))}
    sums = {name: statistic(client, AlarmSpec("", name, {metrics.DIM_STACK: cfg.stack, metrics.DIM_HORIZON: "1D"}
                                              if name != metrics.CRITICAL_ALERTS else {metrics.DIM_STACK: cfg.stack},
                                              "Sum", "", 0.0, 3_600, 1, "", None, ""))
            for name in (metrics.OVERFITTING_WINDOWS, metrics.CRITICAL_ALERTS)}
    return fired, sums


def statistic(client: Any, spec: AlarmSpec) -> float:
    """The alarm's statistic over its period, exactly its dimensions (as CloudWatch matches), NaN without data."""
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    query = {"Id": "a", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": metrics.NAMESPACE, "MetricName": spec.metric,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions.items()]},
        "Period": spec.period, "Stat": spec.statistic}}
    values = client.get_metric_data(MetricDataQueries=[query], StartTime=now - timedelta(seconds=spec.period),
                                    EndTime=now)["MetricDataResults"][0]["Values"]
    return float(values[0]) if values else float("nan")


@pytest.mark.parametrize("method", OPTIMIZATION_METHODS)
@pytest.mark.parametrize("threshold", sorted(FLAGGED))
def test_planted_divergences_flag_revert_publish_and_report(threshold: str, method: str, db_url: str,
                                                           fake_aws: None) -> None:
    cfg = config(threshold, method, SYMBOLS)
    plans = {s: rotated(k) for k, s in enumerate(SYMBOLS)}
    outcomes = run_planted(db_url, cfg, plans)
    flagged = FLAGGED[threshold]

    # Every window row: the planted figure exactly as stored, flagged and reverted only above the threshold.
    windows = query(db_url, "guard_windows", run_id=RUN_ID)
    assert len(windows) == len(SYMBOLS) * len(PLANTED)
    for w in windows:
        planted = plans[w["symbol"]][w["window_id"]]
        assert w["divergence"] == planted, (w["symbol"], w["window_id"])
        assert (w["is_overfitting"], w["weights_reverted"]) == ((planted in flagged,) * 2), (threshold, planted)
        assert w["interval_coverage"] == COVERED

    # The forecast row: equal weights after a flagged latest window, the latest window's fitted ones otherwise.
    latest = {w["symbol"]: w for w in windows if w["window_id"] == len(PLANTED) - 1}
    for f in query(db_url, "guard_forecasts", run_id=RUN_ID):
        fitted = latest[f["symbol"]]["weights"]
        if method != "simple_avg":  # the stand-ins make fitted weights visibly unequal
            assert fitted["LSTM"] > 0.7, fitted
        reverted = plans[f["symbol"]][-1] in flagged
        assert f["weights_reverted"] is reverted, f["symbol"]
        expected = EQUAL if reverted else fitted
        assert f["weights"] == pytest.approx(expected, abs=1e-9), (f["symbol"], plans[f["symbol"]][-1])
        assert f["predicted_return"] == pytest.approx(sum(expected[m.value] * v for m, v in PRODUCTION.items()))

    # The metrics: warning always (31% is above both thresholds); critical only above 30%.
    fired, sums = fired_alarms(outcomes, cfg)
    if threshold == "0.20":  # critical at 30%: every symbol has its 31% window, six critical events: a storm
        assert fired == {"divergence-warning-1D", "divergence-critical-1D", "alert-storm"}
        assert sums == {metrics.OVERFITTING_WINDOWS: 24.0, metrics.CRITICAL_ALERTS: 6.0}
    else:  # critical at 40%: nothing critical
        assert fired == {"divergence-warning-1D"}
        assert sums == {metrics.OVERFITTING_WINDOWS: 6.0, metrics.CRITICAL_ALERTS: 0.0}

    # The review: each symbol's share of overfitting windows; storms only with six critical events.
    result, _ = review(db_url, "canary", 1, cfg.thresholds, require_baseline=False)
    checks = {c.name: c for c in result.checks}
    share = {"0.20": "4 of 6 windows overfitting (66.7%)", "0.30": "1 of 6 windows overfitting (16.7%)"}[threshold]
    assert checks["overfitting"].findings == tuple(f"{s} 1D {share}, not below 10.0%" for s in SYMBOLS)
    assert checks["divergence"].findings == tuple(f"{s} 1D average divergence 24.3% is not below 15.0%"
                                                  for s in SYMBOLS)
    assert checks["coverage"].status is Decision.PROCEED
    if threshold == "0.20":
        assert checks["alert_storms"].status is Decision.ROLLBACK and result.decision is Decision.ROLLBACK
        assert "6 critical alerts in the hour" in checks["alert_storms"].findings[0]
    else:
        assert checks["alert_storms"].status is Decision.PROCEED and result.decision is Decision.MONITOR

    # The daily checks: the divergence summary's overfitting counts and the overfitting alert list.
    daily = daily_fetch(db_url, SYMBOLS, 24)
    assert {r["symbol"]: r["overfitting_count"] for r in daily["canary_divergence_summary"]} == {
        s: len(flagged) for s in SYMBOLS}
    assert sorted(r["divergence"] for r in daily["canary_overfitting_alerts"]) == sorted(
        d for d in PLANTED if d in flagged for _ in SYMBOLS)


@pytest.mark.parametrize("method", OPTIMIZATION_METHODS)
def test_a_leak_is_flagged_beyond_every_threshold_and_never_fails_the_symbol(method: str, db_url: str,
                                                                            fake_aws: None) -> None:
    # LKA leaks in its latest window (the forecast reverts), LKB in an earlier one (the forecast keeps fitted weights).
    plans: dict[str, tuple[float | str, ...]] = {
        "LKA": (0.05, 0.05, 0.05, 0.05, 0.05, LEAK), "LKB": (0.05, 0.05, LEAK, 0.05, 0.05, 0.05)}
    cfg = config("0.20", method, tuple(plans))
    outcomes = run_planted(db_url, cfg, plans)
    windows = query(db_url, "guard_windows", run_id=RUN_ID)
    for w in windows:
        leak = plans[w["symbol"]][w["window_id"]] == LEAK
        assert w["divergence"] == (LEAK_DIVERGENCE if leak else 0.05)
        assert (w["is_overfitting"], w["weights_reverted"]) == (leak, leak)
        if leak:
            assert w["val_rmse"] < 1e-15  # zero, up to a weighted sum's rounding
    forecasts = {f["symbol"]: f for f in query(db_url, "guard_forecasts", run_id=RUN_ID)}
    assert forecasts["LKA"]["weights"] == EQUAL and forecasts["LKA"]["weights_reverted"] is True
    assert forecasts["LKB"]["weights_reverted"] is False

    # CloudWatch takes the ceiling (a finite number): warning, critical and the symbol-average rollback trigger fire.
    fired, _ = fired_alarms(outcomes, cfg)
    assert {"divergence-warning-1D", "divergence-critical-1D", "rollback-divergence-1D"} <= fired

    result, _ = review(db_url, "canary", 1, cfg.thresholds, require_baseline=False)
    divergence = next(c for c in result.checks if c.name == "divergence")
    assert result.decision is Decision.ROLLBACK and divergence.status is Decision.ROLLBACK
    assert [f.split(" average")[0] for f in divergence.findings] == ["LKA 1D", "LKB 1D"]
