"""The job's metric publisher, for the contract in ``jobs.contract.metrics`` (docs/design.md §3.4).

``RunPublisher`` sends a run's metrics to CloudWatch as its tasks finish, in batches
(retrying throttled calls); without AWS credentials or a region it writes the same
datapoints as structured JSON log lines instead.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jobs.contract.config import JobConfig
from jobs.contract.metrics import (
    BASELINE_TEST_RMSE,
    CRITICAL_ALERTS,
    DATA_EVENTS,
    DATA_INCIDENTS,
    DIM_HORIZON,
    DIM_STACK,
    DIM_SYMBOL,
    DIVERGENCE,
    FORECASTS_EXPECTED,
    FORECASTS_FAILED,
    FORECASTS_WRITTEN,
    INTERVAL_COVERAGE,
    METRICS,
    MODEL_ERRORS,
    NAMESPACE,
    OVERFITTING_WINDOWS,
    PIPELINE_FAILURES,
    QUARANTINED_TASKS,
    RMSE_VS_BASELINE,
    SYMBOL_AVERAGE_DIVERGENCE,
    TEST_RMSE,
    VALIDATION_RMSE,
    WINDOWS_EVALUATED,
)
from jobs.forecasting.results import DATA, PIPELINE, SymbolOutcome, relative_rmse_gap

log = logging.getLogger(__name__)


# CloudWatch limits (PutMetricData API reference): 1000 datums per call, 150 distinct
# values per datum, 1 MB per request (our datums are far below 1 KB each).
MAX_DATUMS_PER_CALL = 1000
MAX_VALUES_PER_DATUM = 150
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


class MetricsPublishError(RuntimeError):
    """Some datapoints could not be published; they were written to the log instead."""


@dataclass(frozen=True)
class Datum:
    """One PutMetricData entry: a metric, its dimensions and its values (with counts)."""

    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    counts: tuple[float, ...]
    unit: str
    timestamp: datetime

    @property
    def datapoints(self) -> int:
        """How many datapoints this entry stands for (the sum of its counts)."""
        return int(sum(self.counts))

    def to_aws(self) -> dict[str, Any]:
        """The ``MetricData`` member boto3 expects."""
        return {
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
            "Values": list(self.values),
            "Counts": list(self.counts),
            "Unit": self.unit,
            "Timestamp": self.timestamp,
        }

    def to_log(self, run_id: str) -> dict[str, Any]:
        """The structured log record written when CloudWatch is not available."""
        return {
            "event": "metric",
            "namespace": NAMESPACE,
            "metric": self.name,
            "unit": self.unit,
            "dimensions": dict(self.dimensions),
            "values": list(self.values),
            "counts": list(self.counts),
            "timestamp": self.timestamp.isoformat(),
            "run_id": run_id,
        }


def is_critical(outcome: SymbolOutcome, cfg: JobConfig) -> bool:
    """Whether a symbol-horizon is one critical alert: it failed in code, a model errored, or any window's
    divergence is above ``cfg.divergence_critical_threshold``.

    One alert per symbol-horizon, not per window: prod's 104 symbols x 4 windows would otherwise
    pass the alert-storm count (> 5 per hour) in normal operation. A data incident is not one: a
    morning of refused feeds must not read as an alert storm (a rollback).
    """
    scores = [w.score for w in outcome.windows if not w.is_baseline]
    return (outcome.failure == PIPELINE or any(s.errors for s in scores)
            or any(s.divergence > cfg.divergence_critical_threshold for s in scores))


def outcome_values(outcome: SymbolOutcome, cfg: JobConfig) -> dict[str, list[float]]:
    """Every metric's raw values for one symbol-horizon, before dimensions are attached."""
    windows = [w for w in outcome.windows if not w.is_baseline]
    scores = [w.score for w in windows]
    divergences = [s.divergence for s in scores]
    model_errors = sum(len(s.errors) for s in scores)
    values: dict[str, list[float]] = {
        DIVERGENCE: divergences,
        VALIDATION_RMSE: [s.val_rmse for s in scores],
        TEST_RMSE: [s.test_rmse for s in scores],
        INTERVAL_COVERAGE: [s.coverage for s in scores if s.coverage is not None],
        BASELINE_TEST_RMSE: [w.score.test_rmse for w in outcome.baseline_windows],
        OVERFITTING_WINDOWS: [float(sum(1 for s in scores if s.is_overfitting))],
        WINDOWS_EVALUATED: [float(len(scores))],
        FORECASTS_WRITTEN: [1.0 if outcome.ok else 0.0],
        FORECASTS_FAILED: [0.0 if outcome.ok else 1.0],
        MODEL_ERRORS: [float(model_errors)],
        CRITICAL_ALERTS: [1.0 if is_critical(outcome, cfg) else 0.0],
        DATA_INCIDENTS: [1.0 if outcome.data_incident else 0.0],
        QUARANTINED_TASKS: [1.0 if outcome.failure == DATA and not outcome.data_incident else 0.0],
        PIPELINE_FAILURES: [1.0 if outcome.failure == PIPELINE else 0.0],
        DATA_EVENTS: [float(outcome.new_events)],
        SYMBOL_AVERAGE_DIVERGENCE: [],
        RMSE_VS_BASELINE: [],
    }
    finite = [d for d in divergences if math.isfinite(d)]
    if finite:
        values[SYMBOL_AVERAGE_DIVERGENCE] = [sum(finite) / len(finite)]
    if cfg.baseline_models and outcome.baseline_windows:
        gap = relative_rmse_gap(windows, outcome.baseline_windows)
        if gap is not None:
            values[RMSE_VS_BASELINE] = [gap]
    return values


def build_datums(outcomes: Iterable[SymbolOutcome], cfg: JobConfig, timestamp: datetime) -> list[Datum]:
    """Turn a run's outcomes into datums: every metric under each of its dimension sets.

    Values for the same metric and dimensions are merged into one entry with counts, so a
    stack of a hundred symbols still needs only a few PutMetricData calls. A symbol-horizon
    listed twice (e.g. a retried symbol) still counts as at most one critical alert.
    """
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], Counter[float]] = {}
    skipped = 0
    alerted: set[tuple[str, str]] = set()
    for outcome in outcomes:
        labels = {DIM_STACK: cfg.stack, DIM_SYMBOL: outcome.symbol, DIM_HORIZON: outcome.horizon}
        values = outcome_values(outcome, cfg)
        if values[CRITICAL_ALERTS] == [1.0]:
            if (outcome.symbol, outcome.horizon) in alerted:
                values[CRITICAL_ALERTS] = [0.0]
            alerted.add((outcome.symbol, outcome.horizon))
        for name, raw in values.items():
            # CloudWatch rejects NaN and infinities; a degenerate window must not sink the batch.
            vals = [float(v) for v in raw if math.isfinite(v)]
            skipped += len(raw) - len(vals)
            for dims in METRICS[name].dimension_sets:
                key = (name, tuple((d, labels[d]) for d in dims))
                merged.setdefault(key, Counter()).update(vals)
    if skipped:
        log.warning("skipped %d non-finite metric values", skipped)
    datums: list[Datum] = []
    for (name, dims), counter in sorted(merged.items()):
        if not counter:
            continue
        items = sorted(counter.items())
        for start in range(0, len(items), MAX_VALUES_PER_DATUM):
            chunk = items[start:start + MAX_VALUES_PER_DATUM]
            datums.append(Datum(name, dims, tuple(v for v, _ in chunk), tuple(float(c) for _, c in chunk),
                                METRICS[name].unit, timestamp))
    return datums


def expected_datums(tasks: Iterable[tuple[str, str]], cfg: JobConfig, timestamp: datetime) -> list[Datum]:
    """``ForecastsExpected``: 1 per ``(symbol, horizon)`` a run is to forecast, per horizon and per stack."""
    per_horizon = Counter(horizon for _, horizon in tasks)
    spec = METRICS[FORECASTS_EXPECTED]
    out = []
    for dims in spec.dimension_sets:
        groups: Counter[tuple[tuple[str, str], ...]] = Counter()
        for horizon, n in per_horizon.items():
            labels = {DIM_STACK: cfg.stack, DIM_HORIZON: horizon}
            groups[tuple((d, labels[d]) for d in dims)] += n
        out += [Datum(FORECASTS_EXPECTED, key, (1.0,), (float(n),), spec.unit, timestamp)
                for key, n in sorted(groups.items())]
    return out


def aws_available() -> bool:
    """True when boto3 can find both credentials and a region."""
    import boto3

    session = boto3.Session()
    return session.get_credentials() is not None and bool(session.region_name)


def make_client() -> Any:
    """A CloudWatch client with botocore's adaptive retry mode (client-side rate limiting)."""
    import boto3
    from botocore.config import Config

    return boto3.client("cloudwatch", config=Config(retries={"mode": "adaptive", "max_attempts": 8}))


def send_batch(
    client: Any,
    batch: Sequence[Datum],
    attempts: int = 5,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """One PutMetricData call, retried with exponential back-off while CloudWatch throttles.

    botocore already retries inside the call; this outer loop covers throttling that
    outlasts it (a large array job publishing at once). Other errors propagate at once.
    """
    from botocore.exceptions import ClientError

    if not 0 < len(batch) <= MAX_DATUMS_PER_CALL:
        raise ValueError(f"batch of {len(batch)} datums is invalid: expected 1 to {MAX_DATUMS_PER_CALL}")
    for attempt in range(attempts):
        try:
            client.put_metric_data(Namespace=NAMESPACE, MetricData=[d.to_aws() for d in batch])
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in THROTTLING_CODES or attempt + 1 == attempts:
                raise
            delay = base_delay * 2**attempt
            log.warning("PutMetricData throttled (%s), attempt %d/%d; retrying in %.1fs",
                        code, attempt + 1, attempts, delay)
            sleep(delay)


def log_datums(datums: Iterable[Datum], run_id: str, level: int = logging.INFO) -> int:
    """Log each datum as one structured record; return the datapoints written.

    The record's fields go in ``extra={"fields": ...}``, which ``jobs.running.logs.JsonFormatter``
    merges into the JSON line; the message alone stays readable on a terminal.
    """
    total = 0
    for datum in datums:
        record = datum.to_log(run_id)
        log.log(level, "metric %s %s %s", datum.name, json.dumps(record["dimensions"], sort_keys=True),
                json.dumps(record["values"]), extra={"fields": record})
        total += datum.datapoints
    return total


def publish_datums(client: Any, datums: Sequence[Datum], run_id: str, **retry: Any) -> int:
    """Publish in batches of at most 1000; a batch that still fails goes to the log.

    Raises ``MetricsPublishError`` after every batch was tried when any batch failed, so
    the caller learns of it while the datapoints survive in the log.
    """
    published, failures = 0, []
    for start in range(0, len(datums), MAX_DATUMS_PER_CALL):
        batch = datums[start:start + MAX_DATUMS_PER_CALL]
        try:
            send_batch(client, batch, **retry)
            published += sum(d.datapoints for d in batch)
        except Exception as exc:  # noqa: BLE001 - any failure: keep the datapoints in the log
            failures.append(f"{type(exc).__name__}: {exc}")
            log_datums(batch, run_id, level=logging.WARNING)
    if failures:
        raise MetricsPublishError(
            f"{len(failures)} PutMetricData batch(es) failed, datapoints logged instead: {failures[0]}"
        )
    return published


class RunPublisher:
    """Publishes one run's metrics in parts, e.g. each symbol-horizon as soon as its rows commit.

    The CloudWatch client (or the log, without AWS credentials or a region) is chosen once:
    ``client`` if given, else one made at the first publish when boto3 finds credentials and a
    region. Publishing per task is what makes a retry exact: a killed attempt has already
    published what it committed, and the retry publishes only what it computes itself.
    Publishing raises ``MetricsPublishError`` when a batch still fails after retries (its
    datapoints are logged instead); ``cfg.stack`` becomes the ``Stack`` dimension.
    """

    def __init__(self, cfg: JobConfig, run_id: str, client: Any | None = None) -> None:
        self.cfg, self.run_id = cfg, run_id
        self._client = client
        self._chosen = client is not None

    def __call__(self, outcomes: Sequence[SymbolOutcome]) -> int:
        """Publish ``outcomes``; return the datapoints published (or logged)."""
        return self.send(build_datums(outcomes, self.cfg, datetime.now(timezone.utc)))

    def expected(self, tasks: Iterable[tuple[str, str]]) -> int:
        """Publish ``ForecastsExpected`` for ``(symbol, horizon)`` tasks (once per run: its first attempt)."""
        return self.send(expected_datums(tasks, self.cfg, datetime.now(timezone.utc)))

    def send(self, datums: Sequence[Datum]) -> int:
        """Publish ready-made datums (see ``publish_datums`` for failures)."""
        if not datums:
            return 0
        if not self._chosen:
            self._client = make_client() if aws_available() else None
            self._chosen = True
        if self._client is None:
            return log_datums(datums, self.run_id)
        return publish_datums(self._client, datums, self.run_id)
