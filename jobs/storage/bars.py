"""OHLC bars in ``ohlc_bars``: read (validated into a ``Series``) and upsert."""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg

from jobs.contract.config import HORIZONS, JobConfig
from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.series import PRICE_COLUMNS, BadBarsError, Series, validate_bars
from jobs.forecasting.walkforward import DEFAULT_SPECS, WindowSpec
from jobs.storage.db import load_sql


def read_bars(conn: psycopg.Connection[Any], symbol: str, timeframe: str, limit: int) -> pd.DataFrame:
    """The latest ``limit`` bars of ``symbol`` in ascending time order."""
    rows = conn.execute(load_sql("select_bars"), {"symbol": symbol, "timeframe": timeframe, "limit": limit}).fetchall()
    frame = pd.DataFrame(rows, columns=["ts", *PRICE_COLUMNS, "volume", "source"])
    return frame.iloc[::-1].reset_index(drop=True)


def upsert_bars(conn: psycopg.Connection[Any], symbol: str, timeframe: str, frame: pd.DataFrame, source: str) -> int:
    """Insert bars (idempotent on symbol, timeframe, ts); return the number of rows sent."""
    sql = load_sql("upsert_bar")
    rows = [
        {"symbol": symbol, "timeframe": timeframe, "ts": ts.to_pydatetime(), "open": float(o), "high": float(h),
         "low": float(lo), "close": float(c), "volume": float(v), "source": source}
        for ts, o, h, lo, c, v in zip(
            pd.to_datetime(frame["ts"], utc=True), frame["open"], frame["high"], frame["low"], frame["close"],
            frame["volume"], strict=True,
        )
    ]
    with conn.cursor() as cur:
        cur.executemany(sql, rows)
    return len(rows)


def load_series(conn: psycopg.Connection[Any], symbol: str, horizon: str, cfg: JobConfig,
                spec: WindowSpec | None = None) -> Series | SymbolOutcome:
    """The validated bars the windows need, or the failed outcome naming what is wrong with them."""
    hz = HORIZONS[horizon]
    need = (spec or DEFAULT_SPECS[hz.timeframe]).required_returns(cfg.walk_forward) + 1
    try:
        frame = read_bars(conn, symbol, hz.timeframe, need)
        return validate_bars(symbol, hz.timeframe, frame, need, cfg.exchange_calendar, cfg.max_gap_sessions)
    except BadBarsError as exc:
        return SymbolOutcome(symbol, horizon, error=str(exc))
