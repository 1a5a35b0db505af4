"""`python -m jobs.load_bars`: the command line of `jobs.storage.csv_import`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig, parse_symbols
from jobs.storage.bars import upsert_bars
from jobs.storage.csv_import import read_csv
from jobs.storage.db import connect, migrate, resolve_url


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.load_bars", description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--symbol", default=None)
    p.add_argument("--timeframe", choices=("1d", "1h"), default="1d")
    p.add_argument("--source", default="import", help="label stored in ohlc_bars.source")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Import the file; exit 2 on bad input with nothing written."""

    def body() -> int:
        args = build_parser().parse_args(argv_or_sys(argv))
        symbol = parse_symbols("--symbol", args.symbol)[0] if args.symbol else None
        frame = read_csv(args.file, symbol)
        parse_symbols("symbol column", ",".join(sorted(set(frame["symbol"]))))
        cfg = JobConfig.from_env(os.environ)
        url = resolve_url(cfg.database_url, cfg.data_dir)
        if cfg.rollout_phase == "local":
            migrate(url)
        with connect(url) as conn, conn.transaction():
            total = sum(upsert_bars(conn, sym, args.timeframe, part, args.source)
                        for sym, part in frame.groupby("symbol"))
        print(f"imported {total} {args.timeframe} bars for {frame['symbol'].nunique()} symbol(s) from {args.file}")
        return EXIT_OK

    return run_command(body, bad_input=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
