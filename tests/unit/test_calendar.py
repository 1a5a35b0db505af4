"""Exchange-calendar time: targets, sample bars and gaps across a weekend, a US holiday and an early close."""

from __future__ import annotations

import pandas as pd
import pytest

from jobs.contract.config import JobConfig
from jobs.contract.values import ConfigError
from jobs.forecasting.calendar import (
    daily_sessions,
    hourly_bar_ends,
    next_target,
    trading_calendar,
)
from jobs.forecasting.series import BadBarsError, validate_bars
from jobs.storage.sample_data import real_daily_bars, simulated_bars


def ny(text: str) -> pd.Timestamp:
    """A New York wall-clock time, in UTC."""
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")


def utc_day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(("last", "steps", "expected", "why"), [
    (ny("2026-11-20 15:30"), 4, ny("2026-11-23 12:30"), "Friday afternoon + 4 trading hours is Monday"),
    (ny("2026-11-20 16:00"), 4, ny("2026-11-23 13:30"), "from Friday's close"),
    (ny("2026-11-20 15:00"), 4, ny("2026-11-23 11:30"), "a time between bar ends"),
    (ny("2026-11-20 16:00"), 8, ny("2026-11-24 10:30"), "8h crosses Monday's close"),
    # Thanksgiving (Thursday 2026-11-26) is a holiday; Friday closes early at 13:00.
    (ny("2026-11-25 15:30"), 4, ny("2026-11-27 12:30"), "over the holiday into the early close"),
    (ny("2026-11-25 15:30"), 5, ny("2026-11-27 13:00"), "the early close's last bar"),
    (ny("2026-11-25 15:30"), 8, ny("2026-11-30 12:30"), "over the holiday, early close and weekend"),
    (ny("2026-07-02 15:30"), 4, ny("2026-07-06 12:30"), "Independence Day observed on Friday 2026-07-03"),
    # Summer time: the open is 13:30 UTC, not 14:30.
    (ny("2026-03-06 16:00"), 1, ny("2026-03-09 10:30"), "across the switch to daylight saving time"),
])
def test_hourly_targets_count_trading_hours(last: pd.Timestamp, steps: int, expected: pd.Timestamp,
                                            why: str) -> None:
    assert pd.Timestamp(next_target(last, "1h", steps)) == expected, why


@pytest.mark.parametrize(("last", "expected", "why"), [
    ("2026-11-20", "2026-11-23", "Friday -> Monday"),
    ("2026-11-25", "2026-11-27", "Wednesday -> Friday over Thanksgiving"),
    ("2026-11-26", "2026-11-27", "a bar dated on the holiday counts from the session before it"),
    ("2018-12-31", "2019-01-02", "New Year's Day"),
    ("2018-12-04", "2018-12-06", "the national day of mourning for George H. W. Bush (ad hoc closure)"),
    ("2026-11-27", "2026-11-30", "from an early-close session"),
])
def test_daily_targets_are_the_next_session(last: str, expected: str, why: str) -> None:
    assert pd.Timestamp(next_target(utc_day(last), "1d", 1)) == utc_day(expected), why


def test_the_old_nominal_targets_were_wrong_here() -> None:
    # Today's code gave Friday 19:00 New York for a 4h forecast from Friday 15:00, and
    # Thursday (Thanksgiving) for a 1D forecast from Wednesday.
    assert pd.Timestamp(next_target(ny("2026-11-20 15:00"), "1h", 4)) != ny("2026-11-20 19:00")
    assert pd.Timestamp(next_target(utc_day("2026-11-25"), "1d", 1)) != utc_day("2026-11-26")


def test_another_exchange_uses_its_own_holidays() -> None:
    # 2026-12-28 is a London bank holiday (Boxing Day observed), not a New York one.
    assert pd.Timestamp(next_target(utc_day("2026-12-24"), "1d", 1, "XLON")) == utc_day("2026-12-29")
    assert pd.Timestamp(next_target(utc_day("2026-12-24"), "1d", 1, "XNYS")) == utc_day("2026-12-28")


def test_hourly_bars_of_an_early_close() -> None:
    ends = hourly_bar_ends("XNYS", pd.Timestamp("2026-11-27"), pd.Timestamp("2026-11-27"))
    assert list(ends) == [ny("2026-11-27 10:30"), ny("2026-11-27 11:30"), ny("2026-11-27 12:30"),
                          ny("2026-11-27 13:00")]


def test_simulated_sample_bars_sit_on_the_calendar() -> None:
    cal = trading_calendar("XNYS")
    daily = pd.DatetimeIndex(simulated_bars("CAL", "1d")["ts"])
    assert utc_day("2025-11-27") not in daily and utc_day("2025-11-28") in daily  # holiday, early close
    assert all(cal.is_session(d.tz_localize(None)) for d in daily)
    hourly = pd.DatetimeIndex(simulated_bars("CAL", "1h")["ts"])
    assert hourly[-1] == ny("2026-11-20 16:00")
    assert "2026-07-03" not in set(hourly.tz_convert("America/New_York").strftime("%Y-%m-%d"))  # holiday
    assert ny("2026-07-02 13:00") not in hourly and ny("2026-07-02 16:00") in hourly  # a full session
    assert not any(ts.tz_convert("America/New_York").weekday() >= 5 for ts in hourly)
    local = hourly.tz_convert("America/New_York")
    assert set(local.strftime("%H:%M")) == {"10:30", "11:30", "12:30", "13:00", "13:30", "14:30", "15:30", "16:00"}
    # A 13:00 bar ends only the early closes (the day after Thanksgiving, Christmas Eve).
    assert set(local[local.strftime("%H:%M") == "13:00"].strftime("%Y-%m-%d")) == {"2025-11-28", "2025-12-24"}


def test_real_sample_dates_are_exactly_the_xnys_sessions() -> None:
    # Checked, not assumed: SPY/MSFT stand-ins (arch's S&P 500 and NASDAQ, 1999-2018) have a bar
    # on every XNYS session and on no other day, 9/11 and the ad hoc closures included.
    cal = trading_calendar("XNYS")
    for symbol in ("SPY", "MSFT"):
        days = pd.DatetimeIndex(real_daily_bars(symbol)["ts"]).tz_localize(None)
        assert days.equals(cal.sessions_in_range(days[0], days[-1]).rename(days.name).tz_localize(None))


SESSIONS = daily_sessions("XNYS", utc_day("2026-11-30"), 80)


def frame_of(stamps: pd.DatetimeIndex) -> pd.DataFrame:
    base = simulated_bars("GAP", "1d").iloc[-len(stamps):].reset_index(drop=True)
    return base.assign(ts=stamps)


def test_weekends_holidays_and_early_closes_are_not_gaps() -> None:
    # 80 sessions over Labor Day, Thanksgiving and its early close: nothing missing.
    series = validate_bars("GAP", "1d", frame_of(SESSIONS), 40, "XNYS", max_gap_sessions=1)
    assert len(series.close) == 80


def test_a_long_gap_of_sessions_is_refused_with_its_dates() -> None:
    holed = SESSIONS.delete(slice(20, 26))  # six sessions
    with pytest.raises(BadBarsError, match=(
            f"gap of 6 missing XNYS sessions from {SESSIONS[20]:%Y-%m-%d} to {SESSIONS[25]:%Y-%m-%d}; "
            "at most 5 allowed")):
        validate_bars("GAP", "1d", frame_of(holed), 40, "XNYS", max_gap_sessions=5)
    assert len(validate_bars("GAP", "1d", frame_of(holed), 40, "XNYS", max_gap_sessions=6).close) == 74


def test_a_300_business_day_gap_is_refused_by_default() -> None:
    cfg = JobConfig()
    stamps = daily_sessions("XNYS", utc_day("2026-11-30"), 700)
    holed = stamps.delete(slice(300, 600))
    frame = simulated_bars("GAP", "1d").iloc[-len(holed):].reset_index(drop=True).assign(ts=holed)
    with pytest.raises(BadBarsError, match=f"gap of 300 missing XNYS sessions from {stamps[300]:%Y-%m-%d}"):
        validate_bars("GAP", "1d", frame, 100, cfg.exchange_calendar, cfg.max_gap_sessions)


def test_a_bar_on_a_closed_day_is_refused() -> None:
    stamps = SESSIONS[:-1].append(pd.DatetimeIndex([utc_day("2026-11-26")])).sort_values()
    with pytest.raises(BadBarsError, match="bar on 2026-11-26, which is not a XNYS session"):
        validate_bars("GAP", "1d", frame_of(stamps), 40, "XNYS", max_gap_sessions=21)


def test_hourly_gaps_count_sessions() -> None:
    ends = hourly_bar_ends("XNYS", pd.Timestamp("2026-09-01"), pd.Timestamp("2026-11-30"))
    frame = simulated_bars("GAP", "1h").iloc[-len(ends):].reset_index(drop=True).assign(ts=ends)
    assert len(validate_bars("GAP", "1h", frame, 40, "XNYS", max_gap_sessions=1).close) == len(ends)
    day = ends.tz_convert("America/New_York").normalize()
    holed = frame[(day < pd.Timestamp("2026-10-05", tz="America/New_York"))
                  | (day > pd.Timestamp("2026-10-07", tz="America/New_York"))].reset_index(drop=True)
    with pytest.raises(BadBarsError, match="1h bars: gap of 3 missing XNYS sessions from 2026-10-05 to 2026-10-07"):
        validate_bars("GAP", "1h", holed, 40, "XNYS", max_gap_sessions=2)


def test_exchange_calendar_is_part_of_the_contract() -> None:
    cfg = JobConfig.from_env({"EXCHANGE_CALENDAR": "XLON", "MAX_GAP_SESSIONS": "30"})
    assert (cfg.exchange_calendar, cfg.max_gap_sessions) == ("XLON", 30)
    env = JobConfig().to_env()
    assert env["EXCHANGE_CALENDAR"] == "XNYS" and env["MAX_GAP_SESSIONS"] == "21"
    with pytest.raises(ConfigError, match="EXCHANGE_CALENDAR='NOPE' is invalid: expected an exchange_calendars name"):
        JobConfig.from_env({"EXCHANGE_CALENDAR": "NOPE"})
    with pytest.raises(ConfigError, match="MAX_GAP_SESSIONS='0' is invalid"):
        JobConfig.from_env({"MAX_GAP_SESSIONS": "0"})
