"""A symbol's bars as the models see them: validated closes and log returns (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from jobs.forecasting.calendar import DEFAULT_EXCHANGE, longest_gap, missing_sessions, sessions_behind

PRICE_COLUMNS = ("open", "high", "low", "close")


class BadBarsError(ValueError):
    """A symbol's bars cannot be forecast; the message names the defect (a data incident, not a code failure).

    ``cause`` is a short code the failure is recorded and counted under (``forecast_failures.cause``):
    ``too-few-bars``, ``bad-price``, ``bad-order``, ``constant``, ``off-calendar``, ``gap``, ``damaged``,
    ``split``, ``stale``, ``unknown-symbol``, ``no-bars`` or ``quarantined``.
    """

    def __init__(self, message: str, cause: str = "bad-bars") -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class Series:
    """A validated close series and its log returns (``returns[i]`` ends at ``timestamps[i + 1]``)."""

    symbol: str
    timeframe: str
    timestamps: pd.DatetimeIndex
    close: np.ndarray
    source: str

    @property
    def returns(self) -> np.ndarray:
        """Log returns between consecutive closes."""
        return np.diff(np.log(self.close))


def validate_bars(symbol: str, timeframe: str, frame: pd.DataFrame, min_bars: int,
                  exchange: str = DEFAULT_EXCHANGE, max_gap_sessions: int | None = None) -> Series:
    """Check ``frame`` and return its close series, or raise ``BadBarsError`` naming the defect.

    Refused: too few bars, missing/NaN/infinite prices, non-positive prices, duplicate or
    unordered timestamps, flat histories (a constant price carries no signal to fit), and,
    when ``max_gap_sessions`` is given, a bar dated on a day that is not a session of
    ``exchange``'s calendar or a run of more than ``max_gap_sessions`` missing sessions.
    """
    where = f"{timeframe} bars"  # the caller prefixes symbol and horizon
    if len(frame) < min_bars:
        raise BadBarsError(
            f"{where}: {len(frame)} found, need at least {min_bars} for the walk-forward windows", "too-few-bars"
        )
    prices = frame.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype=float)
    if not np.isfinite(prices).all():
        bad = frame.loc[~np.isfinite(prices).all(axis=1), "ts"].iloc[0]
        raise BadBarsError(f"{where}: missing or non-finite price at {bad}; prices must be finite numbers", "bad-price")
    if (prices <= 0).any():
        bad = frame.loc[(prices <= 0).any(axis=1), "ts"].iloc[0]
        raise BadBarsError(f"{where}: non-positive price at {bad}; prices must be > 0", "bad-price")
    ts = pd.DatetimeIndex(pd.to_datetime(frame["ts"], utc=True))
    if ts.has_duplicates:
        raise BadBarsError(f"{where}: duplicate timestamp {ts[ts.duplicated()][0]}; timestamps must be unique", "bad-order")
    if not ts.is_monotonic_increasing:
        raise BadBarsError(f"{where}: timestamps out of order; bars must be in ascending time order", "bad-order")
    if max_gap_sessions is not None:
        check_sessions(ts, timeframe, exchange, max_gap_sessions)
    close = prices[:, 3]
    if np.ptp(np.log(close)) == 0.0:
        raise BadBarsError(f"{where}: constant close price over {len(close)} bars; nothing to forecast", "constant")
    sources = sorted(set(frame["source"])) if "source" in frame else ["unknown"]
    return Series(symbol, timeframe, ts, close, ",".join(sources))


# 1.4826 x MAD estimates the standard deviation of normal data; 1.2533 x the mean absolute
# deviation does too, and stands in when more than half of the returns are equal (MAD = 0).
MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533


def robust_scale(returns: np.ndarray) -> float:
    """A standard deviation that a few huge returns cannot inflate (MAD-based; 0 for a constant series)."""
    deviation = np.abs(returns - np.median(returns))
    return float(MAD_TO_SIGMA * np.median(deviation) or MEAN_AD_TO_SIGMA * np.mean(deviation))


def robust_scores(returns: np.ndarray) -> np.ndarray:
    """How many robust scales each return lies from the median return (0 for a constant series)."""
    scale = robust_scale(returns)
    deviation = np.abs(returns - np.median(returns))
    return deviation / scale if scale > 0 else np.zeros_like(returns)


def describe_move(log_return: float) -> str:
    """A price move for people: ``+12.34%``, or ``by a factor of about 1e+306`` when a percentage would
    run to dozens of digits (a spike to 1e308 is a 300-digit percentage)."""
    if abs(log_return) < math.log(1e6):
        return f"{math.expm1(log_return):+.2%}"
    return f"by a factor of about 1e{log_return / math.log(10):+.0f}"


def check_sessions(ts: pd.DatetimeIndex, timeframe: str, exchange: str, max_gap_sessions: int) -> None:
    """Refuse bars off the calendar, or a gap of more than ``max_gap_sessions`` missing sessions.

    A gap is counted in the exchange's sessions, so weekends, holidays and early closes are
    never gaps. A bar dated on a non-session means the bars follow another calendar than
    ``exchange`` (a wrong ``EXCHANGE_CALENDAR``), so its targets would be wrong: refused too.
    """
    where = f"{timeframe} bars"
    missing, extra = missing_sessions(ts, timeframe, exchange)
    if len(extra):
        raise BadBarsError(f"{where}: bar on {extra[0]:%Y-%m-%d}, which is not a {exchange} session "
                           f"({len(extra)} such day(s)); set EXCHANGE_CALENDAR to the symbol's exchange", "off-calendar")
    gap = longest_gap(missing, exchange)
    if gap is not None and gap[0] > max_gap_sessions:
        length, first, last = gap
        raise BadBarsError(f"{where}: gap of {length} missing {exchange} sessions from {first:%Y-%m-%d} to "
                           f"{last:%Y-%m-%d}; at most {max_gap_sessions} allowed (MAX_GAP_SESSIONS)", "gap")


def check_fresh(series: Series, as_of: date, exchange: str, max_stale_sessions: int) -> None:
    """Refuse a stale feed: the last bar more than ``max_stale_sessions`` sessions before ``as_of``.

    Raises:
        BadBarsError: cause ``stale``, naming the last bar, the sessions behind and the setting.
    """
    last = series.timestamps[-1]
    behind = sessions_behind(last, series.timeframe, as_of, exchange)
    if behind > max_stale_sessions:
        raise BadBarsError(f"{series.timeframe} bars: the last bar ({last:%Y-%m-%d %H:%M}Z) is {behind} {exchange} "
                           f"sessions before the run's date {as_of:%Y-%m-%d}; at most {max_stale_sessions} allowed "
                           "(MAX_STALE_SESSIONS): a stale feed", "stale")
