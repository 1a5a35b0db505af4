"""A symbol's bars as the models see them: validated closes and log returns (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jobs.forecasting.calendar import DEFAULT_EXCHANGE, longest_gap, missing_sessions

PRICE_COLUMNS = ("open", "high", "low", "close")


class BadBarsError(ValueError):
    """A symbol's bars cannot be forecast; the message names the symbol and the defect."""


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
            f"{where}: {len(frame)} found, need at least {min_bars} for the walk-forward windows"
        )
    prices = frame.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype=float)
    if not np.isfinite(prices).all():
        bad = frame.loc[~np.isfinite(prices).all(axis=1), "ts"].iloc[0]
        raise BadBarsError(f"{where}: missing or non-finite price at {bad}; prices must be finite numbers")
    if (prices <= 0).any():
        bad = frame.loc[(prices <= 0).any(axis=1), "ts"].iloc[0]
        raise BadBarsError(f"{where}: non-positive price at {bad}; prices must be > 0")
    ts = pd.DatetimeIndex(pd.to_datetime(frame["ts"], utc=True))
    if ts.has_duplicates:
        raise BadBarsError(f"{where}: duplicate timestamp {ts[ts.duplicated()][0]}; timestamps must be unique")
    if not ts.is_monotonic_increasing:
        raise BadBarsError(f"{where}: timestamps out of order; bars must be in ascending time order")
    if max_gap_sessions is not None:
        check_sessions(ts, timeframe, exchange, max_gap_sessions)
    close = prices[:, 3]
    if np.ptp(np.log(close)) == 0.0:
        raise BadBarsError(f"{where}: constant close price over {len(close)} bars; nothing to forecast")
    sources = sorted(set(frame["source"])) if "source" in frame else ["unknown"]
    return Series(symbol, timeframe, ts, close, ",".join(sources))


# 1.4826 x MAD estimates the standard deviation of normal data; 1.2533 x the mean absolute
# deviation does too, and stands in when more than half of the returns are equal (MAD = 0).
MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533


def robust_scores(returns: np.ndarray) -> np.ndarray:
    """How many robust scales each return lies from the median return (0 for a constant series)."""
    deviation = np.abs(returns - np.median(returns))
    scale = MAD_TO_SIGMA * np.median(deviation) or MEAN_AD_TO_SIGMA * np.mean(deviation)
    return deviation / scale if scale > 0 else np.zeros_like(returns)


def refuse_return_outliers(series: Series, threshold: float) -> None:
    """Refuse a series holding a return far outside its own robust scale (a damaged bar).

    A x1e4 spike or a level shift from a unit change is a data error, not a market move: models
    fitted across it forecast nonsense (a point outside its own interval). The reason names the
    bar where the suspicious return ends, its size and the setting, so an operator can fix the bar.

    Raises:
        BadBarsError: When some return lies more than ``threshold`` robust scales from the median.
    """
    returns = series.returns
    if len(returns) < 3:
        return
    scores = robust_scores(returns)
    outliers = np.flatnonzero(scores > threshold)
    if outliers.size:
        first = int(outliers[0])  # the earliest: a spike's way back down is named by its way up
        more = f" ({outliers.size - 1} more such returns)" if outliers.size > 1 else ""
        score = f"{scores[first]:.0f}" if scores[first] < 1e6 else f"{scores[first]:.1e}"
        raise BadBarsError(
            f"{series.timeframe} bars: the close at {series.timestamps[first + 1]} moves {describe_move(returns[first])} "
            f"from the bar before, {score} robust scales from the median return (limit "
            f"RETURN_OUTLIER_THRESHOLD={threshold:g}){more}; a damaged or unadjusted price? fix the bar or raise the setting"
        )



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
                           f"({len(extra)} such day(s)); set EXCHANGE_CALENDAR to the symbol's exchange")
    gap = longest_gap(missing, exchange)
    if gap is not None and gap[0] > max_gap_sessions:
        length, first, last = gap
        raise BadBarsError(f"{where}: gap of {length} missing {exchange} sessions from {first:%Y-%m-%d} to "
                           f"{last:%Y-%m-%d}; at most {max_gap_sessions} allowed (MAX_GAP_SESSIONS)")
