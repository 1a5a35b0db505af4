"""What the alarms, SNS topics, dashboard and schedules need (rollout document §7.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.settings_common import (
    DEFAULTS,
    SettingsError,
    flag,
    fraction,
    integer,
    key_name,
    require,
    strings,
)
from jobs.contract.config import HORIZONS, JobConfig

_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")
_SCHEDULE_RE = re.compile(r"^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")


@dataclass(frozen=True)
class MonitoringSettings:
    """What the alarms, SNS topics and dashboard need (rollout document §7.1).

    Attributes:
        warning_threshold: Divergence above this is flagged for review (0.20).
        critical_threshold: Divergence above this notifies immediately (0.30).
        baseline_rmse_escalation: RMSE increase vs baseline that escalates (0.05).
        rollback_divergence: Average divergence that triggers a rollback (0.25).
        rollback_rmse_increase: RMSE degradation vs baseline that triggers a rollback (0.10).
        alert_storm_count: More critical alerts than this in the period is a storm (5).
        alert_storm_period_minutes: The storm window (60).
        review_emails: Subscribers of the "review" topic (may be empty).
        immediate_emails: Subscribers of the "immediate" topic (may be empty).
        schedules: Horizon -> EventBridge schedule expression, one per stack horizon.
        schedules_enabled: Whether the EventBridge rules fire (false once a later phase takes over).
    """

    warning_threshold: float
    critical_threshold: float
    baseline_rmse_escalation: float
    rollback_divergence: float
    rollback_rmse_increase: float
    alert_storm_count: int
    alert_storm_period_minutes: int
    review_emails: tuple[str, ...]
    immediate_emails: tuple[str, ...]
    schedules: tuple[tuple[str, str], ...]
    schedules_enabled: bool = True

    def schedule(self, horizon: str) -> str:
        """The schedule expression of ``horizon``."""
        return dict(self.schedules)[horizon]


def parse_monitoring(values: Mapping[str, Any], horizons: tuple[str, ...], job: JobConfig) -> MonitoringSettings:
    """Validate the monitoring settings; thresholds are the job's own (validated with it)."""
    schedules = require(values, "schedules")
    if not isinstance(schedules, dict):
        raise SettingsError(f"{key_name('schedules')}={schedules!r} is invalid: expected a map of horizon to schedule")
    for horizon, expr in schedules.items():
        if horizon not in HORIZONS:
            raise SettingsError(f"{key_name('schedules')} has unknown horizon {horizon!r}; known horizons: {', '.join(HORIZONS)}")
        if not isinstance(expr, str) or not _SCHEDULE_RE.match(expr):
            raise SettingsError(f"{key_name('schedules')}.{horizon}={expr!r} is invalid: expected cron(...) or rate(...)")
    missing = [h for h in horizons if h not in schedules]
    if missing:
        raise SettingsError(f"{key_name('schedules')} has no schedule for horizon(s) {', '.join(missing)}")
    return MonitoringSettings(
        warning_threshold=job.divergence_threshold,
        critical_threshold=job.divergence_critical_threshold,
        baseline_rmse_escalation=fraction(values, "baselineRmseEscalation", DEFAULTS.baseline_rmse_escalation),
        rollback_divergence=fraction(values, "rollbackDivergence", DEFAULTS.rollback_divergence),
        rollback_rmse_increase=fraction(values, "rollbackRmseIncrease", DEFAULTS.rollback_rmse_increase),
        alert_storm_count=integer(values, "alertStormCount", DEFAULTS.alert_storm_count, 1, 1000),
        alert_storm_period_minutes=integer(values, "alertStormPeriodMinutes", DEFAULTS.alert_storm_period_minutes, 1, 1440),
        review_emails=strings(values, "reviewEmails", _EMAIL_RE, "e-mail addresses"),
        immediate_emails=strings(values, "immediateEmails", _EMAIL_RE, "e-mail addresses"),
        schedules=tuple((h, schedules[h]) for h in horizons),
        schedules_enabled=flag(values, "schedulesEnabled", True),
    )
