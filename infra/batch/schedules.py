"""EventBridge schedule arithmetic: how long may pass between two scheduled runs.

The missing-forecast alarms need it: their period must cover the longest gap between runs
(a weekday-only schedule leaves a weekend), or every weekend would alarm.
"""

from __future__ import annotations

from collections.abc import Mapping

from jobs.contract.schedules import WEEK_MINUTES, fire_minutes


def max_run_gap_seconds(expression: str) -> int:
    """The longest gap between two runs of an EventBridge ``cron(...)`` or ``rate(...)`` schedule.

    The firing times come from the job contract's one schedule parser (``fire_minutes``, which the
    quota preflight uses too); schedules repeat weekly, so the last run of the week is followed by
    the first of the next.

    Raises:
        ValueError: the expression is not one of the supported forms.
    """
    fires = fire_minutes(expression)
    if not fires:
        raise ValueError(f"schedule {expression!r} never fires: expected rate(N unit) or cron(min hour * * dow *)")
    gaps = [b - a for a, b in zip(fires, fires[1:])] + [fires[0] + WEEK_MINUTES - fires[-1]]
    return max(gaps) * 60


def run_intervals(schedules: Mapping[str, str], grace_seconds: int) -> dict[str, int]:
    """Horizon -> alarm period for missing forecasts: the longest schedule gap plus a grace.

    The grace (typically the job timeout) lets the run finish and publish; the sum is
    rounded up to whole minutes, as CloudWatch periods must be.
    """
    return {h: -(-(max_run_gap_seconds(e) + grace_seconds) // 60) * 60 for h, e in schedules.items()}
