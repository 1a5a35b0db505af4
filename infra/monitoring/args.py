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
from infra.batch.schedules import RunWindow, missed_run_window
from infra.values import SettingsError, key_name, strings
from jobs.contract.thresholds import Thresholds

_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")

# The keys read here, with how Pulumi's config string is decoded.
MONITORING_KEYS: dict[str, str] = {"reviewEmails": "json", "immediateEmails": "json"}
# How long a scheduled run may wait for Fargate capacity (and EventBridge to submit it) before
# its lateness counts as missing: part of every run's grace, beside its retries.
QUEUE_ALLOWANCE_SECONDS = 3_600
DEFAULT_GRACE_SECONDS = 3 * 3_600 + QUEUE_ALLOWANCE_SECONDS
DEFAULT_RUN_WINDOWS: dict[str, RunWindow] = {"1D": RunWindow(28_800, 28_800), "4h": RunWindow(43_200, 28_800),
                                             "8h": RunWindow(28_800, 28_800)}


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
        expected_tasks: Horizon -> ((schedule rule name, symbol-horizon tasks per firing), ...):
            what each firing of the horizon's rules asks for (one rule per job group).
        grace_seconds: How long a run may take from its schedule firing or its start: every
            attempt up to the timeout, plus ``QUEUE_ALLOWANCE_SECONDS``.
        run_windows: Horizon -> the periods of its missed-run alarms
            (``infra.batch.schedules.missed_run_window``).
        tags: Tags for every taggable resource.
        schedules_enabled: Whether the stack's schedules fire; false turns every alarm's
            actions and the Batch failure rule off.
    """

    stack: str
    horizons: tuple[str, ...]
    region: str
    thresholds: Thresholds = field(default_factory=Thresholds)
    review_emails: tuple[str, ...] = ()
    immediate_emails: tuple[str, ...] = ()
    expected_tasks: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    run_windows: Mapping[str, RunWindow] = field(default_factory=lambda: dict(DEFAULT_RUN_WINDOWS))
    tags: Mapping[str, str] = field(default_factory=dict)
    schedules_enabled: bool = True

    def __post_init__(self) -> None:
        if not self.horizons:
            raise ValueError("MonitoringArgs.horizons is empty: list at least one horizon")
        for what, table in (("run_windows", self.run_windows), ("expected_tasks", self.expected_tasks)):
            missing = [h for h in self.horizons if h not in table]
            if missing:
                raise ValueError(f"{what} has no entry for horizons {', '.join(missing)}")
        if not 60 <= self.grace_seconds <= 86_400 or self.grace_seconds % 60:
            raise ValueError(f"grace_seconds={self.grace_seconds} is invalid: expected whole minutes, "
                             "60 to 86400 seconds")

    @property
    def prefix(self) -> str:
        """Name prefix of every alarm, topic and rule of this stack."""
        return names.stack_prefix(self.stack)


def run_grace_seconds(batch: BatchArgs) -> int:
    """Every attempt up to its timeout, plus the queue allowance, in whole minutes."""
    return -(-(batch.retry_attempts * batch.job_timeout_seconds + QUEUE_ALLOWANCE_SECONDS) // 60) * 60


def parse_monitoring(values: Mapping[str, Any], batch: BatchArgs, thresholds: Thresholds) -> MonitoringArgs:
    """Validate the subscriptions; the rest follows the job: its thresholds, schedules, retries and timeout.

    Args:
        values: The decoded stack config.
        batch: The forecast job's arguments (stack, region, tags, groups, schedules, retries, timeout).
        thresholds: The thresholds rendered into the job's environment.
    """
    grace = run_grace_seconds(batch)
    windows = {}
    for horizon, expression in batch.schedules:
        try:
            windows[horizon] = missed_run_window(expression, grace)
        except ValueError as exc:
            raise SettingsError(f"{key_name('schedules')}.{horizon}: {exc}") from None
    expected = {h: tuple((names.job_name(batch.stack, g.name, h), len(g.symbols)) for g in batch.groups)
                for h in batch.horizons}
    return MonitoringArgs(
        stack=batch.stack, horizons=batch.horizons, region=batch.region, thresholds=thresholds,
        review_emails=strings(values, "reviewEmails", _EMAIL_RE, "e-mail addresses"),
        immediate_emails=strings(values, "immediateEmails", _EMAIL_RE, "e-mail addresses"),
        expected_tasks=expected, grace_seconds=grace, run_windows=windows, tags=dict(batch.tags),
        schedules_enabled=batch.schedules_enabled,
    )
