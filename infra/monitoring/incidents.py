"""Data incidents vs pipeline failures in the alarms (issue 20; docs/design.md §3.5).

A data incident (a symbol-horizon whose input the job refused: ``DataIncidents``) is the data
team's: it tells the review topic and decides nothing. It becomes a rollback trigger only when it
is systemic, as the review's ``data-incidents-systemic`` check says: within one run's hour, more
than ``data_incident_share`` of the horizon's tasks refused (quarantined tasks aside, as the
review leaves quarantined symbols aside) and at least ``data_incident_min_symbols`` of them. The
two halves are two metric alarms joined by a composite, ``data-incidents-systemic-<horizon>``,
which the rollback composite reads. A pipeline failure (code raised: ``PipelineFailures``) rolls
back on its own (``pipeline-failures-<horizon>`` in ``infra.monitoring.alarms``).
"""

from __future__ import annotations

from infra import names
from infra.monitoring.args import MonitoringArgs
from infra.monitoring.runs import MathAlarmSpec, MetricQuery
from jobs.contract import metrics

SYSTEMIC = "data-incidents-systemic"
SHARE = "data-incidents-share"
COUNT = "data-incidents-count"
# One hour holds one scheduled run's datapoints (all of its array children), as for the other
# per-run alarms of ``infra.monitoring.alarms``.
RUN_PERIOD_SECONDS = 3_600


def share_alarm_spec(args: MonitoringArgs, horizon: str) -> MathAlarmSpec:
    """The share of the hour's tasks refused for their data, quarantined tasks aside."""
    dims = {metrics.DIM_STACK: args.stack, metrics.DIM_HORIZON: horizon}
    queries = (MetricQuery("incidents", metrics.NAMESPACE, metrics.DATA_INCIDENTS, dims),
               MetricQuery("expected", metrics.NAMESPACE, metrics.FORECASTS_EXPECTED, dims),
               MetricQuery("quarantined", metrics.NAMESPACE, metrics.QUARANTINED_TASKS, dims))
    # No run declared tasks this hour: the division by zero leaves no datapoint (not breaching).
    share = "FILL(incidents, 0) / (FILL(expected, 0) - FILL(quarantined, 0))"
    t = args.thresholds
    return MathAlarmSpec(
        f"{SHARE}-{horizon}", queries, (("share", share),), "GreaterThanThreshold", t.data_incident_share,
        RUN_PERIOD_SECONDS,
        f"{args.stack} {horizon}: more than {t.data_incident_share:.0%} of a run's tasks refused for their data "
        f"(quarantined aside); with {COUNT}-{horizon}, a systemic data outage ({SYSTEMIC}-{horizon})")


def all_share_alarm_specs(args: MonitoringArgs) -> list[MathAlarmSpec]:
    """Every horizon's share alarm."""
    return [share_alarm_spec(args, h) for h in args.horizons]


def systemic_rule(args: MonitoringArgs, horizon: str) -> str:
    """The composite rule: the share above the threshold and at least the minimum count refused."""
    share, count = (names.resource_name(args.stack, k, horizon) for k in (SHARE, COUNT))
    return f'ALARM("{share}") AND ALARM("{count}")'
