"""Clearly labelled sample bars for an empty database (the demo and the tests).

Daily bars are real where an installed dependency ships them: ``arch`` bundles the S&P 500
and NASDAQ Composite indices (1999-2018). SPY gets the S&P 500 and MSFT the NASDAQ
Composite as stand-ins; every other symbol, and every hourly series, is a seeded
simulation with GARCH(1,1) volatility clustering. The ``source`` column says which is which.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from jobs.forecasting.calendar import DEFAULT_EXCHANGE, daily_sessions, hourly_bar_ends
from jobs.storage.bars import upsert_bars
from jobs.storage.db import connect, load_sql

# Real daily series shipped by arch, keyed by the symbol they stand in for.
REAL_DAILY = {
    "SPY": ("sp500", "real: arch.data.sp500 (S&P 500 index, 1999-2018) standing in for SPY"),
    "MSFT": ("nasdaq", "real: arch.data.nasdaq (NASDAQ Composite, 1999-2018) standing in for MSFT"),
}
SIMULATED = "simulated: seeded GARCH(1,1) sample, not market data"
# A fixed end keeps the sample reproducible from one day to the next.
SIM_END = pd.Timestamp("2026-11-20 21:00", tz="UTC")
# Enough for the default 10 walk-forward windows (daily 1194 bars, hourly 1701).
SIM_BARS = {"1d": 1500, "1h": 2000}


def simulate_garch_returns(n: int, seed: int, omega: float = 2e-6, alpha: float = 0.08, beta: float = 0.9,
                           mu: float = 2e-4, nu: float = 6.0) -> np.ndarray:
    """Simulate ``n`` log returns from a GARCH(1,1) with Student-t shocks (unit variance)."""
    if not (omega > 0 and alpha >= 0 and beta >= 0 and alpha + beta < 1):
        raise ValueError("GARCH parameters must satisfy omega > 0, alpha, beta >= 0, alpha + beta < 1")
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(nu, size=n) / np.sqrt(nu / (nu - 2))
    var = omega / (1 - alpha - beta)
    out = np.empty(n)
    for i in range(n):
        out[i] = mu + np.sqrt(var) * shocks[i]
        var = omega + alpha * (out[i] - mu) ** 2 + beta * var
    return out


def bars_from_returns(returns: np.ndarray, index: pd.DatetimeIndex, start_price: float, seed: int) -> pd.DataFrame:
    """OHLC bars whose closes follow ``returns``; highs and lows bracket open and close."""
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[start_price], close[:-1]])
    wick = np.abs(rng.normal(0, 0.003, size=(2, len(close))))
    return pd.DataFrame({
        "ts": index, "open": open_, "close": close,
        "high": np.maximum(open_, close) * (1 + wick[0]), "low": np.minimum(open_, close) * (1 - wick[1]),
        "volume": rng.integers(1_000_000, 5_000_000, size=len(close)).astype(float),
    })


def simulated_bars(symbol: str, timeframe: str, seed: int = 0, exchange: str = DEFAULT_EXCHANGE) -> pd.DataFrame:
    """A reproducible simulated series for ``symbol`` at ``timeframe`` ('1d' or '1h').

    Its bars sit on ``exchange``'s calendar (``jobs.forecasting.calendar``): one per session,
    or one per trading hour, ending at ``SIM_END``.
    """
    if timeframe not in SIM_BARS:
        raise ValueError(f"timeframe {timeframe!r} is invalid: expected one of {', '.join(SIM_BARS)}")
    n = SIM_BARS[timeframe]
    sym_seed = zlib.crc32(f"{symbol}:{timeframe}:{seed}".encode())
    if timeframe == "1d":
        index = daily_sessions(exchange, SIM_END, n)
        returns = simulate_garch_returns(n, sym_seed)
    else:
        # 2000 hourly bars are about 286 sessions; 500 calendar days hold about 345.
        ends = hourly_bar_ends(exchange, SIM_END - pd.Timedelta(days=500), SIM_END)
        index = ends[ends <= SIM_END][-n:]
        # Hourly variance is about a seventh of a trading day's.
        returns = simulate_garch_returns(n, sym_seed, omega=3e-7, mu=3e-5)
    start = 50.0 + (sym_seed % 400)
    return bars_from_returns(returns, index, start, sym_seed)


def real_daily_bars(symbol: str) -> pd.DataFrame:
    """The bundled real daily series standing in for ``symbol``."""
    import importlib

    module = importlib.import_module(f"arch.data.{REAL_DAILY[symbol][0]}")
    data = module.load()
    return pd.DataFrame({
        "ts": pd.DatetimeIndex(data.index).tz_localize("UTC"),
        "open": data["Open"].to_numpy(), "high": data["High"].to_numpy(), "low": data["Low"].to_numpy(),
        "close": data["Close"].to_numpy(), "volume": data["Volume"].to_numpy(dtype=float),
    })


def sample_bars(symbol: str, timeframe: str, seed: int = 0, exchange: str = DEFAULT_EXCHANGE
                ) -> tuple[pd.DataFrame, str]:
    """The sample bars for one symbol and timeframe, with their source label.

    The real series are US index data: their dates are exactly the XNYS sessions of 1999-2018
    (checked in the tests), so they are used whatever ``exchange`` is.
    """
    if timeframe == "1d" and symbol in REAL_DAILY:
        return real_daily_bars(symbol), REAL_DAILY[symbol][1]
    return simulated_bars(symbol, timeframe, seed, exchange), SIMULATED


def seed_sample_bars(url: str, symbols: Iterable[str], timeframes: Iterable[str], seed: int = 0,
                     exchange: str = DEFAULT_EXCHANGE) -> int:
    """Write sample bars for ``symbols`` x ``timeframes``; return the number of bars written."""
    written = 0
    with connect(url) as conn, conn.transaction():
        for symbol in symbols:
            for timeframe in timeframes:
                frame, source = sample_bars(symbol, timeframe, seed, exchange)
                written += upsert_bars(conn, symbol, timeframe, frame, source)
    return written


def database_is_empty(url: str) -> bool:
    """True when ``ohlc_bars`` holds no rows at all."""
    with connect(url) as conn:
        row = conn.execute(load_sql("count_bars")).fetchone()
    return row is None or int(row["n"]) == 0
