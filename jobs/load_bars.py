"""Import OHLC bars from a CSV: ``python -m jobs.load_bars FILE.csv [--symbol S] [--timeframe 1d]``.

Columns: ``ts`` (or ``date``/``timestamp``), ``open``, ``high``, ``low``, ``close``, optional
``volume``, and ``symbol`` unless ``--symbol`` is given. Re-importing a file is idempotent.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from jobs.storage.bars import PRICE_COLUMNS, upsert_bars
from jobs.contract.config import ConfigError, JobConfig, parse_symbols
from jobs.storage.db import DatabaseUnavailable, connect, migrate, resolve_url

TIME_COLUMNS = ("ts", "date", "timestamp", "datetime")


def read_csv(path: Path, symbol: str | None) -> pd.DataFrame:
    """Read and normalise the CSV; raise ``ValueError`` naming a missing or bad column."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    frame = pd.read_csv(path, keep_default_na=False)  # "n/a" or "" in a price must be refused, not read as NaN
    frame.columns = [c.strip().lower() for c in frame.columns]
    time_col = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if time_col is None or missing:
        need = ", ".join([" or ".join(TIME_COLUMNS), *PRICE_COLUMNS])
        raise ValueError(f"{path}: missing columns {missing or [time_col]}; expected {need} (volume optional)")
    if symbol is None and "symbol" not in frame.columns:
        raise ValueError(f"{path}: no symbol column; pass --symbol")
    try:
        ts = pd.to_datetime(frame[time_col], utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: column {time_col!r} has a value that is not a date/time: {exc}") from None
    out = frame.assign(ts=ts, symbol=symbol or frame["symbol"].astype(str).str.strip().str.upper())
    if "volume" not in out.columns:
        out["volume"] = 0.0
    for col in (*PRICE_COLUMNS, "volume"):
        numbers = pd.to_numeric(out[col], errors="coerce")
        blank = out[col].astype(str).str.strip() == ""
        bad = numbers.isna() & ~(blank & (col == "volume"))  # a blank volume means 0; a blank price is bad
        if bad.any():
            row = int(bad.idxmax())
            raise ValueError(f"{path}: row {row + 2} column {col!r} = {out[col].iloc[row]!r} is not a number")
        out[col] = numbers.fillna(0.0) if col == "volume" else numbers
    return out


def main(argv: list[str] | None = None) -> int:
    """Import the file; exit 2 on bad input with nothing written."""
    p = argparse.ArgumentParser(prog="python -m jobs.load_bars", description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--symbol", default=None)
    p.add_argument("--timeframe", choices=("1d", "1h"), default="1d")
    p.add_argument("--source", default="import", help="label stored in ohlc_bars.source")
    args = p.parse_args(argv)
    try:
        symbol = parse_symbols("--symbol", args.symbol)[0] if args.symbol else None
        frame = read_csv(args.file, symbol)
        parse_symbols("symbol column", ",".join(sorted(set(frame["symbol"]))))
        cfg = JobConfig.from_env(os.environ)
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        url = resolve_url(cfg.database_url, cfg.data_dir)
        if cfg.rollout_phase == "local":
            migrate(url)
        with connect(url) as conn, conn.transaction():
            total = sum(upsert_bars(conn, sym, args.timeframe, part, args.source)
                        for sym, part in frame.groupby("symbol"))
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"imported {total} {args.timeframe} bars for {frame['symbol'].nunique()} symbol(s) from {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
