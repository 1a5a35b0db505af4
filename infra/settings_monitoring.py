"""What the alarms, SNS topics, dashboard and schedules need (rollout document §7.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.settings_common import (
    SettingsError,
    flag,
    key_name,
    require,
    strings,
)
from jobs.contract.config import HORIZONS, JobConfig
from jobs.contract.thresholds import Thresholds

_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")
_SCHEDULE_RE = re.compile(r"^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")


@dataclass(frozen=True)
class MonitoringSettings:
    """What the alarms, SNS topics and dashboard need (rollout document §7.1).

    Attributes:
        thresholds: Every alarm and decision threshold (``jobs.contract.thresholds``), the same
            values the stack renders into the job's environment.
        review_emails: Subscribers of the "review" topic (may be empty).
        immediate_emails: Subscribers of the "immediate" topic (may be empty).
        schedules: Horizon -> EventBridge schedule expression, one per stack horizon.
        schedules_enabled: Whether the EventBridge rules fire (false once a later phase takes over).
    """

    thresholds: Thresholds
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
        thresholds=job.thresholds,
        review_emails=strings(values, "reviewEmails", _EMAIL_RE, "e-mail addresses"),
        immediate_emails=strings(values, "immediateEmails", _EMAIL_RE, "e-mail addresses"),
        schedules=tuple((h, schedules[h]) for h in horizons),
        schedules_enabled=flag(values, "schedulesEnabled", True),
    )
