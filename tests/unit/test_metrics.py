"""The metric publisher: values, dimensions, batching, throttling and the log fallback."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from jobs.contract import metrics
from jobs.contract.config import JobConfig
from jobs.contract.domain import Model
from jobs.forecasting.results import (
    ForecastResult,
    SetScore,
    SymbolOutcome,
    WindowResult,
    relative_rmse_gap,
)
from jobs.monitoring import publisher
from jobs.running.logs import JsonFormatter
from jobs.running.summary import summary_table

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def window(wid: int, divergence: float, val: float = 0.010, test: float = 0.011, *, baseline: bool = False,
           errors: dict[str, str] | None = None, threshold: float = 0.20, coverage: float | None = 0.9) -> WindowResult:
    """A walk-forward window with the given scores; baseline windows carry the legacy 4-model set."""
    models = ("LSTM", "ARIMA_GARCH", "GB", "RF") if baseline else ("LSTM", "ARIMA_GARCH")
    score = SetScore(val_rmse=val, test_rmse=test, naive_val_rmse=0.012, naive_test_rmse=0.012, divergence=divergence,
                     is_overfitting=divergence > threshold, weights={k: 1 / len(models) for k in models},
                     weights_reverted=divergence > threshold, models_used=models, errors=errors or {},
                     coverage=coverage, interval_width=None if coverage is None else 0.04)
    return WindowResult(window_id=wid, train_start=T0, val_start=T0 + timedelta(days=100),
                        test_start=T0 + timedelta(days=120), test_end=T0 + timedelta(days=140), model_set=models,
                        score=score, is_baseline=baseline)


def forecast() -> ForecastResult:
    """A production forecast."""
    return ForecastResult(origin_ts=T0, target_ts=T0 + timedelta(days=1), last_close=100.0, predicted_return=0.001,
                          lower_return=-0.02, upper_return=0.02, interval_level=0.9,
                          weights={"LSTM": 0.5, "ARIMA_GARCH": 0.5}, weights_reverted=False,
                          models_used=("LSTM", "ARIMA_GARCH"))


def outcome(symbol: str, divergences: list[float], *, horizon: str = "1D", test: float = 0.011,
            baseline_test: float | None = None, errors: int = 0, coverage: float | None = 0.9) -> SymbolOutcome:
    """A successful symbol-horizon with one window per divergence and an optional paired baseline."""
    wins = tuple(window(i, d, test=test, errors={f"M{k}": "boom" for k in range(errors)} if i == 0 else None,
                        coverage=coverage)
                 for i, d in enumerate(divergences))
    base = () if baseline_test is None else tuple(
        window(i, 0.0, test=baseline_test, baseline=True) for i in range(len(divergences)))
    return SymbolOutcome(symbol, horizon, forecast=forecast(), windows=wins, baseline_windows=base)


def failed(symbol: str, horizon: str = "1D") -> SymbolOutcome:
    """A symbol-horizon that raised."""
    return SymbolOutcome(symbol, horizon, error="ValueError: no bars")


CFG = JobConfig(stack="canary", baseline_models=(Model.LSTM, Model.ARIMA_GARCH, Model.GB, Model.RF))


def find(datums: list[publisher.Datum], name: str, **dims: str) -> publisher.Datum:
    """The one datum for ``name`` with exactly these dimensions."""
    hits = [d for d in datums if d.name == name and dict(d.dimensions) == dims]
    if len(hits) != 1:
        raise LookupError(f"{len(hits)} datums for {name} {dims}")
    return hits[0]


def expand(d: publisher.Datum) -> list[float]:
    """The datum's values repeated by their counts, sorted."""
    return sorted(v for v, c in zip(d.values, d.counts) for _ in range(int(c)))


@pytest.fixture()
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """An environment where boto3 finds neither credentials nor a region."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")




def test_values_per_symbol_and_aggregate() -> None:
    outs = [outcome("AAPL", [0.1, 0.25, 0.35], test=0.0105, baseline_test=0.0100, errors=1),
            outcome("MSFT", [0.05, 0.15], test=0.0095, baseline_test=0.0100), failed("SPY")]
    datums = publisher.build_datums(outs, CFG, T0)
    assert expand(find(datums, metrics.DIVERGENCE, Stack="canary", Symbol="AAPL", Horizon="1D")) == [0.1, 0.25, 0.35]
    assert expand(find(datums, metrics.DIVERGENCE, Stack="canary", Horizon="1D")) == [0.05, 0.1, 0.15, 0.25, 0.35]
    avg = find(datums, metrics.SYMBOL_AVERAGE_DIVERGENCE, Stack="canary", Symbol="AAPL", Horizon="1D")
    assert expand(avg) == [pytest.approx(0.7 / 3)]
    gaps = expand(find(datums, metrics.RMSE_VS_BASELINE, Stack="canary", Horizon="1D"))
    assert gaps == [pytest.approx(-0.05), pytest.approx(0.05)]
    assert expand(find(datums, metrics.OVERFITTING_WINDOWS, Stack="canary", Symbol="AAPL", Horizon="1D")) == [2.0]
    assert expand(find(datums, metrics.FORECASTS_WRITTEN, Stack="canary")) == [0.0, 1.0, 1.0]
    assert expand(find(datums, metrics.FORECASTS_FAILED, Stack="canary", Symbol="SPY", Horizon="1D")) == [1.0]
    assert expand(find(datums, metrics.MODEL_ERRORS, Stack="canary")) == [0.0, 0.0, 1.0]
    # AAPL (a window over 30% and a model error) and SPY (failed): one critical alert each.
    assert expand(find(datums, metrics.CRITICAL_ALERTS, Stack="canary")) == [0.0, 1.0, 1.0]


def test_at_most_one_critical_alert_per_symbol_and_horizon() -> None:
    # Four windows over 30% and two model errors are one alert; the same symbol at another horizon is another.
    outs = [outcome("AAPL", [0.35, 0.4, 0.5, 0.9], errors=2), outcome("AAPL", [0.31], horizon="4h"),
            outcome("MSFT", [0.3, 0.29]), outcome("SPY", [0.05], errors=1), failed("QQQ"),
            # A retried symbol-horizon listed twice in one run is still one alert.
            failed("NVDA"), outcome("NVDA", [0.6])]
    datums = publisher.build_datums(outs, CFG, T0)
    assert sum(expand(find(datums, metrics.CRITICAL_ALERTS, Stack="canary"))) == 5.0
    assert sum(expand(find(datums, metrics.CRITICAL_ALERTS, Stack="canary", Horizon="1D"))) == 4.0
    assert [publisher.is_critical(o, CFG) for o in outs] == [True, True, False, True, True, True, True]


def test_critical_windows_on_a_few_symbols_of_a_large_stack_are_no_alert_storm() -> None:
    # Prod-sized: 104 symbols x 4 windows; 8 windows over 30% on 4 symbols (storm count: more than 5).
    outs = [outcome(f"S{i:03d}", [0.35 if i < 4 else 0.1, 0.31 if i < 4 else 0.05, 0.1, 0.1]) for i in range(104)]
    total = sum(expand(find(publisher.build_datums(outs, CFG, T0), metrics.CRITICAL_ALERTS, Stack="canary")))
    assert total == 4.0, "one per critical symbol-horizon, not one per window (8)"


def test_every_datum_uses_a_declared_dimension_set_and_unit() -> None:
    datums = publisher.build_datums([outcome("AAPL", [0.1], baseline_test=0.01), failed("SPY", "4h")], CFG, T0)
    for d in datums:
        spec = metrics.METRICS[d.name]
        assert tuple(k for k, _ in d.dimensions) in spec.dimension_sets
        assert d.unit == spec.unit


def test_no_baseline_metric_without_a_configured_baseline() -> None:
    datums = publisher.build_datums([outcome("AAPL", [0.1], baseline_test=0.01)], JobConfig(stack="canary"), T0)
    assert not [d for d in datums if d.name == metrics.RMSE_VS_BASELINE]


def test_non_finite_values_are_dropped() -> None:
    datums = publisher.build_datums([outcome("AAPL", [float("inf"), 0.1])], CFG, T0)
    assert expand(find(datums, metrics.DIVERGENCE, Stack="canary", Symbol="AAPL", Horizon="1D")) == [0.1]


def test_relative_rmse_gap_pairs_by_window_id() -> None:
    ours = [window(1, 0.0, test=0.02), window(2, 0.0, test=0.04)]
    base = [window(2, 0.0, test=0.02, baseline=True), window(9, 0.0, test=1.0, baseline=True)]
    assert relative_rmse_gap(ours, base) == pytest.approx(1.0)
    assert relative_rmse_gap(ours, []) is None


def test_log_fallback_without_aws(no_aws: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jobs.monitoring.publisher")
    n = publisher.RunPublisher(CFG, "run-1")([outcome("AAPL", [0.1, 0.3]), failed("MSFT")])
    records = [r.fields for r in caplog.records if r.name == "jobs.monitoring.publisher"]
    line = json.loads(JsonFormatter().format(caplog.records[0]))
    assert line["event"] == "metric" and line["namespace"] == metrics.NAMESPACE and line["run_id"] == "run-1"
    assert n == sum(sum(r["counts"]) for r in records) > 0
    div = [r for r in records if r["metric"] == metrics.DIVERGENCE and r["dimensions"] == {
        "Stack": "canary", "Symbol": "AAPL", "Horizon": "1D"}]
    assert len(div) == 1 and sorted(div[0]["values"]) == [0.1, 0.3] and div[0]["run_id"] == "run-1"
    assert div[0]["namespace"] == metrics.NAMESPACE


def test_publishes_to_cloudwatch_in_batches_of_1000(fake_aws: None) -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    calls: list[int] = []
    client.meta.events.register("before-parameter-build.cloudwatch.PutMetricData",
                                lambda params, **_: calls.append(len(params["MetricData"])))
    symbols = [f"S{i:03d}" for i in range(120)]
    outs = [outcome(s, [0.1, 0.2], horizon=h) for s in symbols for h in ("1D", "4h")]
    n = publisher.RunPublisher(JobConfig(stack="prod"), "run-2", client)(outs)
    assert max(calls) == 1000 and len(calls) >= 3
    assert n == sum(d.datapoints for d in publisher.build_datums(outs, JobConfig(stack="prod"), T0))
    assert cloudwatch_stat(client, metrics.FORECASTS_WRITTEN, {"Stack": "prod"}, "Sum") == 240


def cloudwatch_stat(client: object, name: str, dims: dict[str, str], stat: str, period: int = 3600) -> float | None:
    """One statistic over the last hour, matching dimensions exactly as CloudWatch does.

    ``get_metric_data`` is used because moto's ``get_metric_statistics`` matches a
    subset of dimensions, which real CloudWatch does not.
    """
    now = datetime.now(timezone.utc)
    query = {"Id": "q", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": metrics.NAMESPACE, "MetricName": name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": period, "Stat": stat}}
    res = client.get_metric_data(MetricDataQueries=[query], StartTime=now - timedelta(seconds=period),
                                 EndTime=now + timedelta(minutes=5))["MetricDataResults"][0]["Values"]
    return res[0] if res else None


def test_default_client_is_made_when_aws_is_configured(fake_aws: None) -> None:
    n = publisher.RunPublisher(CFG, "run-3")([outcome("AAPL", [0.1])])
    listed = boto3.client("cloudwatch", region_name="us-east-1").list_metrics(Namespace=metrics.NAMESPACE)["Metrics"]
    assert n > 0 and {x["MetricName"] for x in listed} >= {metrics.DIVERGENCE, metrics.FORECASTS_WRITTEN}


def _stubbed() -> tuple[object, Stubber]:
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_throttling_is_retried_with_backoff() -> None:
    client, stub = _stubbed()
    stub.add_client_error("put_metric_data", service_error_code="Throttling", http_status_code=400)
    stub.add_client_error("put_metric_data", service_error_code="Throttling", http_status_code=400)
    stub.add_response("put_metric_data", {})
    delays: list[float] = []
    datums = publisher.build_datums([outcome("AAPL", [0.1])], CFG, T0)
    with stub:
        publisher.send_batch(client, datums, base_delay=0.5, sleep=delays.append)
        stub.assert_no_pending_responses()
    assert delays == [0.5, 1.0]


def test_persistent_failure_logs_the_datapoints_and_raises(caplog: pytest.LogCaptureFixture) -> None:
    client, stub = _stubbed()
    for _ in range(3):
        stub.add_client_error("put_metric_data", service_error_code="Throttling", http_status_code=400)
    datums = publisher.build_datums([outcome("AAPL", [0.1])], CFG, T0)
    caplog.set_level(logging.INFO, logger="jobs.monitoring.publisher")
    with stub, pytest.raises(publisher.MetricsPublishError, match="1 PutMetricData batch"):
        publisher.publish_datums(client, datums, "run-4", attempts=3, sleep=lambda _: None)
    logged = [r.fields for r in caplog.records if getattr(r, "fields", None)]
    assert len(logged) == len(datums)


def test_other_client_errors_are_not_retried() -> None:
    client, stub = _stubbed()
    stub.add_client_error("put_metric_data", service_error_code="InvalidParameterValue", http_status_code=400)
    delays: list[float] = []
    with stub, pytest.raises(Exception, match="InvalidParameterValue"):
        publisher.send_batch(client, publisher.build_datums([outcome("AAPL", [0.1])], CFG, T0), sleep=delays.append)
    assert delays == []


def test_batch_size_is_checked() -> None:
    with pytest.raises(ValueError, match="expected 1 to 1000"):
        publisher.send_batch(object(), [])


def test_summary_vs_baseline_is_the_paired_figure() -> None:
    # Window 2 has no baseline and baseline window 9 no ensemble window: unpaired means would
    # give (0.02 + 0.04 + 0.08) / 3 over (0.02 + 1.0) / 2, about 0.092, not the paired 2.000.
    o = SymbolOutcome("AAPL", "1D", forecast=forecast(),
                      windows=(window(1, 0.0, test=0.02), window(2, 0.0, test=0.04), window(3, 0.0, test=0.08)),
                      baseline_windows=(window(2, 0.0, test=0.02, baseline=True),
                                        window(9, 0.0, test=1.0, baseline=True)))
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(summary_table([o], "run-1", CFG, 1.0))
    row = next(line for line in console.export_text().splitlines() if "AAPL" in line)
    assert relative_rmse_gap(o.windows, o.baseline_windows) == pytest.approx(1.0)
    assert " 2.000 " in row, row
