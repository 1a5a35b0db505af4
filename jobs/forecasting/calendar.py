"""Trading time from an exchange calendar (``exchange_calendars``): sessions, hourly bars, gaps.

One convention everywhere (targets, sample data, gap detection):

- A daily bar is stamped at 00:00 UTC of its session's date.
- An hourly bar is stamped at its end. A session's hourly bars end one hour after the open,
  then every hour, and the last one ends at the close (a shorter bar when the session is not a
  whole number of hours, e.g. 09:30-16:00 New York gives 10:30 ... 15:30 and 16:00; an early
  close at 13:00 gives 10:30, 11:30, 12:30 and 13:00).

So ``steps`` bars after a bar is the ``steps``-th session (daily) or bar end (hourly) later on
the calendar: weekends, holidays and early closes are skipped as the exchange skips them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import exchange_calendars as xcals

DEFAULT_EXCHANGE = "XNYS"
# Calendars are built once per process from here (the real sample data starts in 1999);
# exchange_calendars' own default start is only 20 years back.
CALENDAR_START = "1990-01-01"


class CalendarError(ValueError):
    """An unknown exchange, or a time outside the calendar's range."""


@lru_cache(maxsize=8)
def trading_calendar(exchange: str) -> xcals.ExchangeCalendar:
    """The exchange's calendar (ISO 10383 MIC such as XNYS, XNAS, XLON), cached per process."""
    # Imported at first use: about a second of CPU, which the commands that never read a
    # calendar (--help, the review, the gate) need not pay at start-up.
    import exchange_calendars as xcals

    try:
        return xcals.get_calendar(exchange, start=CALENDAR_START)
    except xcals.errors.InvalidCalendarName:
        raise CalendarError(f"exchange calendar {exchange!r} is unknown: expected a name such as XNYS, XNAS "
                            "or XLON (exchange_calendars.get_calendar_names())") from None


def session_date(ts: pd.Timestamp, timeframe: str, exchange: str) -> pd.Timestamp:
    """The session date (naive midnight) a bar belongs to: its UTC date (daily), local date (hourly)."""
    stamp = _utc(ts)
    if timeframe == "1d":
        return stamp.tz_localize(None).normalize()
    return stamp.tz_convert(trading_calendar(exchange).tz).tz_localize(None).normalize()


def next_target(last: datetime, timeframe: str, steps: int, exchange: str = DEFAULT_EXCHANGE) -> datetime:
    """The time ``steps`` bars after the bar stamped ``last`` on the exchange's calendar.

    Daily: the ``steps``-th session after ``last``'s date (the previous session when that date
    is not one), at 00:00 UTC. Hourly: the ``steps``-th hourly bar end strictly after ``last``.
    """
    if steps < 1:
        raise ValueError(f"steps={steps} is invalid: expected 1 or more")
    cal = trading_calendar(exchange)
    stamp = _utc(pd.Timestamp(last))
    if timeframe == "1d":
        day = session_date(stamp, "1d", exchange)
        session = cal.date_to_session(day, direction="previous")
        return cal.session_offset(session, steps).tz_localize("UTC").to_pydatetime()
    # Enough sessions ahead for ``steps`` bars even with a run of holidays and early closes.
    start = session_date(stamp, "1h", exchange)
    ends = hourly_bar_ends(exchange, start, start + timedelta(days=14 + steps))
    after = ends[ends > stamp]
    return after[steps - 1].to_pydatetime()


def hourly_bar_ends(exchange: str, start: pd.Timestamp | datetime, end: pd.Timestamp | datetime) -> pd.DatetimeIndex:
    """Every hourly bar end (UTC) of the sessions dated ``start`` to ``end`` (inclusive)."""
    cal = trading_calendar(exchange)
    sessions = cal.sessions_in_range(_naive_day(start), _naive_day(end))
    out: list[pd.Timestamp] = []
    for session in sessions:
        open_, close = cal.session_open_close(session)
        hours = int(np.ceil((close - open_) / pd.Timedelta(hours=1)))
        out += [min(open_ + pd.Timedelta(hours=h), close) for h in range(1, hours + 1)]
    return pd.DatetimeIndex(out, tz="UTC")


def daily_sessions(exchange: str, end: pd.Timestamp | datetime, count: int) -> pd.DatetimeIndex:
    """The last ``count`` sessions up to ``end``'s date, as 00:00 UTC stamps."""
    cal = trading_calendar(exchange)
    last = cal.date_to_session(_naive_day(end), direction="previous")
    return cal.sessions_window(last, -count).tz_localize("UTC")


def missing_sessions(stamps: pd.DatetimeIndex, timeframe: str, exchange: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """``(missing, extra)``: sessions between the first and last bar with no bar, and bar dates
    that are not sessions on the calendar."""
    cal = trading_calendar(exchange)
    utc = pd.DatetimeIndex(stamps).tz_convert("UTC") if stamps.tz else pd.DatetimeIndex(stamps).tz_localize("UTC")
    local = utc if timeframe == "1d" else utc.tz_convert(cal.tz)
    days = local.tz_localize(None).normalize().unique().sort_values()
    expected = cal.sessions_in_range(days[0], days[-1]).tz_localize(None)
    return expected.difference(days), days.difference(expected)


def sessions_behind(last: pd.Timestamp | datetime, timeframe: str, as_of: date, exchange: str) -> int:
    """Sessions of ``exchange`` after the session of the bar stamped ``last``, up to ``as_of`` (inclusive).

    0 when the last bar is from ``as_of``'s session (or later); a run during a session counts
    that session, since its bar is not complete yet.
    """
    cal = trading_calendar(exchange)
    last_day = session_date(pd.Timestamp(last), timeframe, exchange)
    end = pd.Timestamp(as_of)
    if end <= last_day:
        return 0
    return len(cal.sessions_in_range(last_day + pd.Timedelta(days=1), end))


def exchange_today(exchange: str, now: datetime | None = None) -> date:
    """Today's date where ``exchange`` trades (a run at 01:00 UTC belongs to New York's previous day)."""
    stamp = pd.Timestamp(now or datetime.now(UTC))
    return _utc(stamp).tz_convert(trading_calendar(exchange).tz).date()


def longest_gap(missing: pd.DatetimeIndex, exchange: str) -> tuple[int, pd.Timestamp, pd.Timestamp] | None:
    """The longest run of consecutive missing sessions: ``(length, first, last)``, or ``None``."""
    if missing.empty:
        return None
    cal = trading_calendar(exchange)
    ordinals = np.array([cal.sessions.get_loc(day) for day in missing])
    breaks = np.flatnonzero(np.diff(ordinals) != 1) + 1
    runs = np.split(np.arange(len(missing)), breaks)
    best = max(runs, key=len)
    return len(best), missing[best[0]], missing[best[-1]]


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    # Naive stamps are UTC throughout the job (the database stores timestamptz).
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _naive_day(value: pd.Timestamp | datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()
