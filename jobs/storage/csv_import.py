"""Import OHLC bars from a CSV: ``python -m jobs.load_bars FILE.csv [--symbol S] [--timeframe 1d]``.

Columns: ``ts`` (or ``date``/``timestamp``), ``open``, ``high``, ``low``, ``close``, optional
``volume``, and ``symbol`` unless ``--symbol`` is given. Re-importing a file is idempotent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jobs.forecasting.series import PRICE_COLUMNS

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
