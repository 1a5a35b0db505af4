"""Which bar a file's time stamp names: a daily bar is its exchange session, an hourly bar a calendar slot.

The stored convention is the job's (``jobs.forecasting.calendar``): a daily bar at 00:00 UTC of its
session's date; an hourly bar at its *end* on the exchange calendar (09:30-16:00 New York:
10:30 ... 15:30, 16:00; an early close ends the day there). A file may stamp its bars otherwise:

- daily: any time of day and any UTC offset. The bar is the session of the date *as written*
  (``2024-01-02T00:00:00+09:00`` and ``2024-01-02T16:00:00-05:00`` are both 2 January), so the
  same session imported twice with different offsets is the same bar.
- hourly, one of three conventions, detected per file (or named with ``--stamps``):
  ``end`` (the stored one), ``start`` (09:30 ... 15:30, the last bar 30 minutes long) or
  ``clock`` (whole hours 10:00 ... 16:00, each the end of a clock hour: stored on the calendar
  slot it closes in, so 10:00 becomes 10:30 and 16:00 stays 16:00).

Bars dated on a day that is not a session are refused, naming the dates; so is an hourly file
that fits no convention (naming the first stamp that fits none and the convention expected), or
one that fits several with different bars (pass ``--stamps``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from jobs.forecasting.calendar import trading_calendar

CONVENTIONS = ("end", "start", "clock")
DESCRIBE = {
    "end": "bar ends on the calendar (10:30 ... 15:30, 16:00 New York: the stored convention)",
    "start": "bar starts (09:30 ... 15:30 New York, the last bar 30 minutes long)",
    "clock": "clock hours (10:00 ... 16:00 New York, each the end of a clock hour)",
}
HOUR = pd.Timedelta(hours=1)


class StampError(ValueError):
    """The file's stamps name no bar of the calendar; the message names the line and what is expected."""


def written_date(text: str, parsed: pd.Timestamp) -> pd.Timestamp:
    """The calendar date of a stamp as written (its own offset's), as a naive midnight."""
    try:
        return pd.Timestamp(datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date())
    except ValueError:  # an ISO form Python does not read (pandas did): its UTC date
        return parsed.tz_convert("UTC").tz_localize(None).normalize()


def daily_sessions(frame: pd.DataFrame, exchange: str) -> pd.Series:
    """Each row's session as the stored stamp (00:00 UTC of the session date).

    Raises:
        StampError: a row dated on a day that is not a session (all such dates named), or two rows
            of one symbol on the same session.
    """
    days = pd.Series([written_date(t, p) for t, p in zip(frame["ts_text"], frame["ts"], strict=True)],
                     index=frame.index)
    cal = trading_calendar(exchange)
    off = ~days.isin(cal.sessions)
    if off.any():
        named = ", ".join(f"{d:%Y-%m-%d %a} (line {n})" for d, n in
                          zip(days[off].iloc[:5], frame.loc[off, "line"].iloc[:5], strict=True))
        more = f" and {int(off.sum()) - 5} more" if off.sum() > 5 else ""
        raise StampError(f"{int(off.sum())} bar(s) dated on days that are not {exchange} sessions: {named}{more}; "
                         f"a daily bar is one session of EXCHANGE_CALENDAR={exchange}")
    stamps = days.dt.tz_localize("UTC")
    _refuse_second(frame, stamps, "session", "%Y-%m-%d", "(is this 1h data? pass --timeframe 1h)")
    return stamps


def hourly_slots(frame: pd.DataFrame, exchange: str, convention: str = "auto") -> tuple[pd.Series, str]:
    """Each row's calendar slot (its bar end, the stored stamp) and the convention the file uses.

    Raises:
        StampError: a stamp on a day that is not a session; no convention fits every stamp (or the
            given one does not); several fit with different bars; two rows of a symbol in one slot.
    """
    if convention != "auto" and convention not in CONVENTIONS:
        raise ValueError(f"--stamps={convention!r} is invalid: expected auto or one of {', '.join(CONVENTIONS)}")
    cal = trading_calendar(exchange)
    local = frame["ts"].dt.tz_convert(cal.tz)
    days = local.dt.tz_localize(None).dt.normalize()
    off = ~days.isin(cal.sessions)
    if off.any():
        first = frame.loc[off].iloc[0]
        hint = " (is this 1d data? pass --timeframe 1d)" if (frame["ts"].dt.hour == 0).all() else ""
        raise StampError(f"line {first['line']}: the bar at {local[off].iloc[0]:%Y-%m-%d %H:%M} {cal.tz} is on "
                         f"{days[off].iloc[0]:%Y-%m-%d %a}, not a {exchange} session "
                         f"({int(off.sum())} such bar(s)){hint}")
    opens, closes = _naive(cal.opens.reindex(days.to_numpy())), _naive(cal.closes.reindex(days.to_numpy()))
    stamps = _naive(frame["ts"])
    mapped = {c: _MAPS[c](stamps, opens, closes) for c in (CONVENTIONS if convention == "auto" else (convention,))}
    fits = {c: m for c, m in mapped.items() if not np.isnat(m).any() and _one_per_slot(frame, m)}
    if not fits:
        raise StampError(_no_fit(frame, local, mapped, convention, exchange))
    chosen = next(iter(fits))
    if any(not np.array_equal(fits[chosen], m) for m in fits.values()):
        raise StampError(f"the stamps fit several conventions ({', '.join(fits)}) that name different bars "
                         "(no first or last bar of a session tells them apart): pass --stamps "
                         + " or --stamps ".join(fits))
    slots = pd.Series(pd.DatetimeIndex(fits[chosen]).tz_localize("UTC"), index=frame.index)
    _refuse_second(frame, slots, "hourly bar ending", "%Y-%m-%d %H:%M UTC", "")
    return slots, chosen


def _naive(values: pd.Series) -> np.ndarray:
    """UTC times as naive ``datetime64[ns]`` (numpy compares and adds them directly)."""
    return values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _ends(stamps: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """``end``: the stamp is a slot end: one, two ... whole hours after the open, or the close."""
    hours = (stamps - opens) / HOUR.to_timedelta64()
    ok = ((hours >= 1) & (hours == np.round(hours)) & (stamps < closes)) | (stamps == closes)
    return np.where(ok, stamps, np.datetime64("NaT"))


def _starts(stamps: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """``start``: the stamp is a slot start (the open plus whole hours, before the close): its slot's end."""
    hours = (stamps - opens) / HOUR.to_timedelta64()
    ok = (hours >= 0) & (hours == np.round(hours)) & (stamps < closes)
    ends = np.minimum(stamps + HOUR.to_timedelta64(), closes)
    return np.where(ok, ends, np.datetime64("NaT"))


def _clock(stamps: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """``clock``: a whole hour after the open, up to the close: the calendar slot it closes in."""
    whole = pd.DatetimeIndex(stamps).floor("h").to_numpy() == stamps
    ok = whole & (stamps > opens) & (stamps <= closes)
    hours = np.nan_to_num(np.ceil((stamps - opens) / HOUR.to_timedelta64()))
    ends = np.minimum(opens + hours.astype(np.int64) * HOUR.to_timedelta64(), closes)
    return np.where(ok, ends, np.datetime64("NaT"))


_MAPS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "end": _ends, "start": _starts, "clock": _clock}


def _one_per_slot(frame: pd.DataFrame, slots: np.ndarray) -> bool:
    keys = pd.DataFrame({"symbol": frame["symbol"].to_numpy(), "slot": slots})
    return not keys.duplicated().any()


def _no_fit(frame: pd.DataFrame, local: pd.Series, mapped: dict[str, np.ndarray], convention: str,
            exchange: str) -> str:
    """The refusal: the first stamp that fits no convention tried, and what was expected."""
    bad = np.logical_and.reduce([np.isnat(m) for m in mapped.values()])
    where = ""
    if bad.any():
        i = int(np.argmax(bad))
        where = f"line {frame['line'].iloc[i]}: {local.iloc[i]:%Y-%m-%d %H:%M} {local.dt.tz} fits none; "
    expected = "; ".join(DESCRIBE[c] for c in mapped)
    which = f"the convention --stamps {convention}" if convention != "auto" else "one accepted convention"
    return (f"{where}hourly stamps must follow {which} on the {exchange} calendar: {expected}; "
            "times without an offset are UTC")


def _refuse_second(frame: pd.DataFrame, stamps: pd.Series, unit: str, fmt: str, hint: str) -> None:
    """Two rows of one symbol naming the same bar: the file is refused at the second."""
    keys = pd.DataFrame({"symbol": frame["symbol"], "stamp": stamps})
    second = keys.duplicated(keep="first")
    if second.any():
        row = frame.loc[second].iloc[0]
        first = frame.loc[(keys["symbol"] == row["symbol"]) & (keys["stamp"] == stamps[row.name]), "line"].iloc[0]
        raise StampError(f"line {row['line']}: a second {row['symbol']} bar for the {unit} "
                         f"{stamps[row.name].strftime(fmt)} (line {first} has it; one bar each) {hint}".rstrip())
