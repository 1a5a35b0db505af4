"""The rollout document's numbers, in one place: the job, the review, the alarms and the stacks read them.

``Thresholds`` is the one structure that carries them; the module constants are its defaults.
Each field has one environment variable (``ENV_VARS``), so a stack renders every threshold into
the job's environment and the job, its review, its daily checks and its dashboard use the
stack's values rather than code defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

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

_FRACTIONS = ("divergence_warning", "divergence_critical", "divergence_proceed", "divergence_rollback",
              "rmse_escalation", "rmse_rollback", "overfitting_share")
_SHARES = ("overfitting_share", "coverage_review_low", "coverage_review_high", "coverage_alarm_low",
           "coverage_alarm_high", "data_incident_share", "limited_symbol_share")
# Whole numbers and their allowed ranges.
_COUNTS = {"data_incident_min_symbols": (1, 10_000), "quarantine_after": (1, 1_000)}


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
        for name in (*_FRACTIONS, *_SHARES):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value)
                                               and 0.0 < value <= MAX_FRACTION):
                raise ValueError(f"{ENV_VARS[name]}={value!r} is invalid: expected a fraction above 0, e.g. 0.15 for 15%")
        ordered = (("divergence_warning", "divergence_critical"), ("divergence_proceed", "divergence_rollback"),
                   ("rmse_escalation", "rmse_rollback"), ("coverage_alarm_low", "coverage_review_low"),
                   ("coverage_review_low", "coverage_review_high"), ("coverage_review_high", "coverage_alarm_high"))
        for low, high in ordered:
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{ENV_VARS[low]}={getattr(self, low)} must be below "
                                 f"{ENV_VARS[high]}={getattr(self, high)}")
        for name in _SHARES:
            if getattr(self, name) > 1.0:
                raise ValueError(f"{ENV_VARS[name]}={getattr(self, name)} is invalid: expected a share in (0, 1]")
        for name, (low, high) in _COUNTS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{ENV_VARS[name]}={value!r} is invalid: expected a whole number from {low} to {high}")
        if not 0 <= self.alert_storm_count <= 10_000:
            raise ValueError(f"{ENV_VARS['alert_storm_count']}={self.alert_storm_count} is invalid: expected 0 to 10000")
        if not 60 <= self.alert_storm_period_seconds <= 86_400 or self.alert_storm_period_seconds % 60:
            raise ValueError(f"{ENV_VARS['alert_storm_period_seconds']}={self.alert_storm_period_seconds} is invalid: "
                             "expected whole minutes from 60 to 86400 seconds")

    @property
    def alert_storm_period_minutes(self) -> int:
        """The storm period in minutes (the stacks' config unit)."""
        return self.alert_storm_period_seconds // 60


# The job's environment variable for each threshold (DESIGN §3.1); the first two are the
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
