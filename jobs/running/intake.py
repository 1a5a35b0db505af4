"""What a run's tasks may compute: unknown symbols, quarantined symbols and stale feeds, before any fit.

- A symbol with no bars at all is an *unknown symbol*: refused up front, once per task, with no
  worker and no fit (500 typos cost 500 primary-key probes, not 500 tasks).
- A quarantined symbol (``symbol_metadata.quarantined_at``: repeated data incidents) costs no fit:
  its task only reads and checks its bars. When they pass (fresh, no damaged price) it is forecast
  again in the same run, and the forecast lifts its quarantine; otherwise it is recorded as
  ``quarantined`` (a data failure that is not a new incident).
- A stale feed (last bar more than ``MAX_STALE_SESSIONS`` sessions before the run's date) is a data
  incident in a deployed phase; locally it is a warning on the forecast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import psycopg

from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.forecasting.damage import screen
from jobs.forecasting.results import QUARANTINED, SymbolOutcome
from jobs.forecasting.series import BadBarsError, Series, check_fresh
from jobs.storage.db import load_sql
from jobs.storage.tasks import symbols_with_bars

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intake:
    """A run's tasks sorted before they start: refused up front, and the quarantined symbols with why."""

    refused: tuple[SymbolOutcome, ...]
    quarantined: dict[str, str]


def triage(conn: psycopg.Connection[Any], tasks: Sequence[tuple[str, str]]) -> Intake:
    """Refuse ``(symbol, horizon)`` tasks whose symbol has no bars of the horizon's timeframe; read quarantine.

    A symbol with no bars of any needed timeframe is an ``unknown-symbol``; one with bars of another
    timeframe only is ``no-bars`` for this one.
    """
    symbols = sorted({s for s, _ in tasks})
    timeframes = sorted({HORIZONS[h].timeframe for _, h in tasks})
    stored = symbols_with_bars(conn, symbols, timeframes)
    known = {s for s, _ in stored}
    refused = []
    for symbol, horizon in tasks:
        timeframe = HORIZONS[horizon].timeframe
        if (symbol, timeframe) in stored:
            continue
        if symbol in known:
            exc = BadBarsError(f"{timeframe} bars: none stored for {symbol} (it has other bars); import them with "
                               f"python -m jobs.load_bars FILE --symbol {symbol} --timeframe {timeframe}", "no-bars")
        else:
            exc = BadBarsError(f"unknown symbol {symbol}: no bars stored; import them with python -m jobs.load_bars "
                               f"or remove {symbol} from the stack's symbols", "unknown-symbol")
        refused.append(SymbolOutcome.refused(symbol, horizon, exc))
    rows = conn.execute(load_sql("quarantined_symbols"), {"symbols": symbols}).fetchall()
    quarantined = {r["symbol"]: f"quarantined since {r['quarantined_at']:%Y-%m-%d %H:%M}Z ({r['quarantine_reason']})"
                   for r in rows}
    return Intake(tuple(_as_quarantined(o, quarantined.get(o.symbol)) for o in refused), quarantined)


def unknown_symbols(outcomes: Sequence[SymbolOutcome]) -> list[str]:
    """The symbols refused as unknown, each once, in order."""
    return list(dict.fromkeys(o.symbol for o in outcomes if o.cause == "unknown-symbol"))


def admit(loaded: Series | SymbolOutcome, horizon: str, cfg: JobConfig, as_of: date | None,
          quarantine: str | None, compute: Callable[[Series], SymbolOutcome]) -> SymbolOutcome:
    """The task's outcome: refused input, or ``compute`` on admitted bars (with any local warning).

    Args:
        loaded: the validated bars, or the outcome refusing them on reading.
        horizon: the task's horizon.
        cfg: the job configuration (phase, calendar, ``MAX_STALE_SESSIONS``, outlier threshold).
        as_of: the run's date for the freshness check (None: not checked).
        quarantine: why the symbol is quarantined, or None when it is not.
        compute: fits and forecasts admitted bars.
    """
    if isinstance(loaded, SymbolOutcome):
        return _as_quarantined(loaded, quarantine)
    warnings: tuple[str, ...] = ()
    try:
        if as_of is not None:
            try:
                check_fresh(loaded, as_of, cfg.exchange_calendar, cfg.max_stale_sessions)
            except BadBarsError as exc:
                if cfg.rollout_phase != "local":
                    raise
                warnings = (f"{loaded.symbol} {horizon}: {exc}; forecast anyway because ROLLOUT_PHASE=local "
                            "(a deployed phase refuses it as a data incident)",)
        if quarantine is not None:
            screen(loaded, cfg.return_outlier_threshold)  # no fit until the bars pass
    except BadBarsError as exc:
        return _as_quarantined(SymbolOutcome.refused(loaded.symbol, horizon, exc), quarantine)
    if quarantine is not None:
        log.info("%s %s: quarantined, but its bars pass now: forecasting it again", loaded.symbol, horizon)
    outcome = compute(loaded)
    return replace(outcome, warnings=warnings) if warnings else outcome


def _as_quarantined(outcome: SymbolOutcome, quarantine: str | None) -> SymbolOutcome:
    """A quarantined symbol's refusal is recorded as ``quarantined``: known, not a new incident."""
    if quarantine is None or outcome.failure != "data":
        return outcome
    return replace(outcome, cause=QUARANTINED, error=f"{quarantine}; its bars still fail: {outcome.error}")
