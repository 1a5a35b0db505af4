"""The rollout document's numbers, in one place: the job, the review, the alarms and the stacks read them.

``Thresholds`` is the one structure that carries them; the module constants are its defaults.
Each field has one environment variable (``ENV_VARS``), so a stack renders every threshold into
the job's environment and the job, its review, its daily checks and its dashboard use the
stack's values rather than code defaults. ``parse_thresholds`` is their one parser: the job
reads its environment and the stacks their config through it, with one set of limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from jobs.contract.values import ConfigError, parse_int, parse_threshold

# "Warning: divergence > 20% -> flagged for review" / "Critical: divergence > 30% -> immediate".
DIVERGENCE_WARNING = 0.20
DIVERGENCE_CRITICAL = 0.30
# "Max RMSE increase > 5% vs baseline -> escalate"; success metric "RMSE vs baseline within ±5%".
BASELINE_RMSE_ESCALATION = 0.05
# Canary rollback plan: "Average divergence > 25% for any symbol", "RMSE > 10% worse than baseline".
ROLLBACK_DIVERGENCE = 0.25
ROLLBACK_RMSE_INCREASE = 0.10
# "Alert Storms: > 5 critical alerts in 1 hour".
ALERT_STORM_COUNT = 5
ALERT_STORM_PERIOD_SECONDS = 3_600
# Decision point: "PROCEED: average divergence < 15%"; success metric "overfitting < 10% of windows".
PROCEED_DIVERGENCE = 0.15
OVERFITTING_SHARE = 0.10
# Interval calibration (issue 14): the 90% interval's test-slice coverage. Outside 85-95% over a
# phase the review says MONITOR; outside 80-98% over a day's windows the review topic is alarmed.
COVERAGE_REVIEW_LOW = 0.85
COVERAGE_REVIEW_HIGH = 0.95
COVERAGE_ALARM_LOW = 0.80
COVERAGE_ALARM_HIGH = 0.98
# Data incidents (issue 20): a run whose input was refused for more than this share of the phase's
# symbols (and for at least DATA_INCIDENT_ROLLBACK_MIN of them) is a systemic outage: ROLLBACK.
# Below it, data incidents are reported for the data team and decide nothing.
DATA_INCIDENT_ROLLBACK_SHARE = 0.25
DATA_INCIDENT_ROLLBACK_MIN = 3
# A symbol with this many data incidents in a row (no forecast in between) is quarantined.
QUARANTINE_AFTER_INCIDENTS = 3
# Limited phase's success criterion: "Divergence < 20% for 95% of symbols" (20% is the warning threshold).
LIMITED_SYMBOL_SHARE = 0.95
# No threshold may exceed this (validated below), so a divergence stored as LEAK_DIVERGENCE is
# above every threshold, every alarm and every chart line.
MAX_FRACTION = 10.0
# The divergence stored when the validation RMSE is zero (a model fits the validation slice
# exactly: a leak) or so small that the ratio would overflow: overfitting beyond every threshold.
# Finite on purpose: PostgreSQL stores Infinity, but CloudWatch and JSON reject it.
LEAK_DIVERGENCE = 1e6

# The integer thresholds' limits, field -> (lowest, highest); the storm period is also whole
# minutes (CloudWatch alarm periods are). The job and the stacks parse with these same limits.
COUNT_LIMITS: dict[str, tuple[int, int]] = {
    "alert_storm_count": (0, 10_000),
    "alert_storm_period_seconds": (60, 86_400),
    "data_incident_min_symbols": (1, 10_000),
    "quarantine_after": (1, 1_000),
}
# The stacks configure the storm period in minutes: ``parse_thresholds`` takes this in its place.
PERIOD_MINUTES = "alert_storm_period_minutes"

_FRACTIONS = ("divergence_warning", "divergence_critical", "divergence_proceed", "divergence_rollback",
              "rmse_escalation", "rmse_rollback", "overfitting_share")
_SHARES = ("overfitting_share", "coverage_review_low", "coverage_review_high", "coverage_alarm_low",
           "coverage_alarm_high", "data_incident_share", "limited_symbol_share")


@dataclass(frozen=True)
class Thresholds:
    """Every decision threshold; fractions, not percentages (0.15 is 15%).

    Attributes:
        divergence_warning: a window above this is overfitting (flagged, equal weights; review topic).
        divergence_critical: a window above this is a critical alert (immediate topic).
        divergence_proceed: a phase's average divergence must stay below this to proceed.
        divergence_rollback: an average divergence above this for any symbol-horizon rolls back.
        rmse_escalation: test RMSE more than this much worse than the paired baseline escalates
            (and blocks PROCEED).
        rmse_rollback: more than this much worse than the paired baseline rolls back.
        overfitting_share: the share of overfitting windows must stay below this to proceed.
        alert_storm_count: more critical alerts than this within the storm period is a storm.
        alert_storm_period_seconds: the storm period.
        coverage_review_low, coverage_review_high: the phase's test-slice interval coverage must
            lie within these to proceed (else MONITOR).
        coverage_alarm_low, coverage_alarm_high: a day's average window coverage outside these
            alarms the review topic.
        data_incident_share, data_incident_min_symbols: a run whose input was refused (data
            incidents, quarantined symbols aside) for more than this share of its symbols, and at
            least this many, is a systemic outage (ROLLBACK); fewer are reported only.
        quarantine_after: data incidents in a row (no forecast in between) that quarantine a symbol.
        limited_symbol_share: limited's criterion: this share of its symbols must average a
            divergence below ``divergence_warning``.
    """

    divergence_warning: float = DIVERGENCE_WARNING
    divergence_critical: float = DIVERGENCE_CRITICAL
    divergence_proceed: float = PROCEED_DIVERGENCE
    divergence_rollback: float = ROLLBACK_DIVERGENCE
    rmse_escalation: float = BASELINE_RMSE_ESCALATION
    rmse_rollback: float = ROLLBACK_RMSE_INCREASE
    overfitting_share: float = OVERFITTING_SHARE
    alert_storm_count: int = ALERT_STORM_COUNT
    alert_storm_period_seconds: int = ALERT_STORM_PERIOD_SECONDS
    coverage_review_low: float = COVERAGE_REVIEW_LOW
    coverage_review_high: float = COVERAGE_REVIEW_HIGH
    coverage_alarm_low: float = COVERAGE_ALARM_LOW
    coverage_alarm_high: float = COVERAGE_ALARM_HIGH
    data_incident_share: float = DATA_INCIDENT_ROLLBACK_SHARE
    data_incident_min_symbols: int = DATA_INCIDENT_ROLLBACK_MIN
    quarantine_after: int = QUARANTINE_AFTER_INCIDENTS
    limited_symbol_share: float = LIMITED_SYMBOL_SHARE

    def __post_init__(self) -> None:
        _check({f.name: getattr(self, f.name) for f in fields(self)}, ENV_VARS)

    @property
    def alert_storm_period_minutes(self) -> int:
        """The storm period in minutes (the stacks' config unit)."""
        return self.alert_storm_period_seconds // 60


# The job's environment variable for each threshold (docs/design.md §3.1); the first two are the
# document's own names.
ENV_VARS: dict[str, str] = {
    "divergence_warning": "DIVERGENCE_THRESHOLD",
    "divergence_critical": "DIVERGENCE_CRITICAL_THRESHOLD",
    "divergence_proceed": "DIVERGENCE_PROCEED_THRESHOLD",
    "divergence_rollback": "DIVERGENCE_ROLLBACK_THRESHOLD",
    "rmse_escalation": "RMSE_ESCALATION_THRESHOLD",
    "rmse_rollback": "RMSE_ROLLBACK_THRESHOLD",
    "overfitting_share": "OVERFITTING_SHARE_THRESHOLD",
    "alert_storm_count": "ALERT_STORM_COUNT",
    "alert_storm_period_seconds": "ALERT_STORM_PERIOD_SECONDS",
    "coverage_review_low": "COVERAGE_REVIEW_LOW",
    "coverage_review_high": "COVERAGE_REVIEW_HIGH",
    "coverage_alarm_low": "COVERAGE_ALARM_LOW",
    "coverage_alarm_high": "COVERAGE_ALARM_HIGH",
    "data_incident_share": "DATA_INCIDENT_ROLLBACK_SHARE",
    "data_incident_min_symbols": "DATA_INCIDENT_ROLLBACK_MIN",
    "quarantine_after": "QUARANTINE_AFTER_INCIDENTS",
    "limited_symbol_share": "LIMITED_DIVERGENCE_SYMBOL_SHARE",
}
if set(ENV_VARS) != {f.name for f in fields(Thresholds)}:  # import-time guard: a new field needs its variable
    raise ImportError("jobs.contract.thresholds.ENV_VARS must name every Thresholds field")


def parse_thresholds(texts: Mapping[str, str], names: Mapping[str, str] | None = None) -> Thresholds:
    """Parse the thresholds that are set over the rollout document's defaults.

    The one parser of thresholds: the job reads them from its environment and the stacks from
    their config through it, so both accept exactly the same values.

    Args:
        texts: Field -> raw text of each threshold that is set. ``alert_storm_period_minutes``
            (``PERIOD_MINUTES``) stands for ``alert_storm_period_seconds`` in minutes.
        names: Field -> the name an error shows (the stack's config key); ``ENV_VARS`` for the rest.

    Raises:
        ConfigError: One line naming the value and what is allowed.
    """
    shown = {**ENV_VARS, **(names or {})}
    values: dict[str, float | int] = {}
    for name, raw in texts.items():
        if name == PERIOD_MINUTES:
            low, high = COUNT_LIMITS["alert_storm_period_seconds"]
            values["alert_storm_period_seconds"] = 60 * parse_int(shown[name], raw, low // 60, high // 60)
        elif name in COUNT_LIMITS:
            values[name] = parse_int(shown[name], raw, *COUNT_LIMITS[name])
        elif name in ENV_VARS:
            values[name] = parse_threshold(shown[name], raw)
        else:
            raise ValueError(f"{name!r} is not a threshold; known: {', '.join(ENV_VARS)}, {PERIOD_MINUTES}")
    defaults = Thresholds()
    _check({f.name: values.get(f.name, getattr(defaults, f.name)) for f in fields(Thresholds)}, shown)
    return Thresholds(**values)


def _check(values: Mapping[str, float | int], names: Mapping[str, str]) -> None:
    """Raise ``ConfigError`` naming (by ``names``) the first threshold out of range or order."""
    for name in (*_FRACTIONS, *_SHARES):
        value = values[name]
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value)
                                           and 0.0 < value <= MAX_FRACTION):
            raise ConfigError(f"{names[name]}={value!r} is invalid: expected a fraction above 0, e.g. 0.15 for 15%")
    ordered = (("divergence_warning", "divergence_critical"), ("divergence_proceed", "divergence_rollback"),
               ("rmse_escalation", "rmse_rollback"), ("coverage_alarm_low", "coverage_review_low"),
               ("coverage_review_low", "coverage_review_high"), ("coverage_review_high", "coverage_alarm_high"))
    for low, high in ordered:
        if values[low] >= values[high]:
            raise ConfigError(f"{names[low]}={values[low]} must be below {names[high]}={values[high]}")
    for name in _SHARES:
        if values[name] > 1.0:
            raise ConfigError(f"{names[name]}={values[name]} is invalid: expected a share in (0, 1]")
    for name in ("alert_storm_count", "data_incident_min_symbols", "quarantine_after"):
        count, (low, high) = values[name], COUNT_LIMITS[name]
        if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
            raise ConfigError(f"{names[name]}={count} is invalid: expected {low} to {high}")
    period, (low, high) = values["alert_storm_period_seconds"], COUNT_LIMITS["alert_storm_period_seconds"]
    if not low <= period <= high or period % 60:
        raise ConfigError(f"{names['alert_storm_period_seconds']}={period} is invalid: "
                          f"expected whole minutes from {low} to {high} seconds")
