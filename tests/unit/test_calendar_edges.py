"""Calendar edges: an exchange whose sessions straddle UTC midnight, naive stamps, weekends, long horizons, gaps.

New Zealand's exchange (XNZE, UTC+13 in January) opens at 21:00 UTC of the previous day, so an
hourly bar's local session date and its UTC date differ; the US calendar (XNYS) never shows that.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from jobs.forecasting.calendar import (
    daily_sessions,
    exchange_today,
    hourly_bar_ends,
    longest_gap,
    missing_sessions,
    next_target,
    session_date,
    sessions_behind,
    trading_calendar,
)


def test_an_hourly_bar_belongs_to_its_local_session_date() -> None:
    late = pd.Timestamp("2024-01-08 22:00", tz="UTC")  # 11:00 on Tuesday 9 January in Wellington
    assert session_date(late, "1h", "XNZE") == pd.Timestamp("2024-01-09")
    assert session_date(late, "1d", "XNZE") == pd.Timestamp("2024-01-08")  # daily bars: the UTC date
    assert session_date(pd.Timestamp("2024-01-08 22:00"), "1h", "XNZE") == pd.Timestamp("2024-01-09")  # naive is UTC


def test_sessions_that_straddle_utc_midnight_have_no_gap() -> None:
    ends = hourly_bar_ends("XNZE", pd.Timestamp("2024-01-08"), pd.Timestamp("2024-01-10"))
    assert ends[0] == pd.Timestamp("2024-01-07 22:00", tz="UTC") and len(ends) == 21
    missing, extra = missing_sessions(ends, "1h", "XNZE")
    assert missing.empty and extra.empty
    missing, extra = missing_sessions(ends.tz_localize(None), "1h", "XNZE")  # naive bar ends are UTC
    assert missing.empty and extra.empty


def test_naive_daily_stamps_are_read_as_utc() -> None:
    sessions = trading_calendar("XNYS").sessions_in_range("2024-01-02", "2024-01-12").tz_localize(None)
    stamps = pd.DatetimeIndex(sessions.delete(3).append(pd.DatetimeIndex(["2024-01-13"])))  # one gone, a Saturday
    missing, extra = missing_sessions(stamps, "1d", "XNYS")
    assert missing.tolist() == [pd.Timestamp("2024-01-05")] and extra.tolist() == [pd.Timestamp("2024-01-13")]
    aware, _ = missing_sessions(stamps.tz_localize("UTC"), "1d", "XNYS")
    assert aware.equals(missing)


def test_the_longest_gap_is_the_longest_run_wherever_it_is() -> None:
    sessions = trading_calendar("XNYS").sessions_in_range("2024-01-08", "2024-01-31").tz_localize(None)
    first_longest = pd.DatetimeIndex(sessions[[1, 2, 3, 7]])  # runs of 3 and 1
    assert longest_gap(first_longest, "XNYS") == (3, pd.Timestamp("2024-01-09"), pd.Timestamp("2024-01-11"))
    # Runs of 1, 3 and 1; the three sessions span a holiday (Martin Luther King Day, 15 January).
    later_longest = pd.DatetimeIndex(sessions[[1, 5, 6, 7, 10]])
    assert longest_gap(later_longest, "XNYS") == (3, pd.Timestamp("2024-01-16"), pd.Timestamp("2024-01-18"))
    assert longest_gap(pd.DatetimeIndex([]), "XNYS") is None


def test_hourly_bar_ends_of_a_weekend_are_none_but_still_utc() -> None:
    ends = hourly_bar_ends("XNYS", pd.Timestamp("2024-01-06"), pd.Timestamp("2024-01-07"))
    assert ends.empty and str(ends.tz) == "UTC"


def test_daily_sessions_up_to_a_weekend_end_on_the_friday_before() -> None:
    assert daily_sessions("XNYS", datetime(2024, 1, 6), 3).tolist() == [
        pd.Timestamp(f"2024-01-0{d}", tz="UTC") for d in (3, 4, 5)]


def test_a_target_many_hourly_bars_ahead_is_found() -> None:
    # 20 bars after Tuesday 15:30 UTC: Tuesday's 5 remaining, Wednesday's 7, Thursday's 7, then Thursday's close.
    last = datetime(2024, 1, 2, 15, 30, tzinfo=pd.Timestamp(0, tz="UTC").tzinfo)
    assert next_target(last, "1h", 20) == pd.Timestamp("2024-01-04 21:00", tz="UTC").to_pydatetime()
    # A naive time is UTC.
    assert next_target(datetime(2024, 1, 2, 15, 30), "1h", 20) == next_target(last, "1h", 20)
    assert next_target(datetime(2024, 1, 6), "1d", 1) == pd.Timestamp("2024-01-08", tz="UTC").to_pydatetime()


def test_steps_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="^steps=0 is invalid: expected 1 or more$"):
        next_target(datetime(2024, 1, 2), "1d", 0)


def test_sessions_behind_counts_the_sessions_after_the_last_bars_up_to_as_of() -> None:
    monday = pd.Timestamp("2024-01-08", tz="UTC")  # a daily bar: its session is its UTC date
    assert sessions_behind(monday, "1d", date(2024, 1, 12), "XNYS") == 4  # Tuesday to Friday
    assert sessions_behind(monday.to_pydatetime(), "1d", date(2024, 1, 13), "XNYS") == 4  # Saturday: no session
    assert sessions_behind(pd.Timestamp("2024-01-12", tz="UTC"), "1d", date(2024, 1, 16), "XNYS") == 1  # MLK day
    assert sessions_behind(monday, "1d", date(2024, 1, 8), "XNYS") == 0  # as_of's own session
    assert sessions_behind(monday, "1d", date(2024, 1, 5), "XNYS") == 0  # an as_of before the last bar
    # An hourly bar at 22:00 UTC on Monday is Tuesday's session in Wellington (UTC+13).
    late = pd.Timestamp("2024-01-08 22:00", tz="UTC")
    assert sessions_behind(late, "1h", date(2024, 1, 9), "XNZE") == 0
    assert sessions_behind(late, "1h", date(2024, 1, 10), "XNZE") == 1


def test_exchange_today_is_the_date_where_the_exchange_trades() -> None:
    one_am = datetime(2024, 1, 9, 1, 0, tzinfo=UTC)
    assert exchange_today("XNYS", one_am) == date(2024, 1, 8)  # 20:00 on Monday in New York
    assert exchange_today("XNZE", one_am) == date(2024, 1, 9)  # 14:00 on Tuesday in Wellington
    assert exchange_today("XNYS", datetime(2024, 1, 9, 1, 0)) == date(2024, 1, 8)  # naive is UTC


@pytest.mark.parametrize("zone", ["Etc/GMT-14", "Etc/GMT+12"])
def test_exchange_today_does_not_read_the_machines_zone(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock is read in UTC: a local wall time read as UTC would be 14 hours ahead or 12 behind,
    # a different New York date at any hour in one of the two zones.
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        before = datetime.now(ZoneInfo("America/New_York")).date()
        today = exchange_today("XNYS")
        after = datetime.now(ZoneInfo("America/New_York")).date()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert today in (before, after)
