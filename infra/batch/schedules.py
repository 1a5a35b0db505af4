"""EventBridge schedule arithmetic: how long may pass between two scheduled runs.

The missing-forecast alarms need it: their period must cover the longest gap between runs
(a weekday-only schedule leaves a weekend), or every weekend would alarm.
"""

from __future__ import annotations

from collections.abc import Mapping

_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3_600, "hours": 3_600, "day": 86_400, "days": 86_400}


def _cron_field(raw: str, low: int, high: int, names: Mapping[str, int] | None = None) -> set[int]:
    if raw in ("*", "?"):
        return set(range(low, high + 1))
    out: set[int] = set()
    for part in raw.split(","):
        step = 1
        if "/" in part:
            part, step_raw = part.split("/")
            step = int(step_raw)
        bounds = [(names or {}).get(b.upper(), None) or int(b) for b in part.split("-")] if part != "*" else [low, high]
        out.update(range(bounds[0], bounds[-1] + 1, step))
    return out


def max_run_gap_seconds(expression: str) -> int:
    """The longest gap between two runs of an EventBridge ``cron(...)`` or ``rate(...)`` schedule.

    Cron support covers what schedules here use: lists, ranges, steps, ``*``/``?`` and day
    names; day-of-month and month must be ``*``/``?`` (weekly-periodic schedules).

    Raises:
        ValueError: the expression is not one of the supported forms.
    """
    expr = expression.strip()
    try:
        if expr.startswith("rate(") and expr.endswith(")"):
            value, unit = expr[5:-1].split()
            return int(value) * _RATE_UNITS[unit]
        if expr.startswith("cron(") and expr.endswith(")"):
            minute, hour, dom, month, dow, _year = expr[5:-1].split()
            if dom not in ("*", "?") or month not in ("*", "?"):
                raise ValueError("day-of-month and month must be * or ?")
            minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
            days = _cron_field(dow, 1, 7, _DOW)
            # Minutes of the week (Sunday 00:00 = 0) at which the schedule fires.
            fires = sorted((d - 1) * 1_440 + h * 60 + mi for d in days for h in hours for mi in minutes)
            if fires:
                gaps = [b - a for a, b in zip(fires, fires[1:])] + [fires[0] + 7 * 1_440 - fires[-1]]
                return max(gaps) * 60
    except (ValueError, KeyError) as exc:
        raise ValueError(f"schedule {expression!r} is not supported ({exc}): expected rate(N unit) or "
                         "cron(min hour * * dow *) with lists, ranges or steps") from None
    raise ValueError(f"schedule {expression!r} is not supported: expected rate(N unit) or cron(min hour * * dow *)")


def run_intervals(schedules: Mapping[str, str], grace_seconds: int) -> dict[str, int]:
    """Horizon -> alarm period for missing forecasts: the longest schedule gap plus a grace.

    The grace (typically the job timeout) lets the run finish and publish; the sum is
    rounded up to whole minutes, as CloudWatch periods must be.
    """
    return {h: -(-(max_run_gap_seconds(e) + grace_seconds) // 60) * 60 for h, e in schedules.items()}
