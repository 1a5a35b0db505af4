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


def next_target(last: datetime, timeframe: str, steps: int) -> datetime:
    """The target time ``steps`` bars after ``last``: business days for daily bars, hours otherwise."""
    stamp = pd.Timestamp(last)
    if timeframe == "1d":
        return (stamp + pd.offsets.BDay(steps)).to_pydatetime()
    return (stamp + pd.Timedelta(hours=steps)).to_pydatetime()
