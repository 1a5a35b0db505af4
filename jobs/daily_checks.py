"""`python -m jobs.daily_checks`: the command line of `jobs.rollout.daily`."""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from rich.console import Console

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.values import parse_int, parse_symbols
from jobs.rollout.daily import build_tables, fetch
from jobs.storage.db import resolve_url

DEFAULT_SYMBOLS = "AAPL,MSFT,SPY"


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.daily_checks", description=__doc__.splitlines()[0])
    p.add_argument("--symbols", default=DEFAULT_SYMBOLS, help=f"comma-separated symbols (default {DEFAULT_SYMBOLS})")
    p.add_argument("--hours", default="24", help="look-back window in hours, 1 to 720 (default 24)")
    return p


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         console: Console | None = None) -> int:
    """Print the daily tables; return the exit status."""
    environ = os.environ if env is None else env

    def body() -> int:
        ns = build_parser().parse_args(argv_or_sys(argv))
        symbols = parse_symbols("--symbols", ns.symbols)
        hours = parse_int("--hours", ns.hours, 1, 720)
        cfg = JobConfig.from_env(environ)
        results = fetch(resolve_url(cfg.database_url, cfg.data_dir), symbols, hours)
        out = console or Console()
        for table in build_tables(results, cfg.thresholds, hours):
            out.print(table)
        return EXIT_OK

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
