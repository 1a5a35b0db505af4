"""OHLC bars in ``ohlc_bars``: read (validated into a ``Series``) and upsert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.series import PRICE_COLUMNS, BadBarsError, Series, validate_bars
from jobs.forecasting.walkforward import WindowSpec, window_spec
from jobs.storage.db import load_sql


def read_bars(conn: psycopg.Connection[Any], symbol: str, timeframe: str, limit: int) -> pd.DataFrame:
    """The latest ``limit`` bars of ``symbol`` in ascending time order."""
    rows = conn.execute(load_sql("select_bars"), {"symbol": symbol, "timeframe": timeframe, "limit": limit}).fetchall()
    frame = pd.DataFrame(rows, columns=["ts", *PRICE_COLUMNS, "volume", "source"])
    return frame.iloc[::-1].reset_index(drop=True)


def upsert_bars(conn: psycopg.Connection[Any], symbol: str, timeframe: str, frame: pd.DataFrame, source: str,
                replace: bool = False) -> int:
    """Insert bars not stored yet; with ``replace``, also overwrite stored bars whose values differ.

    Without ``replace`` an existing bar is never changed. Returns the number of rows sent.
    """
    sql = load_sql("replace_bar" if replace else "insert_bar")
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


class ChangedBarsError(ValueError):
    """An import would change stored bars and ``--replace`` was not given."""


@dataclass(frozen=True)
class ImportCounts:
    """What an import did: bars added, bars already stored with the same values, bars replaced."""

    new: int = 0
    unchanged: int = 0
    replaced: int = 0

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(self.new + other.new, self.unchanged + other.unchanged, self.replaced + other.replaced)


VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")


def import_bars(conn: psycopg.Connection[Any], frame: pd.DataFrame, timeframe: str, source: str,
                replace: bool) -> ImportCounts:
    """Import validated bars of one or more symbols; the caller owns the transaction.

    Stored bars are compared first: one whose prices or volume differ from the file's refuses the
    import with ``ChangedBarsError`` unless ``replace`` is set. Each symbol is locked before it is
    compared (in symbol order, so two multi-symbol imports cannot deadlock): concurrent imports of
    one symbol run one after the other, as if imported in some order, and each reports what it did.
    """
    total = ImportCounts()
    for symbol, part in frame.groupby("symbol", sort=True):
        conn.execute(load_sql("lock_bars"), {"symbol": symbol, "timeframe": timeframe})
        stamps = [t.to_pydatetime() for t in pd.to_datetime(part["ts"], utc=True)]
        stored = pd.DataFrame(conn.execute(load_sql("select_stored_bars"),
                                           {"symbol": symbol, "timeframe": timeframe, "ts": stamps}).fetchall(),
                              columns=["ts", *VALUE_COLUMNS])
        stored["ts"] = pd.to_datetime(stored["ts"], utc=True)
        both = part.merge(stored, on="ts", how="inner", suffixes=("", "_stored"))
        differs = np.zeros(len(both), dtype=bool)
        for col in VALUE_COLUMNS:
            differs |= both[col].to_numpy(dtype=float) != both[f"{col}_stored"].to_numpy(dtype=float)
        if differs.any() and not replace:
            row = both[differs].iloc[0]
            changes = ", ".join(f"{c} {change(row[c + '_stored'], row[c])}" for c in VALUE_COLUMNS
                                if row[c] != row[c + "_stored"])
            raise ChangedBarsError(
                f"line {row['line']}: the stored {symbol} {timeframe} bar at {row['ts']} differs ({changes}); "
                f"{int(differs.sum())} stored bar(s) would change. Pass --replace to overwrite them; nothing was imported"
            )
        upsert_bars(conn, str(symbol), timeframe, part, source, replace=replace)
        total += ImportCounts(new=len(part) - len(both), unchanged=int((~differs).sum()), replaced=int(differs.sum()))
    return total


def change(old: float, new: float) -> str:
    """``old -> new`` as short as ``%g`` allows, with every digit (``repr``) where ``%g`` would hide the change:
    ``11 -> 11.1``, but ``100.52 -> 100.52000000000001``."""
    if f"{old:g}" != f"{new:g}":
        return f"{old:g} -> {new:g}"
    return f"{float(old)!r} -> {float(new)!r}"


def load_series(conn: psycopg.Connection[Any], symbol: str, horizon: str, cfg: JobConfig,
                spec: WindowSpec | None = None) -> Series | SymbolOutcome:
    """The validated bars the windows need, or the failed outcome naming what is wrong with them."""
    hz = HORIZONS[horizon]
    need = (spec or window_spec(hz.timeframe, cfg.walk_forward_windows)).required_returns(cfg.walk_forward) + 1
    try:
        frame = read_bars(conn, symbol, hz.timeframe, need)
        return validate_bars(symbol, hz.timeframe, frame, need, cfg.exchange_calendar, cfg.max_gap_sessions)
    except BadBarsError as exc:
        return SymbolOutcome.refused(symbol, horizon, exc)
