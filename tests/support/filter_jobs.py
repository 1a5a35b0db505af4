"""Filter scenarios of the daily checks, resume and retirement queries (``tests.support.sql_filters``).

The daily checks look back from ``NOW()``: their rows are an hour old (kept) or 25 hours old
(outside the 24-hour window). Writes are observed through a test-only query in the same
(rolled-back) transaction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from psycopg.types.json import Jsonb

from tests.support.filter_rows import Rows, day
from tests.support.sql_filters import Filter, Scenario

DAILY = {"symbols": ["IN", "BASE", "CALM", "OLD"], "window": timedelta(hours=24)}
SYMBOLS, NOT_BASELINE = "symbol = ANY(%(symbols)s)", "NOT is_baseline"
IN_WINDOW = "created_at > NOW() - %(window)s::interval"


def _symbol(row: Mapping[str, Any]) -> str:
    return str(row["symbol"])


def _ago(hours: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=hours)


def _daily(r: Rows) -> None:
    """IN overfits an hour ago; OUT is not asked for; BASE is a baseline row; CALM does not overfit; OLD is 25 h old."""
    r.window("d1", "IN", "1D", "canary", _ago(1), divergence=0.3, overfitting=True)
    r.window("d1", "OUT", "1D", "canary", _ago(1), divergence=0.3, overfitting=True)
    r.window("d1", "BASE", "1D", "canary", _ago(1), divergence=0.3, overfitting=True, baseline=True)
    r.window("d1", "CALM", "1D", "canary", _ago(1))
    r.window("d0", "OLD", "1D", "canary", _ago(25), divergence=0.3, overfitting=True)


def _daily_filters(overfitting: bool) -> tuple[Filter, ...]:
    return (Filter(SYMBOLS, "a symbol not asked for", ("IN",), ("OUT",)),
            *((Filter("is_overfitting = TRUE", "a window that does not overfit", ("IN",), ("CALM",)),)
              if overfitting else ()),
            Filter(NOT_BASELINE, "a baseline row", ("IN",), ("BASE",)),
            Filter(IN_WINDOW, "a window 25 hours old", ("IN",), ("OLD",)))


def _share(r: Rows) -> None:
    """IN (limited) and CAN (canary) count for limited's share; PROD is another phase; the rest as in ``_daily``."""
    r.window("d1", "IN", "1D", "limited", _ago(1), divergence=0.3)
    r.window("d1", "CAN", "1D", "canary", _ago(1), divergence=0.3)
    r.window("d1", "PROD", "1D", "prod", _ago(1), divergence=0.3)
    r.window("d1", "OUT", "1D", "limited", _ago(1), divergence=0.3)
    r.window("d1", "BASE", "1D", "limited", _ago(1), divergence=0.3, baseline=True)
    r.window("d0", "OLD", "1D", "limited", _ago(25), divergence=0.3)


def _retired(r: Rows) -> None:
    r.symbol("GONE", "canary", retired=day(1))
    r.symbol("ELSE", "canary", retired=day(1))
    r.symbol("ACTIVE", "canary")


def _written(r: Rows) -> None:
    r.forecast("R", "A", "1D", "canary", day(1), published=day(1))
    r.forecast("R", "B", "1D", "canary", day(1))
    r.forecast("R2", "C", "1D", "canary", day(1), published=day(1))
    r.failure("R", "D", "1D", day(1), published=day(1))
    r.failure("R", "E", "1D", day(1))
    r.failure("R2", "G", "1D", day(1), published=day(1))


def _to_publish(r: Rows) -> None:
    """Run R's forecast of S and failure of F, and rows that differ from them in one part of the key."""
    for run, sym, hor in (("R", "S", "1D"), ("R2", "S", "1D"), ("R", "S2", "1D"), ("R", "S", "4h")):
        r.forecast(run, sym, hor, "canary", day(1) if run == "R" else day(0))
    for run, sym, hor in (("R", "F", "1D"), ("R2", "F", "1D"), ("R", "F2", "1D"), ("R", "F", "4h")):
        r.failure(run, sym, hor, day(1))


def _failures(r: Rows) -> None:
    for run, sym, hor in (("R", "S", "1D"), ("R2", "S", "1D"), ("R", "S2", "1D"), ("R", "S", "4h")):
        r.failure(run, sym, hor, day(1))


def _forecast_then_fail(r: Rows) -> None:
    """R1 already wrote S1's forecast; R2's S2 has forecasts that differ from it in one part of the key."""
    for run, sym, hor in (("R1", "S1", "1D"), ("Rx", "S2", "1D"), ("R2", "Sx", "1D"), ("R2", "S2", "4h")):
        r.forecast(run, sym, hor, "canary", day(1))


def _key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.values())


TARGET = day(2, 21)


def _forecast_params(run_id: str, symbol: str) -> dict[str, Any]:
    close, ret = 100.0, 0.002
    return {"run_id": run_id, "symbol": symbol, "horizon": "1D", "origin_ts": day(1, 21), "target_ts": TARGET,
            "last_close": close, "predicted_return": ret, "predicted_price": close * math.exp(ret),
            "lower_return": ret - 0.02, "upper_return": ret + 0.02, "lower_price": close * math.exp(ret - 0.02),
            "upper_price": close * math.exp(ret + 0.02), "interval_level": 0.9,
            "weights": Jsonb({"LSTM": 0.5, "ARIMA_GARCH": 0.5}), "weights_reverted": False, "model_count": 2,
            "models_used": "LSTM,ARIMA_GARCH", "rollout_phase": "canary"}


def _earlier_forecasts(r: Rows) -> None:
    """R's forecast of S for TARGET (a retry of R rewrites nothing), and R0's of S2 (R replaces it)."""
    r.forecast("R", "S", "1D", "canary", day(1), published=day(1), target=TARGET)
    r.forecast("R0", "S2", "1D", "canary", day(0), published=day(0), target=TARGET)


def _memberships(r: Rows) -> None:
    r.symbol("SAME", "canary")
    r.symbol("MOVED", "limited")
    r.symbol("BACK", "canary", retired=day(1))


def _unlisted(r: Rows) -> None:
    r.symbol("KEEP", "limited")
    r.symbol("GONE", "limited")
    r.symbol("OTHER", "prod")
    r.symbol("OLD", "limited", retired=day(1))


def _membership(symbol: str) -> dict[str, Any]:
    return {"symbol": symbol, "is_canary": True, "rollout_phase": "canary"}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("canary_divergence_summary", _daily, (DAILY,), _symbol, _daily_filters(overfitting=False)),
    Scenario("canary_rmse_trends", _daily, (DAILY,), _symbol, _daily_filters(overfitting=False)),
    Scenario("canary_overfitting_alerts", _daily, (DAILY,), _symbol, _daily_filters(overfitting=True)),
    Scenario("daily_symbol_share", _share,
             ({"symbols": ["IN", "CAN", "PROD", "BASE", "OLD"], "phases": ["canary", "limited"],
               "window": timedelta(hours=24)},), _symbol, (
        Filter(SYMBOLS, "a symbol not asked for", ("IN",), ("OUT",)),
        Filter("rollout_phase = ANY(%(phases)s)", "a phase limited's review does not read", ("IN", "CAN"), ("PROD",)),
        Filter(NOT_BASELINE, "a baseline row", ("IN",), ("BASE",)),
        Filter(IN_WINDOW, "a run 25 hours old", ("IN",), ("OLD",)))),
    Scenario("retired_symbols", _retired, ({"symbols": ["GONE", "ACTIVE"]},), _symbol, (
        Filter(SYMBOLS, "a retired symbol not asked for", ("GONE",), ("ELSE",)),
        Filter("retired_at IS NOT NULL", "an active symbol", ("GONE",), ("ACTIVE",)))),
    Scenario("clear_failure", _failures, ({"run_id": "R", "symbol": "S", "horizon": "1D"},), _key, (
        Filter("run_id = %(run_id)s", "another run's failure stays", (("R2", "S", "1D"),), (("R", "S", "1D"),)),
        Filter("symbol = %(symbol)s", "another symbol's failure stays", (("R", "S2", "1D"),), (("R", "S", "1D"),)),
        Filter("horizon = %(horizon)s", "another horizon's failure stays", (("R", "S", "4h"),), (("R", "S", "1D"),))),
        observe="filter_failures"),
    Scenario("record_failure", _forecast_then_fail,
             ({"run_id": "R1", "symbol": "S1", "horizon": "1D", "reason": "late", "failure_class": "pipeline",
               "cause": None},
              {"run_id": "R2", "symbol": "S2", "horizon": "1D", "reason": "boom", "failure_class": "data",
               "cause": "stale"}), _key, (
        Filter("NOT EXISTS ( SELECT 1 FROM forecasts WHERE run_id = %(run_id)s AND symbol = %(symbol)s "
               "AND horizon = %(horizon)s )", "a failure after the run wrote the forecast", (("R2", "S2", "1D"),),
               (("R1", "S1", "1D"),)),
        Filter("run_id = %(run_id)s", "another run's forecast of S2", (("R2", "S2", "1D"),)),
        Filter("symbol = %(symbol)s", "the run's forecast of another symbol", (("R2", "S2", "1D"),)),
        Filter("horizon = %(horizon)s", "the run's forecast of S2 on another horizon", (("R2", "S2", "1D"),))),
        observe="filter_failures"),
    Scenario("insert_forecast", _earlier_forecasts, (_forecast_params("R", "S"), _forecast_params("R", "S2")), _key, (
        Filter("forecasts.run_id IS DISTINCT FROM EXCLUDED.run_id", "a retry of R rewrites nothing; R replaces R0's",
               (("R", "S", "1D", False), ("R", "S2", "1D", True)), (("R", "S", "1D", True),)),),
        observe="filter_forecast_rows"),
    Scenario("upsert_symbol_metadata", _memberships,
             (_membership("SAME"), _membership("MOVED"), _membership("BACK")), _key, (
        Filter("symbol_metadata.is_canary IS DISTINCT FROM EXCLUDED.is_canary OR symbol_metadata.rollout_phase "
               "IS DISTINCT FROM EXCLUDED.rollout_phase OR symbol_metadata.retired_at IS NOT NULL",
               "an unchanged active symbol is left alone; a moved and a retired one are updated",
               (("SAME", "canary", False, False), ("MOVED", "canary", False, True), ("BACK", "canary", False, True)),
               (("SAME", "canary", False, True),)),),
        observe="filter_symbol_rows"),
    Scenario("retire_unlisted_symbols", _unlisted, ({"rollout_phase": "limited", "symbols": ["KEEP"]},), _symbol, (
        Filter("rollout_phase = %(rollout_phase)s", "another phase's symbol the stack does not list", ("GONE",),
               ("OTHER",)),
        Filter("retired_at IS NULL", "a symbol retired before (it keeps its date)", ("GONE",), ("OLD",)),
        Filter("NOT (symbol = ANY(%(symbols)s))", "a symbol the stack lists", ("GONE",), ("KEEP",)))),
)
