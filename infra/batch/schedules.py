"""EventBridge schedule arithmetic: when a schedule fires, and how long the missed-run alarm waits.

The missed-run alarms (``infra.monitoring.runs``) judge a horizon's runs once the last run of a
burst has had its grace (retries and queueing), over a window that still holds the burst's
first run but none of the previous burst's writes; ``missed_run_window`` sizes that window from
the schedule itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.contract.schedules import WEEK_MINUTES, fire_minutes


def fire_gaps_seconds(expression: str) -> list[int]:
    """The gaps between consecutive runs of an EventBridge schedule over one week, in order.

    ``gaps[i]`` is the time from the i-th run of the week (from Sunday 00:00 UTC) to the next
    one, the last wrapping to the first run of the next week. A ``rate(...)`` has equal gaps.
    The firing times come from the job contract's one schedule parser (``fire_minutes``, which the
    quota preflight uses too).

    Raises:
        ValueError: the expression is not one of the supported forms.
    """
    fires = fire_minutes(expression)
    if not fires:
        raise ValueError(f"schedule {expression!r} never fires: expected rate(N unit) or cron(min hour * * dow *)")
    gaps = [b - a for a, b in zip(fires, fires[1:])] + [fires[0] + WEEK_MINUTES - fires[-1]]
    return [g * 60 for g in gaps]


def max_run_gap_seconds(expression: str) -> int:
    """The longest gap between two runs of an EventBridge ``cron(...)`` or ``rate(...)`` schedule."""
    return max(fire_gaps_seconds(expression))


# The shortest time the missed-run alarm holds ALARM before the missed run leaves its window.
MIN_HOLD_SECONDS = 3_600


@dataclass(frozen=True)
class RunWindow:
    """How a horizon's runs are judged (``infra.monitoring.runs``).

    Attributes:
        owed_seconds: The period of the "forecasts owed" alarm: a whole burst of runs plus the
            grace plus the hold.
        judged_seconds: The period of the "runs judged" alarm (a firing this recent): the grace
            plus the hold. A burst's runs are judged from its last run's grace until its first run
            leaves the owed window, and never after, when the window holds only part of the burst.
    """

    owed_seconds: int
    judged_seconds: int


def missed_run_window(expression: str, grace: int) -> RunWindow:
    """The windows of a horizon's missed-run alarms, in seconds.

    Runs closer together than ``grace`` form a burst (prod's 4h runs at 14:05 and 18:05 with a
    5.5 h grace). A burst's runs are judged from ``t* = last run + grace``, over ``[t - L, t)``.
    So ``L`` must exceed the burst's span plus the grace (its first run is still inside), and
    must not reach back before the previous burst's last run (whose late writes would hide a
    missing run): ``L <= span + gap before``. The judging lasts ``min(grace, room)``.

    Raises:
        ValueError: No window fits: the schedule never pauses for a whole grace, or pauses for
            less than the grace plus ``MIN_HOLD_SECONDS``.
    """
    gaps = fire_gaps_seconds(expression)
    if all(g <= grace for g in gaps):
        raise ValueError(f"schedule {expression!r} never pauses for the run's grace of {grace}s (retries x timeout "
                         "+ queueing): a missed run could not be told from one still running")
    first = next(i for i, g in enumerate(gaps) if g > grace) + 1
    gaps = gaps[first:] + gaps[:first]  # now the first run starts a burst: the gap before it exceeds the grace
    bursts: list[tuple[int, int]] = []  # (span from first to last run, gap before the first run)
    span, before = 0, gaps[-1]
    for gap in gaps:
        if gap <= grace:
            span += gap
        else:
            bursts.append((span, before))
            span, before = 0, gap
    longest = max(s for s, _ in bursts)
    hold = min(grace, min(s + b for s, b in bursts) - longest - grace)
    if hold < MIN_HOLD_SECONDS:
        raise ValueError(f"schedule {expression!r} leaves too little time between bursts of runs for a grace of "
                         f"{grace}s: the missed-run alarm would hold for {max(hold, 0)}s, less than {MIN_HOLD_SECONDS}s")
    return RunWindow(owed_seconds=longest + grace + hold, judged_seconds=grace + hold)
