"""What the alarms, SNS topics and dashboard need (rollout document §7.1), parsed straight from
the stack's config and the forecast job's arguments: the settings are the component's args.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra import names
from infra.batch.args import BatchArgs
from infra.batch.schedules import run_intervals
from infra.values import SettingsError, key_name, strings
from jobs.contract.thresholds import Thresholds

_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")

# The keys read here, with how Pulumi's config string is decoded.
MONITORING_KEYS: dict[str, str] = {"reviewEmails": "json", "immediateEmails": "json"}
DEFAULT_RUN_INTERVALS: dict[str, int] = {"1D": 86_400, "4h": 14_400, "8h": 28_800}


@dataclass(frozen=True)
class MonitoringArgs:
    """What the monitoring component needs.

    Attributes:
        stack: Stack name; the ``Stack`` dimension value and part of every name.
        horizons: Horizons the stack forecasts; aggregate alarms exist per horizon.
        region: AWS region for the dashboard's widgets.
        thresholds: Every alarm threshold (``jobs.contract.thresholds``; the document's by default),
            the same values the stack renders into the job's environment.
        review_emails: Subscribers of the review topic.
        immediate_emails: Subscribers of the immediate (on-call) topic.
        run_intervals: Horizon -> longest gap in seconds between scheduled runs; no forecast
            within it alarms.
        tags: Tags for every taggable resource.
        schedules_enabled: Whether the stack's schedules fire; false turns every alarm's actions off.
        first_run_grace_seconds: After a schedule starts firing, how long the rollback composite
            keeps its actions suppressed so the first run can finish (the job timeout).
    """

    stack: str
    horizons: tuple[str, ...]
    region: str
    thresholds: Thresholds = field(default_factory=Thresholds)
    review_emails: tuple[str, ...] = ()
    immediate_emails: tuple[str, ...] = ()
    run_intervals: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RUN_INTERVALS))
    tags: Mapping[str, str] = field(default_factory=dict)
    schedules_enabled: bool = True
    first_run_grace_seconds: int = 3_600

    def __post_init__(self) -> None:
        if not self.horizons:
            raise ValueError("MonitoringArgs.horizons is empty: list at least one horizon")
        missing = [h for h in self.horizons if h not in self.run_intervals]
        if missing:
            raise ValueError(f"run_intervals has no entry for horizons {', '.join(missing)}")
        if not 60 <= self.first_run_grace_seconds <= 86_400:
            raise ValueError(f"first_run_grace_seconds={self.first_run_grace_seconds} is invalid: "
                             "expected 60 to 86400 seconds")

    def rule_name(self, horizon: str) -> str:
        """The EventBridge rule that starts ``horizon``'s runs: the core group's job name."""
        return names.job_name(self.stack, names.CORE_GROUP, horizon)

    @property
    def prefix(self) -> str:
        """Name prefix of every alarm, topic and rule of this stack."""
        return names.stack_prefix(self.stack)


def parse_monitoring(values: Mapping[str, Any], batch: BatchArgs, thresholds: Thresholds) -> MonitoringArgs:
    """Validate the subscriptions; the rest follows the job: its thresholds, schedules and timeout.

    Args:
        values: The decoded stack config.
        batch: The forecast job's arguments (stack, region, tags, schedules, timeout).
        thresholds: The thresholds rendered into the job's environment.
    """
    try:
        # The job may run up to its timeout after the scheduled time before it publishes.
        intervals = run_intervals(dict(batch.schedules), batch.job_timeout_seconds)
    except ValueError as exc:
        raise SettingsError(f"{key_name('schedules')}: {exc}") from None
    return MonitoringArgs(
        stack=batch.stack, horizons=batch.horizons, region=batch.region, thresholds=thresholds,
        review_emails=strings(values, "reviewEmails", _EMAIL_RE, "e-mail addresses"),
        immediate_emails=strings(values, "immediateEmails", _EMAIL_RE, "e-mail addresses"),
        run_intervals=intervals, tags=dict(batch.tags), schedules_enabled=batch.schedules_enabled,
        first_run_grace_seconds=batch.job_timeout_seconds,
    )
