"""EventBridge schedule arithmetic: the minutes of the week at which a schedule starts a run.

The stacks render one schedule per horizon (``cron(...)`` or ``rate(...)``); the quota preflight
(``jobs.rollout.capacity``) overlaps their runs, and any check of "a run that should have
happened" needs the same firing times. Pure, so the stacks may use it too.
"""

from __future__ import annotations

from collections.abc import Sequence

WEEK_MINUTES = 7 * 24 * 60
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge: 1 = SUN ... 7 = SAT
_UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1_440, "days": 1_440}


def _values(field: str, low: int, high: int, names: Sequence[str] = ()) -> list[int]:
    """The numbers an EventBridge cron field selects: ``*``, ``?``, lists, ranges, steps, day names."""
    def number(text: str) -> int:
        return names.index(text.upper()) + low if text.upper() in names else int(text)

    picked: set[int] = set()
    for item in field.split(","):
        span, _, step = item.partition("/")
        if span in ("*", "?"):
            first, last = low, high
        else:
            first_text, _, last_text = span.partition("-")
            first = number(first_text)
            last = number(last_text) if last_text else (high if step else first)
        if not low <= first <= last <= high:
            raise ValueError(f"{item!r} is outside {low}-{high}")
        picked.update(range(first, last + 1, int(step) if step else 1))
    return sorted(picked)


def fire_minutes(expression: str) -> list[int]:
    """Minutes of the week (Sunday 00:00 UTC = 0) at which an EventBridge schedule starts a run.

    ``rate(N unit)`` is counted from minute 0; ``cron(min hour * * dow *)`` as written (day of
    month and month must be ``*`` or ``?``: the schedules here repeat weekly).

    Raises:
        ValueError: one line naming the expression and the supported forms.
    """
    text = expression.strip()
    try:
        if text.startswith("rate(") and text.endswith(")"):
            count, unit = text[5:-1].split()
            return list(range(0, WEEK_MINUTES, int(count) * _UNIT_MINUTES[unit]))
        if text.startswith("cron(") and text.endswith(")"):
            minute, hour, dom, month, dow, _year = text[5:-1].split()
            if dom not in ("*", "?") or month not in ("*", "?"):
                raise ValueError("day-of-month and month must be * or ?")
            return sorted((day - 1) * 1_440 + h * 60 + m for day in _values(dow, 1, 7, _DAYS)
                          for h in _values(hour, 0, 23) for m in _values(minute, 0, 59))
    except (ValueError, KeyError, ZeroDivisionError) as exc:
        raise ValueError(f"schedule {expression!r} is not supported ({exc}): expected rate(N unit) or "
                         "cron(min hour * * dow *)") from None
    raise ValueError(f"schedule {expression!r} is not supported: expected rate(N unit) or cron(min hour * * dow *)")
