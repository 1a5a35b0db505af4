"""`python -m jobs.dashboard`: the command line of `jobs.monitoring.dashboard`."""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.values import parse_int
from jobs.monitoring.dashboard import load_dashboard, render_html
from jobs.monitoring.report_files import check_output_file, write_text_atomic
from jobs.storage.db import resolve_url


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("reports/dashboard.html"), help="output HTML file")
    p.add_argument("--days", default="7", help="how many days of rows to show, 1 to 365 (default 7)")
    return p


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Render the dashboard; return the exit status (2 bad input, 1 database unreachable)."""
    environ = os.environ if env is None else env

    def body() -> int:
        args = build_parser().parse_args(argv_or_sys(argv))
        days = parse_int("--days", args.days, 1, 365)
        cfg = JobConfig.from_env(environ)
        check_output_file(args.out, "--out")  # before reading the database: a bad path is bad input
        url = resolve_url(cfg.database_url, cfg.data_dir)
        data = load_dashboard(url, days, cfg.thresholds)
        write_text_atomic(args.out, render_html(data), "--out")
        print(f"wrote {args.out} ({len(data.symbols)} symbols, last {days} days)")
        return EXIT_OK

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
