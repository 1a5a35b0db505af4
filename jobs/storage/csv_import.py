"""Read and validate a CSV of OHLC bars for ``python -m jobs.load_bars`` (no database access here).

Accepted: UTF-8 text (a byte-order mark is ignored) with a header row naming ``ts`` (or ``date``,
``timestamp``, ``datetime``), ``open``, ``high``, ``low``, ``close``, optional ``volume`` (blank means
0) and ``symbol`` unless ``--symbol`` is given. Times are ISO 8601 (``2024-01-02``,
``2024-01-02T14:00:00Z``); without an offset they are UTC. Every row is checked, and the first
defect refuses the whole file with its line number: prices must be finite and > 0, ``low <= open,
close <= high``, volume finite and >= 0, one bar per symbol and time, symbols upper-case tickers
(the same rule as ``--symbol``). Then each bar is placed on the exchange calendar
(``jobs.storage.stamps``): a daily bar is its session whatever the offset, an hourly bar the calendar
slot its stamp names (bar end, bar start or clock hour, detected per file); a bar off the calendar,
two bars of one session or slot, or hourly stamps that fit no convention refuse the file. The
frame returned carries the stored stamps, and ``frame.attrs["stamps"]`` the convention read.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.contract.values import ConfigError, parse_symbols
from jobs.forecasting.calendar import DEFAULT_EXCHANGE
from jobs.forecasting.series import PRICE_COLUMNS
from jobs.storage.stamps import StampError, daily_sessions, hourly_slots

TIME_COLUMNS = ("ts", "date", "timestamp", "datetime")
# Daily bars are typically one session apart: a median spacing above 4 days is weekly data.
MAX_MEDIAN_SPACING = pd.Timedelta(days=4)


class BadFileError(ValueError):
    """A file that cannot be imported: one line naming the file, the line and the defect."""


@dataclass(frozen=True)
class Rejection:
    """The first bad row of a file and how many rows are bad in all."""

    line: int
    defect: str
    bad_rows: int


def read_csv(path: Path, symbol: str | None, timeframe: str, exchange: str = DEFAULT_EXCHANGE,
             stamps: str = "auto") -> pd.DataFrame:
    """The file's bars (``symbol, ts, open, high, low, close, volume``, ``line`` = its line number).

    ``ts`` is the stored stamp of each bar on ``exchange``'s calendar; ``stamps`` names the hourly
    convention (``auto`` detects it).

    Raises:
        BadFileError: On anything the import refuses, naming ``path`` and the first bad line.
    """
    frame = _parse(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    time_col = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if time_col is None or missing:
        need = ", ".join([" or ".join(TIME_COLUMNS), *PRICE_COLUMNS])
        raise BadFileError(f"{path}: missing columns {missing or ['ts']}; expected {need} (volume and symbol "
                           f"optional){_delimiter_hint(frame)}")
    if frame.empty:
        raise BadFileError(f"{path}: no bars, only a header row")
    frame["line"] = np.arange(len(frame)) + 2  # line 1 is the header; pandas skips no blank rows here
    frame["symbol"] = _symbols(path, frame, symbol)
    frame["ts_text"] = frame[time_col]
    frame["ts"] = pd.to_datetime(frame[time_col].str.strip(), utc=True, errors="coerce", format="ISO8601")
    frame = _numbers(frame)
    if (rejection := first_defect(frame)) is not None:
        more = f" ({rejection.bad_rows - 1} more bad rows)" if rejection.bad_rows > 1 else ""
        raise BadFileError(f"{path} line {rejection.line}: {rejection.defect}{more}; nothing was imported")
    try:
        if timeframe == "1d":
            _check_weekly(path, frame)
            frame["ts"], convention = daily_sessions(frame, exchange), "session"
        else:
            frame["ts"], convention = hourly_slots(frame, exchange, stamps)
    except StampError as exc:
        raise BadFileError(f"{path} {exc}; nothing was imported" if str(exc).startswith("line ")
                           else f"{path}: {exc}; nothing was imported") from None
    out = frame.loc[:, ["line", "symbol", "ts", *PRICE_COLUMNS, "volume"]].sort_values(["symbol", "ts"])
    out.attrs["stamps"] = convention
    return out


def _parse(path: Path) -> pd.DataFrame:
    """The file as a table of strings; empty, unreadable or non-UTF-8 files are refused by name."""
    if not path.is_file():
        raise BadFileError(f"{path}: {_not_a_file(path)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadFileError(f"{path} line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                           "save the file as UTF-8") from None
    if not text.strip():
        raise BadFileError(f"{path}: the file is empty; expected a header row and one bar per line")
    try:
        with warnings.catch_warnings():
            # A row longer than the header: pandas would drop fields with only a warning.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Strings only: "n/a", "" or "inf" in a price must be refused by the checks, not read as NaN.
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False,
                                index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        raise BadFileError(f"{path}: not a CSV table of bars: {str(exc).strip().splitlines()[0]}") from None
    return frame.fillna("")  # a blank line reads as NaN even with keep_default_na=False


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a file: missing, a folder, standard input, or a pipe or device."""
    if str(path) == "-":
        return "'-' (standard input) is not read; save the bars to a CSV file and name it"
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a folder; name the CSV file in it"
    return "not a regular file (a pipe, a terminal or a device such as /dev/stdin); save the bars to a CSV file"


def _delimiter_hint(frame: pd.DataFrame) -> str:
    """A hint when the header is one field holding another separator: a ``;``- or tab-separated file."""
    if len(frame.columns) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in str(frame.columns[0]):
                return f"; the header is separated by {name}, not commas: save the file as comma-separated CSV"
    return ""


def _symbols(path: Path, frame: pd.DataFrame, symbol: str | None) -> pd.Series:
    """Each row's symbol: ``--symbol`` for a file without a symbol column, else the column (one rule for both)."""
    if "symbol" not in frame.columns:
        if symbol is None:
            raise BadFileError(f"{path}: no symbol column; pass --symbol")
        return pd.Series(symbol, index=frame.index)
    column = frame["symbol"].str.strip()
    for value in column.unique():
        try:
            parse_symbols("symbol", value)
        except ConfigError:
            line = int(frame.loc[column == value, "line"].iloc[0])
            raise BadFileError(f"{path} line {line}: symbol {value!r} is not a ticker (1-10 of A-Z, 0-9, '.', '-', "
                               "upper case, the same rule as --symbol)") from None
    found = sorted(column.unique())
    if symbol is not None and found != [symbol]:
        raise BadFileError(f"{path}: --symbol {symbol} given, but the file's symbol column holds "
                           f"{', '.join(found)}; drop --symbol to import each symbol under its own name")
    return column


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices and volume as floats (NaN where the text is not a number; a blank volume is 0)."""
    out = frame.copy()
    if "volume" not in out.columns:
        out["volume"] = "0"
    out["volume"] = out["volume"].where(out["volume"].str.strip() != "", "0")
    for col in (*PRICE_COLUMNS, "volume"):
        out[f"{col}_text"] = out[col]
        out[col] = out[col].map(_to_float)
    return out


def _to_float(text: str) -> float:
    """The number ``text`` spells, correctly rounded (pandas' fast parser can be off by an ulp), else NaN."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def first_defect(frame: pd.DataFrame) -> Rejection | None:
    """The first row (by line) that breaks a rule, with its defect, or None when every row is good."""
    checks: list[tuple[pd.Series, Callable[[pd.Series], str]]] = [
        (frame["ts"].isna(), lambda r: f"time {r['ts_text']!r} is not an ISO 8601 date/time such as 2024-01-02 "
                                       "or 2024-01-02T14:00:00Z"),
    ]
    for col in (*PRICE_COLUMNS, "volume"):
        values = frame[col].astype(float)
        in_range = values >= 0 if col == "volume" else values > 0
        rule = "finite number >= 0" if col == "volume" else "finite price > 0"
        checks.append((~(np.isfinite(values) & in_range),
                       lambda r, c=col, rl=rule: f"{c} = {r[c + '_text']!r} is not a {rl}"))
    checks += [
        (frame["high"] < frame[["open", "close", "low"]].max(axis=1),
         lambda r: f"high {r['high']:g} is below the open, low or close (open {r['open']:g}, low {r['low']:g}, "
                   f"close {r['close']:g})"),
        (frame["low"] > frame[["open", "close"]].min(axis=1),
         lambda r: f"low {r['low']:g} is above the open or close (open {r['open']:g}, close {r['close']:g})"),
        (frame.duplicated(["symbol", "ts"], keep="first") & frame["ts"].notna(),
         lambda r: f"a second {r['symbol']} bar at {r['ts']} (one bar per symbol and time)"),
    ]
    bad = pd.concat([mask.rename(i) for i, (mask, _) in enumerate(checks)], axis=1).fillna(True).astype(bool)
    rows = bad.any(axis=1)
    if not rows.any():
        return None
    first = frame.loc[rows, "line"].idxmin()
    describe = checks[int(np.argmax(bad.loc[first].to_numpy()))][1]
    return Rejection(int(frame.at[first, "line"]), describe(frame.loc[first]), int(rows.sum()))


def _check_weekly(path: Path, frame: pd.DataFrame) -> None:
    """Refuse weekly or monthly bars loaded as daily: each symbol's bars typically a session apart."""
    for sym, part in frame.sort_values("ts").groupby("symbol"):
        gaps = part["ts"].diff().iloc[1:]
        if not gaps.empty and (median := gaps.median()) > MAX_MEDIAN_SPACING:
            raise BadFileError(f"{path}: {sym}'s bars are typically {_span(median)} apart; 1d bars are one "
                               f"session apart (at most {_span(MAX_MEDIAN_SPACING)} typically): weekly data?")


def _span(delta: pd.Timedelta) -> str:
    """A time span as people write it: ``1:00:00``, ``20:00:00``, ``7 days, 0:00:00``."""
    return str(delta.to_pytimedelta())
