"""The CloudWatch metric contract (docs/design.md §3.4): namespace, metric names, units and dimension sets.

The job publishes exactly these (``jobs.monitoring.publisher``) and the Pulumi monitoring
component alarms and draws on the same constants, so an alarm can never watch a metric the
job does not publish.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "EnsembleForecast"


# Dimension names.
DIM_STACK = "Stack"


DIM_SYMBOL = "Symbol"


DIM_HORIZON = "Horizon"


# Dimension sets. Alarms watch the aggregates (no Symbol), so one alarm per horizon
# covers every symbol of a stack however many there are; dashboards drill down per symbol.
PER_SYMBOL: tuple[str, ...] = (DIM_STACK, DIM_SYMBOL, DIM_HORIZON)


PER_HORIZON: tuple[str, ...] = (DIM_STACK, DIM_HORIZON)


PER_STACK: tuple[str, ...] = (DIM_STACK,)


# Metric names.
DIVERGENCE = "Divergence"


SYMBOL_AVERAGE_DIVERGENCE = "SymbolAverageDivergence"


VALIDATION_RMSE = "ValidationRMSE"


TEST_RMSE = "TestRMSE"


BASELINE_TEST_RMSE = "BaselineTestRMSE"


RMSE_VS_BASELINE = "RMSEVsBaseline"


OVERFITTING_WINDOWS = "OverfittingWindows"


WINDOWS_EVALUATED = "WindowsEvaluated"


FORECASTS_WRITTEN = "ForecastsWritten"


FORECASTS_FAILED = "ForecastsFailed"


MODEL_ERRORS = "ModelErrors"


CRITICAL_ALERTS = "CriticalAlerts"


INTERVAL_COVERAGE = "IntervalCoverage"
FORECASTS_EXPECTED = "ForecastsExpected"
# Issue 20: failures by class. ForecastsFailed = DataIncidents + QuarantinedTasks + PipelineFailures.
DATA_INCIDENTS = "DataIncidents"
QUARANTINED_TASKS = "QuarantinedTasks"
PIPELINE_FAILURES = "PipelineFailures"
DATA_EVENTS = "DataEvents"


UNIT_NONE = "None"


UNIT_COUNT = "Count"


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the contract: its unit and the dimension sets it is published under."""

    name: str
    unit: str
    dimension_sets: tuple[tuple[str, ...], ...]
    description: str


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(DIVERGENCE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON),
                   "Per window: relative val->test degradation against the naive forecast (docs/design.md §3.3)"),
        MetricSpec(SYMBOL_AVERAGE_DIVERGENCE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON),
                   "Per symbol-horizon: mean divergence over its windows (rollback: any symbol > 25%)"),
        MetricSpec(VALIDATION_RMSE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON), "Per window: ensemble RMSE, validation slice"),
        MetricSpec(TEST_RMSE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON), "Per window: ensemble RMSE, test slice"),
        MetricSpec(BASELINE_TEST_RMSE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON),
                   "Per window: the paired legacy baseline's RMSE, test slice"),
        MetricSpec(RMSE_VS_BASELINE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON),
                   "Per symbol-horizon: mean test RMSE / the baseline's on the same windows - 1 (0.05 = 5% worse)"),
        MetricSpec(OVERFITTING_WINDOWS, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON), "Windows with divergence > warning"),
        MetricSpec(WINDOWS_EVALUATED, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON), "Walk-forward windows evaluated"),
        MetricSpec(FORECASTS_WRITTEN, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK), "1 per forecast row written"),
        MetricSpec(FORECASTS_FAILED, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK), "1 per symbol-horizon that failed"),
        MetricSpec(MODEL_ERRORS, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK),
                   "Model failures inside the production ensemble's windows"),
        MetricSpec(INTERVAL_COVERAGE, UNIT_NONE, (PER_SYMBOL, PER_HORIZON),
                   "Per window: share of test-slice outcomes inside the 90% interval (0.9 is calibrated)"),
        MetricSpec(FORECASTS_EXPECTED, UNIT_COUNT, (PER_HORIZON, PER_STACK),
                   "1 per symbol-horizon a run is to forecast (the stack's listed symbols, so retired ones "
                   "never count), published once per run at its first attempt's start; the missing-forecast "
                   "alarm compares ForecastsWritten + ForecastsFailed with it"),
        MetricSpec(CRITICAL_ALERTS, UNIT_COUNT, (PER_HORIZON, PER_STACK),
                   "At most 1 per symbol-horizon and run: any window over the critical threshold, "
                   "a model error or a pipeline failure (a data incident is not one)"),
        MetricSpec(DATA_INCIDENTS, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK),
                   "1 per symbol-horizon whose input was refused (too few bars, gap, stale, damaged price, "
                   "unadjusted split, off-calendar, unknown symbol): a data incident, reported (review topic); "
                   "a rollback only when systemic (DATA_INCIDENT_ROLLBACK_SHARE of a run's symbols)"),
        MetricSpec(QUARANTINED_TASKS, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK),
                   "1 per symbol-horizon of a quarantined symbol whose bars still fail (no fit, no new incident)"),
        MetricSpec(PIPELINE_FAILURES, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK),
                   "1 per symbol-horizon whose run failed in code (an uncaught error): a rollback trigger"),
        MetricSpec(DATA_EVENTS, UNIT_COUNT, (PER_SYMBOL, PER_HORIZON, PER_STACK),
                   "Real large moves (beyond RETURN_OUTLIER_THRESHOLD robust scales) kept in the bars, each "
                   "counted once, by the task that recorded it first"),
    )
}
