"""`python -m jobs.load_bars FILE.csv [--symbol S] [--timeframe 1d|1h] [--stamps ...] [--replace]`: import OHLC bars.

The whole file is checked first (see ``jobs.storage.csv_import``) and imported in one transaction:
a bad row, a bar off the exchange calendar (``EXCHANGE_CALENDAR``), or a stored bar the file would
change, refuses the file with exit 2 and the database unchanged. Bars are identified by session
(daily) or calendar slot (hourly, ``--stamps`` end, start or clock; detected by default), so the
same session re-imported with another UTC offset is the same bar. ``--replace`` lets the file
overwrite stored bars with different values and reports how many changed. Re-importing the same
file adds and changes nothing. Bars are removed with ``python -m jobs.bars delete``.
"""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.values import parse_symbols
from jobs.storage.bars import ChangedBarsError, import_bars
from jobs.storage.csv_import import read_csv
from jobs.storage.db import connect, migrate, resolve_url
from jobs.storage.stamps import CONVENTIONS


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.load_bars", description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--symbol", default=None, help="the symbol of a file without a symbol column")
    p.add_argument("--timeframe", choices=("1d", "1h"), default="1d", help="bar spacing (default 1d)")
    p.add_argument("--source", default="import", help="label stored in ohlc_bars.source")
    p.add_argument("--replace", action="store_true",
                   help="overwrite stored bars whose values differ from the file's (default: refuse the file)")
    p.add_argument("--stamps", choices=("auto", *CONVENTIONS), default="auto",
                   help="what an hourly stamp names: the bar's end, its start, or a clock hour "
                        "(default: detected from the file)")
    return p


STORED_AS = {"session": "daily stamps read as exchange sessions, stored at 00:00 UTC of each session",
             "end": "hourly stamps are bar ends, stored as they are",
             "start": "hourly stamps are bar starts, stored as bar ends",
             "clock": "hourly stamps are clock hours, stored as the calendar's bar ends"}


def store(url: str, path: Path, frame: pd.DataFrame, timeframe: str, source: str, replace: bool,
          exchange: str) -> str:
    """Import a checked file's bars in one transaction; return the line that reports what it did.

    Raises:
        ChangedBarsError: naming ``path``, when the file would change stored bars without ``replace``.
    """
    try:
        with connect(url) as conn, conn.transaction():
            counts = import_bars(conn, frame, timeframe, source, replace)
    except ChangedBarsError as exc:
        raise ChangedBarsError(f"{path} {exc}") from None
    return (f"{path}: {len(frame)} {timeframe} bars for {frame['symbol'].nunique()} symbol(s): {counts.new} new, "
            f"{counts.unchanged} already stored unchanged, {counts.replaced} replaced "
            f"({STORED_AS[frame.attrs['stamps']]} on {exchange})")


def main(argv: Sequence[str] | None = None) -> int:
    """Import the file; exit 2 on bad input with nothing written."""

    def body() -> int:
        args = build_parser().parse_args(argv_or_sys(argv))
        symbol = parse_symbols("--symbol", args.symbol)[0] if args.symbol is not None else None
        cfg = JobConfig.from_env(os.environ)
        frame = read_csv(args.file, symbol, args.timeframe, cfg.exchange_calendar, args.stamps)
        url = resolve_url(cfg.database_url, cfg.data_dir)
        if cfg.rollout_phase == "local":
            migrate(url)
        print(store(url, args.file, frame, args.timeframe, args.source, args.replace, cfg.exchange_calendar))
        return EXIT_OK

    return run_command(body, bad_input=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
