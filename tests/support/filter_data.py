"""Filter scenarios of the data-incident queries (issue 20): daily checks, review, quarantine and data events.

The daily checks' rows are an hour old (kept) or 25 hours old (outside the 24-hour window), as in
``tests.support.filter_jobs``; the review's sit in or at the edges of the window of
``tests.support.filter_review``. Writes are observed through ``filter_symbol_rows`` in the same
(rolled-back) transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tests.support.filter_jobs import DAILY, IN_WINDOW, SYMBOLS
from tests.support.filter_review import AFTER_SINCE, PHASE, SINCE, UNTIL, UP_TO_UNTIL, WINDOW
from tests.support.filter_rows import SECOND, Rows, day
from tests.support.sql_filters import Filter, Scenario


def _symbol(row: Mapping[str, Any]) -> str:
    return str(row["symbol"])


def _ago(hours: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=hours)


def _daily_filters(trap: str) -> tuple[Filter, ...]:
    return (Filter(SYMBOLS, "a symbol not asked for", ("IN",), ("OUT",)),
            Filter(trap, "a row 25 hours old" if trap == IN_WINDOW else "a symbol not quarantined",
                   ("IN",), ("OLD",)))


def _daily_failures(r: Rows) -> None:
    r.failure("d1", "IN", "1D", _ago(1), failure_class="data", cause="stale")
    r.failure("d1", "OUT", "1D", _ago(1))
    r.failure("d0", "OLD", "1D", _ago(25), failure_class="data", cause="gap")


def _daily_events(r: Rows) -> None:
    r.data_event("d1", "IN", "1D", _ago(1))
    r.data_event("d1", "OUT", "1D", _ago(1))
    r.data_event("d0", "OLD", "1D", _ago(25))


def _daily_quarantined(r: Rows) -> None:
    for symbol in ("IN", "OUT", "OLD"):
        r.symbol(symbol, "canary")
    r.incidents("IN", 3, quarantined=_ago(1))
    r.incidents("OUT", 3, quarantined=_ago(1))
    r.incidents("OLD", 2)  # two incidents in a row: not quarantined (yet)


def _review_quarantined(r: Rows) -> None:
    r.symbol("IN", "canary")
    r.symbol("PROD", "prod")
    r.symbol("FREE", "canary")
    r.symbol("GONE", "canary", retired=day(1))
    for symbol in ("IN", "PROD", "GONE"):
        r.incidents(symbol, 3, quarantined=day(1))
    r.incidents("FREE", 1)


def _review_events(r: Rows) -> None:
    for symbol, phase, at in (("IN", "canary", day(1)), ("EDGE", "canary", UNTIL), ("FIRST", "canary", SINCE + SECOND),
                              ("PROD", "prod", day(1)), ("AT_SINCE", "canary", SINCE),
                              ("LATE", "canary", UNTIL + SECOND)):
        r.symbol(symbol, phase)
        r.data_event("ev", symbol, "1D", at)
    r.data_event("ev", "UNLISTED", "1D", day(1))  # no symbol_metadata row at all


def _task_events(r: Rows) -> None:
    """One event of run R's S 1D; another run's, another symbol's and another horizon's: 1, 2 and 4 more."""
    bar = day(-30)
    for n, (run, symbol, horizon) in enumerate(
            [("R", "S", "1D"), ("R2", "S", "1D"), *[("R", "S2", "1D")] * 2, *[("R", "S", "4h")] * 4]):
        r.data_event(run, symbol, horizon, day(1), ts=bar + timedelta(days=n))


def _count(row: Mapping[str, Any]) -> int:
    return int(row["n"])


def _streaks(r: Rows) -> None:
    """S and OTHER have data incidents in a row; CLEAN has none."""
    for symbol in ("S", "OTHER", "CLEAN"):
        r.symbol(symbol, "canary")
    r.incidents("S", 2)
    r.incidents("OTHER", 2)


def _touched(row: Mapping[str, Any]) -> tuple[str, bool]:
    return str(row["symbol"]), bool(row["touched"])


INCIDENT = {"symbol": "S", "as_of": date(2026, 1, 6), "reason": "1D: stale", "quarantine_after": 3}


def _run_shares(r: Rows) -> None:
    """Run R of the canary phase: A forecast, D refused (stale), P failed in code, Q quarantined; and traps.

    Q2 is quarantined at 1D and refused at 4h (a quarantined symbol is left out however else it fails);
    X is a prod symbol, Y a prod forecast; the others sit at or past the window's edges.
    """
    for symbol in ("A", "D", "P", "Q", "Q2", "FS", "LS"):
        r.symbol(symbol, "canary")
    r.symbol("X", "prod")
    r.forecast("R", "A", "1D", "canary", day(1))
    r.failure("R", "D", "1D", day(1), failure_class="data", cause="stale")
    r.failure("R", "P", "1D", day(1))
    r.failure("R", "Q", "1D", day(1), failure_class="data", cause="quarantined")
    r.failure("R", "Q2", "1D", day(1), failure_class="data", cause="quarantined")
    r.failure("R", "Q2", "4h", day(1), failure_class="data", cause="stale")
    r.failure("R", "X", "1D", day(1))
    r.forecast("R", "Y", "1D", "prod", day(1))
    r.forecast("R", "FA", "1D", "canary", SINCE)
    r.forecast("R", "LA", "1D", "canary", UNTIL + SECOND)
    r.failure("R", "FS", "1D", SINCE)
    r.failure("R", "LS", "1D", UNTIL + SECOND)


def _share(row: Mapping[str, Any]) -> tuple[str, int, tuple[str, ...]]:
    return str(row["run_id"]), int(row["symbols"]), tuple(row["refused"])


REAL_SHARE = ("R", 3, ("D",))  # A, D and P ran; D was refused; Q and Q2 are quarantined


def _one_more(why: str, refused: tuple[str, ...] = ("D",), symbols: int = 4
              ) -> tuple[str, tuple[Any, ...], tuple[Any, ...]]:
    """A case's ``why``, the real result, and what the run's row becomes with the term dropped."""
    return why, (REAL_SHARE,), (("R", symbols, refused),)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("daily_failures", _daily_failures, (DAILY | {"symbols": ["IN", "OLD"]},), _symbol,
             _daily_filters(IN_WINDOW)),
    Scenario("daily_data_events", _daily_events, (DAILY | {"symbols": ["IN", "OLD"]},), _symbol,
             _daily_filters(IN_WINDOW)),
    Scenario("daily_quarantined", _daily_quarantined, (DAILY | {"symbols": ["IN", "OLD"]},), _symbol,
             _daily_filters("quarantined_at IS NOT NULL")),
    Scenario("review_quarantined", _review_quarantined, (WINDOW,), _symbol, (
        Filter(PHASE, "a quarantined prod symbol", ("IN",), ("PROD",)),
        Filter("quarantined_at IS NOT NULL", "a symbol with one incident, not quarantined", ("IN",), ("FREE",)),
        Filter("retired_at IS NULL", "a quarantined symbol retired since", ("IN",), ("GONE",)))),
    Scenario("review_data_events", _review_events, (WINDOW,), _symbol, (
        Filter(f"e.{AFTER_SINCE}", "events one second after and exactly at the window's start", ("FIRST",),
               ("AT_SINCE",)),
        Filter(f"e.{UP_TO_UNTIL}", "events exactly at and one second after the window's end", ("EDGE",), ("LATE",)),
        Filter("e.symbol IN (SELECT symbol FROM symbol_metadata WHERE rollout_phase = ANY(%(phases)s))",
               "an event of a symbol no phase lists", ("IN",), ("UNLISTED",)),
        Filter(PHASE, "an event of a prod symbol", ("IN",), ("PROD",)))),
    Scenario("task_data_events", _task_events, ({"run_id": "R", "symbol": "S", "horizon": "1D"},), _count, (
        Filter("run_id = %(run_id)s", "another run's event of S 1D", (1,), (2,)),
        Filter("symbol = %(symbol)s", "run R's events of another symbol", (1,), (3,)),
        Filter("horizon = %(horizon)s", "run R's events of S at another horizon", (1,), (5,)))),
    Scenario("note_data_incident", _streaks, (INCIDENT,), _touched, (
        Filter("symbol = %(symbol)s", "another symbol's streak", (("S", True),), (("OTHER", True),)),
        Filter("m.symbol = next.symbol", "another symbol's row", (("S", True),), (("OTHER", True),))),
        observe="filter_symbol_rows"),
    Scenario("note_forecast_written", _streaks, ({"symbol": "S"}, {"symbol": "CLEAN"}), _touched, (
        Filter("symbol = %(symbol)s", "another symbol's streak", (("S", True),), (("OTHER", True),)),
        Filter("m.symbol = old.symbol", "another symbol's row", (("S", True),), (("OTHER", True),)),
        Filter("(m.data_incident_streak <> 0 OR m.quarantined_at IS NOT NULL)",
               "a symbol with nothing to reset is left as it is", (("S", True),), (("CLEAN", True),))),
        observe="filter_symbol_rows"),
    Scenario("review_run_shares", _run_shares, (WINDOW,), _share, (
        Filter(PHASE, *_one_more("a prod symbol's failure in the run")),
        Filter(PHASE, *_one_more("a prod forecast in the run")),
        Filter(AFTER_SINCE, *_one_more("a forecast exactly at the window's start")),
        Filter(UP_TO_UNTIL, *_one_more("a forecast one second after the window's end")),
        Filter("symbol IN (SELECT symbol FROM phase_symbols)", *_one_more("a prod symbol's failure in the run")),
        Filter(AFTER_SINCE, *_one_more("a failure exactly at the window's start")),
        Filter(UP_TO_UNTIL, *_one_more("a failure one second after the window's end")),
        Filter("NOT quarantined", *_one_more("quarantined symbols are not counted", symbols=5)),
        Filter("refused", *_one_more("symbols that ran are not refused", ("A", "D", "P"), symbols=3)),
        Filter("NOT quarantined", *_one_more("a quarantined symbol's refusal is not a new one", ("D", "Q2"),
                                             symbols=3)))),
)
