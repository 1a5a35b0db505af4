"""The CloudWatch evaluator the replays use, pinned to the user guide's own examples.

"How alarm state is evaluated when data is missing": two tables of five retrieved datapoints
(oldest first; 0 not breaching, X breaching, - missing) and the state each missing-data setting
gives. "Metric math": arithmetic treats a missing value as 0 when the other side has one.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.support.cloudwatch import (
    ALARM,
    INSUFFICIENT,
    OK,
    MetricAlarm,
    MetricStore,
    composite_holds,
    metric_key,
    replay,
)

PERIOD = 300
NOW = datetime(2026, 1, 12, 12, 0, tzinfo=timezone.utc).timestamp()
KEY = metric_key("Test", "Value", {"Name": "a"})

# (datapoints oldest first, BREACHING, NOT BREACHING) for N = M = 3, then for M = 2 of N = 3.
THREE_OF_THREE = [("0 - X - X", OK, OK), ("0 - - - -", OK, OK), ("- - - - -", ALARM, OK),
                  ("0 X X - X", ALARM, ALARM), ("- - - - X", ALARM, OK), ("X - - - -", ALARM, OK)]
TWO_OF_THREE = [("0 - X - X", ALARM, ALARM), ("0 0 X 0 X", ALARM, ALARM), ("0 - X - -", ALARM, OK),
                ("- - - - 0", ALARM, OK), ("- - - - X", ALARM, OK)]


def alarm(m: int, missing: str, **extra: object) -> MetricAlarm:
    inputs = {"name": "a", "namespace": "Test", "metricName": "Value", "dimensions": {"Name": "a"},
              "statistic": "Maximum", "period": PERIOD, "evaluationPeriods": 3, "datapointsToAlarm": m,
              "comparisonOperator": "GreaterThanThreshold", "threshold": 5.0, "treatMissingData": missing, **extra}
    return MetricAlarm("a", inputs)


def store_of(points: str) -> MetricStore:
    store = MetricStore()
    for i, p in enumerate(points.split()):
        if p != "-":  # the i-th of five periods ending now, oldest first
            at = NOW - (5 - i) * PERIOD + 1
            store.put(KEY, datetime.fromtimestamp(at, timezone.utc), 10.0 if p == "X" else 0.0)
    return store


@pytest.mark.parametrize(("m", "points", "breaching", "not_breaching"),
                         [(3, *row) for row in THREE_OF_THREE] + [(2, *row) for row in TWO_OF_THREE])
def test_missing_data_as_the_user_guide_tables(m: int, points: str, breaching: str, not_breaching: str) -> None:
    assert alarm(m, "breaching").evaluate(store_of(points), NOW) == breaching, points
    assert alarm(m, "notBreaching").evaluate(store_of(points), NOW) == not_breaching, points


def test_ignore_and_missing_are_refused_rather_than_guessed() -> None:
    for setting in ("ignore", "missing"):
        with pytest.raises(ValueError, match=f"treatMissingData '{setting}' is not modelled"):
            alarm(3, setting).evaluate(store_of("0 0 0 0 0"), NOW)


def math_alarm(expression: str) -> MetricAlarm:
    metric = {"namespace": "Test", "dimensions": {"Name": "a"}, "period": PERIOD, "stat": "Sum"}
    queries = [{"id": "m1", "metric": {**metric, "metricName": "One"}, "returnData": False},
               {"id": "m2", "metric": {**metric, "metricName": "Two"}, "returnData": False},
               {"id": "e", "expression": expression, "returnData": True}]
    return MetricAlarm("e", {"name": "e", "metricQueries": queries, "evaluationPeriods": 1, "threshold": 0.0,
                             "comparisonOperator": "GreaterThanThreshold", "treatMissingData": "notBreaching"})


@pytest.mark.parametrize(("expression", "one", "two", "value"), [
    ("m1 - m2", 3.0, None, 3.0),            # missing treated as 0 when the other side has a value
    ("m1 - m2", None, None, None),          # missing everywhere stays missing
    ("FILL(m1, 0) - FILL(m2, 0)", None, None, 0.0),
    ("MAX([FILL(m1, 0), 2 * FILL(m2, 0)]) - 1", 3.0, 4.0, 7.0),
    ("m1 / m2", 3.0, 0.0, None),            # division by zero drops the point
    ("-m1 + 4 * (m2 - 1)", 1.0, 2.0, 3.0),
])
def test_metric_math(expression: str, one: float | None, two: float | None, value: float | None) -> None:
    store = MetricStore()
    for name, v in (("One", one), ("Two", two)):
        if v is not None:
            store.put(metric_key("Test", name, {"Name": "a"}), datetime.fromtimestamp(NOW - 10, timezone.utc), v)
    assert math_alarm(expression).datapoint(store, NOW - PERIOD, NOW) == value


def test_unmodelled_math_is_refused() -> None:
    with pytest.raises(ValueError, match="RUNNING_SUM .* is not modelled"):
        math_alarm("RUNNING_SUM(m1)").datapoint(MetricStore(), NOW - PERIOD, NOW)


def test_composite_rules() -> None:
    states = {"a": ALARM, "b": OK, "c": INSUFFICIENT}
    assert composite_holds('ALARM("a") AND NOT ALARM("b")', states)
    assert composite_holds('ALARM("b") OR ALARM("a") AND OK("b")', states)  # AND binds tighter than OR
    assert not composite_holds('(ALARM("b") OR ALARM("a")) AND ALARM("c")', states)
    assert composite_holds('INSUFFICIENT_DATA("c") AND INSUFFICIENT_DATA("unknown")', states)
    assert composite_holds("TRUE", states) and not composite_holds('NOT TRUE OR FALSE', states)


def test_replay_holds_an_alarm_while_its_datapoint_is_in_the_evaluation_range() -> None:
    """N = 1 over a 5-minute period: the breaching point keeps counting while it is among the
    N + 2 periods retrieved and no newer point exists ("re-evaluate the last set of data points")."""
    store, start = MetricStore(), datetime.fromtimestamp(NOW, timezone.utc)
    store.put(KEY, datetime.fromtimestamp(NOW + 600, timezone.utc), 10.0)
    a = alarm(1, "notBreaching", evaluationPeriods=1, datapointsToAlarm=1)
    result = replay([a], {"c": 'ALARM("a")'}, store, start, datetime.fromtimestamp(NOW + 3_600, timezone.utc))
    [(begin, end)] = result.alarm_intervals("a", datetime.fromtimestamp(NOW + 3_600, timezone.utc))
    assert (begin.timestamp() - NOW, end.timestamp() - NOW) == (660, 660 + 3 * PERIOD)
    assert result.alarm_intervals("c", datetime.fromtimestamp(NOW + 3_600, timezone.utc)) == [(begin, end)]
