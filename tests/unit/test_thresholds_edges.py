"""Every threshold limit at its edge, with the one line that refuses it: the fractions, the shares, the order, the storm.

The job reads these from its environment and the stacks from their config through
``parse_thresholds``; a stack renders them into the job. A limit off by one value here would let
a stack deploy what the job then refuses (or the reverse).
"""

from __future__ import annotations

import math

import pytest

from jobs.contract.thresholds import ENV_VARS, MAX_FRACTION, PERIOD_MINUTES, Thresholds, parse_thresholds
from jobs.contract.values import ConfigError

FRACTION = "is invalid: expected a fraction above 0, e.g. 0.15 for 15%"
# The upper field of each ordered pair, and the fractions without one: each may be as large as allowed.
TOPS = ("divergence_critical", "divergence_rollback", "rmse_rollback")
ORDERED = (("divergence_warning", "divergence_critical"), ("divergence_proceed", "divergence_rollback"),
           ("rmse_escalation", "rmse_rollback"), ("coverage_alarm_low", "coverage_review_low"),
           ("coverage_review_low", "coverage_review_high"), ("coverage_review_high", "coverage_alarm_high"))


def refused(message: str, **values: object) -> None:
    with pytest.raises(ConfigError, match=f"^{_escape(message)}$"):
        Thresholds(**values)  # type: ignore[arg-type]


def _escape(text: str) -> str:
    return "".join("\\" + c if c in r"()[]{}.*+?^$|\\" else c for c in text)


@pytest.mark.parametrize("field", TOPS)
def test_a_fraction_may_reach_the_maximum_and_no_further(field: str) -> None:
    assert getattr(Thresholds(**{field: MAX_FRACTION}), field) == MAX_FRACTION
    refused(f"{ENV_VARS[field]}={math.nextafter(MAX_FRACTION, 20.0)!r} {FRACTION}", **{field: math.nextafter(MAX_FRACTION, 20.0)})


@pytest.mark.parametrize("field", [*TOPS, "divergence_warning", "overfitting_share", "coverage_alarm_low"])
@pytest.mark.parametrize("value", [0.0, -0.1, math.nan, math.inf, True])
def test_a_fraction_must_be_a_finite_number_above_zero(field: str, value: object) -> None:
    refused(f"{ENV_VARS[field]}={value!r} {FRACTION}", **{field: value})


def test_a_tiny_positive_fraction_is_allowed() -> None:
    assert Thresholds(divergence_warning=1e-9).divergence_warning == 1e-9


@pytest.mark.parametrize(("low", "high"), ORDERED)
def test_each_ordered_pair_must_be_strictly_ordered(low: str, high: str) -> None:
    top = getattr(Thresholds(), high)
    below = math.nextafter(top, 0.0)
    assert getattr(Thresholds(**{low: below}), low) == below
    refused(f"{ENV_VARS[low]}={top} must be below {ENV_VARS[high]}={top}", **{low: top})


def test_a_share_may_be_one_and_no_more() -> None:
    assert Thresholds(coverage_alarm_high=1.0, overfitting_share=1.0).coverage_alarm_high == 1.0
    over = math.nextafter(1.0, 2.0)
    refused(f"COVERAGE_ALARM_HIGH={over} is invalid: expected a share in (0, 1]", coverage_alarm_high=over)
    refused(f"OVERFITTING_SHARE_THRESHOLD={over} is invalid: expected a share in (0, 1]", overfitting_share=over)


@pytest.mark.parametrize(("count", "ok"), [(-1, False), (0, True), (10_000, True), (10_001, False)])
def test_the_storm_count_limits(count: int, ok: bool) -> None:
    if ok:
        assert Thresholds(alert_storm_count=count).alert_storm_count == count
    else:
        refused(f"ALERT_STORM_COUNT={count} is invalid: expected 0 to 10000", alert_storm_count=count)


@pytest.mark.parametrize(("seconds", "ok"), [(0, False), (59, False), (60, True), (90, False), (86_400, True),
                                             (86_460, False)])
def test_the_storm_period_is_whole_minutes_from_one_minute_to_a_day(seconds: int, ok: bool) -> None:
    if ok:
        assert Thresholds(alert_storm_period_seconds=seconds).alert_storm_period_minutes == seconds // 60
    else:
        refused(f"ALERT_STORM_PERIOD_SECONDS={seconds} is invalid: expected whole minutes from 60 to 86400 seconds",
                alert_storm_period_seconds=seconds)


def test_parse_thresholds_reads_minutes_counts_and_fractions_and_names_errors_as_the_caller_does() -> None:
    # The stacks give the storm period in minutes, always with their config keys' names (infra/batch/jobs.py).
    stack = {PERIOD_MINUTES: "alertStormPeriodMinutes"}
    parsed = parse_thresholds({PERIOD_MINUTES: "90", "alert_storm_count": "7", "divergence_warning": "0.25"}, stack)
    assert (parsed.alert_storm_period_seconds, parsed.alert_storm_count, parsed.divergence_warning) == (5_400, 7, 0.25)
    assert parse_thresholds({}) == Thresholds()
    names = {"divergence_warning": "divergenceWarning"}
    with pytest.raises(ConfigError, match=r"^divergenceWarning=0\.3 must be below DIVERGENCE_CRITICAL_THRESHOLD=0\.3$"):
        parse_thresholds({"divergence_warning": "0.3"}, names)
    minutes = "is invalid: expected an integer from 1 to 1440"  # the seconds' limits, in minutes
    with pytest.raises(ConfigError, match=f"^alertStormPeriodMinutes='0' {minutes}$"):
        parse_thresholds({PERIOD_MINUTES: "0"}, stack)
    assert parse_thresholds({PERIOD_MINUTES: "1440"}, stack).alert_storm_period_seconds == 86_400
    with pytest.raises(ConfigError, match=f"^alertStormPeriodMinutes='1441' {minutes}$"):
        parse_thresholds({PERIOD_MINUTES: "1441"}, stack)
    with pytest.raises(ValueError, match=f"^'storm' is not a threshold; known: {', '.join(ENV_VARS)}, {PERIOD_MINUTES}$"):
        parse_thresholds({"storm": "1"})


@pytest.mark.parametrize("count", [3.0, 2.5, True])
def test_counts_must_be_whole_numbers_not_floats_or_booleans(count: object) -> None:
    refused(f"DATA_INCIDENT_ROLLBACK_MIN={count} is invalid: expected 1 to 10000", data_incident_min_symbols=count)
