"""A symbol's bars as the models see them: validated closes and log returns (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

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


def validate_bars(symbol: str, timeframe: str, frame: pd.DataFrame, min_bars: int) -> Series:
    """Check ``frame`` and return its close series, or raise ``BadBarsError`` naming the defect.

    Refused: too few bars, missing/NaN/infinite prices, non-positive prices, duplicate or
    unordered timestamps, and flat histories (a constant price carries no signal to fit).
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
        raise BadBarsError(
            f"{series.timeframe} bars: the close at {series.timestamps[first + 1]} moves {np.expm1(returns[first]):+.2%} "
            f"from the bar before, {scores[first]:.0f} robust scales from the median return (limit "
            f"RETURN_OUTLIER_THRESHOLD={threshold:g}){more}; a damaged or unadjusted price? fix the bar or raise the setting"
        )


def next_target(last: datetime, timeframe: str, steps: int) -> datetime:
    """The target time ``steps`` bars after ``last``: business days for daily bars, hours otherwise."""
    stamp = pd.Timestamp(last)
    if timeframe == "1d":
        return (stamp + pd.offsets.BDay(steps)).to_pydatetime()
    return (stamp + pd.Timedelta(hours=steps)).to_pydatetime()
