"""The CloudWatch dashboard body: the rollout document's charts, per horizon, plus alarm status.

Every widget is built from the metric contract in ``jobs.contract.metrics`` (namespace, names,
dimension sets), so the dashboard shows exactly what the job publishes;
``infra.monitoring.component.Monitoring`` puts the body into the stack's dashboard resource.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from infra.monitoring.args import MonitoringArgs
from jobs.contract import metrics


def _metric(name: str, dims: Mapping[str, str], **opts: Any) -> list[Any]:
    row: list[Any] = [metrics.NAMESPACE, name]
    for k, v in dims.items():
        row += [k, v]
    return row + [opts] if opts else row


def _graph(title: str, region: str, metrics: list[list[Any]], *, stat: str = "Average", period: int = 3_600,
           lines: Sequence[tuple[str, float]] = (), view: str = "timeSeries") -> dict[str, Any]:
    props: dict[str, Any] = {"title": title, "region": region, "view": view, "stat": stat, "period": period,
                             "metrics": metrics}
    if lines:
        props["annotations"] = {"horizontal": [{"label": label, "value": v} for label, v in lines]}
    return {"type": "metric", "width": 12, "height": 6, "properties": props}


def search_expression(stack: str, metric: str, stat: str, period: int) -> str:
    """A SEARCH over every symbol of ``stack`` for ``metric`` (scales to prod's 100+ symbols)."""
    dims = ",".join(sorted(metrics.PER_SYMBOL))
    return f"SEARCH('{{{metrics.NAMESPACE},{dims}}} MetricName=\"{metric}\" {metrics.DIM_STACK}=\"{stack}\"', '{stat}', {period})"


def dashboard_widgets(args: MonitoringArgs, alarm_arns: Sequence[str]) -> list[dict[str, Any]]:
    """The dashboard's widgets: the rollout document's charts, per horizon, plus alarm status."""
    r = args.region
    agg = [{metrics.DIM_STACK: args.stack, metrics.DIM_HORIZON: h} for h in args.horizons]
    warn, crit = ("warning", args.thresholds.divergence_warning), ("critical", args.thresholds.divergence_critical)
    widgets = [
        {"type": "alarm", "width": 24, "height": 3,
         "properties": {"title": f"{args.stack}: alarms", "alarms": list(alarm_arns)}},
        _graph("Divergence trends: validation vs test RMSE", r,
               [_metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg for n in (metrics.VALIDATION_RMSE, metrics.TEST_RMSE)]),
        _graph("Overfitting alerts: max window divergence", r,
               [_metric(metrics.DIVERGENCE, d, label=f"max divergence {d[metrics.DIM_HORIZON]}") for d in agg]
               + [_metric(metrics.OVERFITTING_WINDOWS, d, stat="Sum", yAxis="right",
                          label=f"overfitting windows {d[metrics.DIM_HORIZON]}") for d in agg],
               stat="Maximum", lines=(warn, crit)),
        _graph("RMSE: 2-model ensemble vs legacy baseline", r,
               [_metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg for n in (metrics.TEST_RMSE, metrics.BASELINE_TEST_RMSE)]
               + [_metric(metrics.RMSE_VS_BASELINE, d, yAxis="right", label=f"relative gap {d[metrics.DIM_HORIZON]}") for d in agg],
               lines=(("escalate", args.thresholds.rmse_escalation), ("rollback", args.thresholds.rmse_rollback))),
    ]
    quality: list[list[Any]] = []
    for i, d in enumerate(agg):
        quality += [_metric(metrics.WINDOWS_EVALUATED, d, id=f"w{i}", label=f"windows {d[metrics.DIM_HORIZON]}"),
                    _metric(metrics.OVERFITTING_WINDOWS, d, id=f"o{i}", label=f"overfitting {d[metrics.DIM_HORIZON]}"),
                    [{"expression": f"100 * o{i} / w{i}", "label": f"% overfitting {d[metrics.DIM_HORIZON]}",
                      "id": f"p{i}", "yAxis": "right"}]]
    widgets.append(_graph("Window quality", r, quality, stat="Sum"))
    t = args.thresholds
    widgets.append(_graph("Interval calibration: test-slice coverage of the 90% interval (daily average)", r,
                          [_metric(metrics.INTERVAL_COVERAGE, d, label=f"coverage {d[metrics.DIM_HORIZON]}")
                           for d in agg], period=86_400,
                          lines=(("alarm low", t.coverage_alarm_low), ("review low", t.coverage_review_low),
                                 ("nominal", 0.9), ("review high", t.coverage_review_high),
                                 ("alarm high", t.coverage_alarm_high))))
    widgets.append(_graph("Symbol health: average divergence per symbol", r, [
        [{"expression": search_expression(args.stack, metrics.SYMBOL_AVERAGE_DIVERGENCE, "Maximum", 86_400),
          "id": "health", "label": ""}]], stat="Maximum", period=86_400,
        lines=(("rollback", args.thresholds.divergence_rollback),)))
    widgets.append(_graph("Forecast generation", r, [
        _metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg
        for n in (metrics.FORECASTS_WRITTEN, metrics.FORECASTS_FAILED, metrics.MODEL_ERRORS)
    ] + [_metric(metrics.CRITICAL_ALERTS, {metrics.DIM_STACK: args.stack}, label="critical events")], stat="Sum",
        lines=(("storm", args.thresholds.alert_storm_count),)))
    return widgets


def dashboard_body(args: MonitoringArgs, alarm_arns: Sequence[str]) -> str:
    """The dashboard JSON body."""
    return json.dumps({"widgets": dashboard_widgets(args, alarm_arns)}, sort_keys=True)
