"""`python -m jobs.bars {delete,quarantine,readmit,status}`: remove bars, and quarantine or re-admit a symbol.

- ``delete --symbol S --timeframe 1d|1h --from DATE [--to DATE]``: delete the symbol's bars of the
  sessions from ``--from`` to ``--to`` (inclusive, exchange dates; default one session). Every
  deleted bar is printed with its values (the audit), then the count; nothing is deleted when no
  bar matches. The only way a stored bar goes away (a bar the importer would refuse today, a
  damaged bar to re-import).
- ``quarantine --symbol S --reason TEXT``: its tasks check its bars and fit nothing until they pass.
- ``readmit --symbol S``: quarantine lifted and its streak of data incidents reset.
- ``status [--symbols A,B]``: symbols with data incidents in a row or in quarantine.

Exit status 0; 2 bad input; 1 database unreachable or nothing matched (delete, quarantine, readmit).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import pandas as pd

from jobs.cli import EXIT_FAULT, EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.values import ConfigError, parse_symbols
from jobs.forecasting.calendar import trading_calendar
from jobs.storage.db import connect, load_sql, resolve_url


def build_parser() -> OneLineParser:
    """The command line: one subcommand per action."""
    p = OneLineParser(prog="python -m jobs.bars", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    delete = sub.add_parser("delete", help="delete a symbol's bars of some sessions, printing each one")
    delete.add_argument("--symbol", required=True)
    delete.add_argument("--timeframe", choices=("1d", "1h"), required=True)
    delete.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first session")
    delete.add_argument("--to", dest="end", default=None, metavar="YYYY-MM-DD", help="last session (default --from)")
    quarantine = sub.add_parser("quarantine", help="quarantine a symbol: no fit until its bars pass")
    quarantine.add_argument("--symbol", required=True)
    quarantine.add_argument("--reason", required=True)
    readmit = sub.add_parser("readmit", help="lift a symbol's quarantine and reset its streak")
    readmit.add_argument("--symbol", required=True)
    status = sub.add_parser("status", help="symbols with data incidents in a row or quarantined")
    status.add_argument("--symbols", default=None, help="comma-separated symbols (default: all)")
    return p


def _day(flag: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigError(f"{flag}={raw!r} is invalid: expected a date such as 2024-01-02") from None


def delete_range(timeframe: str, first: date, last: date, exchange: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` in UTC holding the bars of the sessions ``first`` to ``last``.

    Daily bars are stamped 00:00 UTC of their session; hourly bars within their session's local day.
    """
    if last < first:
        raise ConfigError(f"--to={last} is before --from={first}")
    if timeframe == "1d":
        return pd.Timestamp(first, tz="UTC"), pd.Timestamp(last + timedelta(days=1), tz="UTC")
    tz = trading_calendar(exchange).tz
    return (pd.Timestamp(first).tz_localize(tz).tz_convert("UTC"),
            pd.Timestamp(last + timedelta(days=1)).tz_localize(tz).tz_convert("UTC"))


def _validated(args: Any, cfg: JobConfig) -> Any:
    """Check every value before the database is touched (bad input: exit 2, nothing changed)."""
    if hasattr(args, "symbol"):
        args.symbol = parse_symbols("--symbol", args.symbol)[0]
    if args.action == "delete":
        args.first = _day("--from", args.start)
        args.last = _day("--to", args.end) if args.end else args.first
        args.range = delete_range(args.timeframe, args.first, args.last, cfg.exchange_calendar)
    if args.action == "status":
        args.symbols = list(parse_symbols("--symbols", args.symbols)) if args.symbols else None
    return args


def _delete(conn: Any, args: Any) -> int:
    symbol, first, last = args.symbol, args.first, args.last
    start, end = args.range
    with conn.transaction():
        rows = conn.execute(load_sql("delete_bars"), {"symbol": symbol, "timeframe": args.timeframe,
                                                      "start": start.to_pydatetime(), "end": end.to_pydatetime()}
                            ).fetchall()
    for r in rows:
        print(f"deleted {r['symbol']} {r['timeframe']} {r['ts']:%Y-%m-%d %H:%M}Z open {r['open']:g} high {r['high']:g} "
              f"low {r['low']:g} close {r['close']:g} volume {r['volume']:g} source {r['source']!r}")
    span = f"{first}" if first == last else f"{first} to {last}"
    print(f"{len(rows)} {symbol} {args.timeframe} bar(s) of {span} deleted")
    return EXIT_OK if rows else EXIT_FAULT


def _mark(conn: Any, args: Any) -> int:
    symbol = args.symbol
    name = "quarantine_symbol" if args.action == "quarantine" else "readmit_symbol"
    params = {"symbol": symbol, "reason": f"by hand: {getattr(args, 'reason', '')}"}
    with conn.transaction():
        row = conn.execute(load_sql(name), params).fetchone()
    if row is None:
        print(f"error: {symbol} is not in symbol_metadata (the job has never run it); nothing changed", file=sys.stderr)
        return EXIT_FAULT
    done = (f"quarantined since {row['quarantined_at']:%Y-%m-%d %H:%M}Z: its tasks check its bars and fit nothing "
            "until they pass" if args.action == "quarantine" else "re-admitted: its next run fits it in full")
    print(f"{symbol} {done}")
    return EXIT_OK


def _status(conn: Any, args: Any) -> int:
    rows = conn.execute(load_sql("symbol_data_status"), {"symbols": args.symbols}).fetchall()
    for r in rows:
        state = (f"quarantined since {r['quarantined_at']:%Y-%m-%d %H:%M}Z ({r['quarantine_reason']})"
                 if r["quarantined_at"] else "not quarantined")
        print(f"{r['symbol']} ({r['rollout_phase']}): {r['data_incident_streak']} data incident run date(s) in a row, "
              f"last {r['last_incident_on'] or '-'}; {state}")
    print(f"{len(rows)} symbol(s) with data incidents in a row or quarantined")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the subcommand; return the exit status."""
    environ = os.environ if env is None else env

    def body() -> int:
        cfg = JobConfig.from_env(environ)
        args = _validated(build_parser().parse_args(argv_or_sys(argv)), cfg)
        with connect(resolve_url(cfg.database_url, cfg.data_dir)) as conn:
            if args.action == "delete":
                return _delete(conn, args)
            if args.action == "status":
                return _status(conn, args)
            return _mark(conn, args)

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
