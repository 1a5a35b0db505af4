"""Writing a symbol's results: all of its rows in one transaction, idempotent per run."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.forecasting.results import DataEvent, ForecastResult, SymbolOutcome, WindowResult
from jobs.storage.db import load_sql
from jobs.storage.tasks import finish

log = logging.getLogger(__name__)


def symbol_phase(symbol: str, cfg: JobConfig) -> tuple[bool, str]:
    """``(is_canary, rollout_phase)`` for a symbol: canary symbols keep the canary phase."""
    if symbol in cfg.canary_symbols:
        return True, "canary"
    return False, cfg.rollout_phase


def write_outcome(conn: psycopg.Connection[Any], outcome: SymbolOutcome, cfg: JobConfig, run_id: str,
                  claimer: str | None = None, as_of: date | None = None) -> int:
    """Write one symbol-horizon's rows; the caller owns the transaction (all or nothing).

    A success writes the forecast, every window row (production set and baseline) and the
    symbol's metadata, clears an earlier attempt's failure and ends the symbol's streak of data
    incidents (a quarantined symbol rejoins); a failure records its reason and class, and a data
    incident counts towards quarantine (``as_of``: the run's date, default today). The real large
    moves seen are recorded once each. With ``claimer`` (the process holding the task's claim) the
    task's state and publish stamp commit with the rows: whoever commits them publishes the task's
    metrics, once. Returns how many data events this task recorded first.
    """
    key = {"run_id": run_id, "symbol": outcome.symbol, "horizon": outcome.horizon}
    is_canary, phase = symbol_phase(outcome.symbol, cfg)
    conn.execute(load_sql("upsert_symbol_metadata"),
                 {"symbol": outcome.symbol, "is_canary": is_canary, "rollout_phase": phase})
    new_events = record_events(conn, outcome.events, key, HORIZONS[outcome.horizon].timeframe)
    if not outcome.ok or outcome.forecast is None:
        conn.execute(load_sql("record_failure"), {**key, "reason": outcome.error or "no forecast",
                                                  "failure_class": outcome.failure, "cause": outcome.cause})
        if outcome.data_incident:
            note_data_incident(conn, outcome, cfg, as_of)
        if claimer is not None:
            finish(conn, run_id, outcome.symbol, outcome.horizon, claimer, "failed")
        return new_events
    if claimer is not None:
        finish(conn, run_id, outcome.symbol, outcome.horizon, claimer, "written")
    conn.execute(load_sql("clear_failure"), key)
    for row in conn.execute(load_sql("note_forecast_written"), {"symbol": outcome.symbol}).fetchall():
        if row["rejoined"]:
            log.info("%s rejoins: its bars pass again and it was forecast (quarantine lifted)", outcome.symbol)
    conn.execute(load_sql("insert_forecast"), forecast_params(outcome.forecast, key, phase, cfg.model_count))
    rows = [window_params(w, key, cfg, phase) for w in (*outcome.windows, *outcome.baseline_windows)]
    with conn.cursor() as cur:
        cur.executemany(load_sql("insert_validation_metric"), rows)
    return new_events


def record_events(conn: psycopg.Connection[Any], events: tuple[DataEvent, ...], key: dict[str, str],
                  timeframe: str) -> int:
    """Record each real large move once (the first task to see it); return how many this task recorded first.

    Counted by run and horizon rather than by this call's inserts, so a retry of a task whose
    metrics were never published reports the same number.
    """
    if not events:
        return 0
    rows = [{**key, "timeframe": timeframe, "ts": e.ts, "change": e.change, "robust_scales": e.scales}
            for e in events]
    with conn.cursor() as cur:
        cur.executemany(load_sql("insert_data_event"), rows)
    row = conn.execute(load_sql("task_data_events"), key).fetchone()
    return int(row["n"]) if row else 0


def note_data_incident(conn: psycopg.Connection[Any], outcome: SymbolOutcome, cfg: JobConfig,
                       as_of: date | None) -> bool:
    """Count a data incident towards the symbol's quarantine; True when it quarantines the symbol now."""
    row = conn.execute(load_sql("note_data_incident"), {
        "symbol": outcome.symbol, "as_of": as_of or date.today(), "reason": f"{outcome.horizon}: {outcome.error}",
        "quarantine_after": cfg.thresholds.quarantine_after}).fetchone()
    if row and row["quarantined_now"]:
        log.warning("%s quarantined after %d data incidents in a row (run dates with no forecast in between): %s",
                    outcome.symbol, cfg.thresholds.quarantine_after, outcome.error)
        return True
    return False


def sync_stack_symbols(conn: psycopg.Connection[Any], cfg: JobConfig) -> list[str]:
    """Make ``symbol_metadata`` follow the stack's symbol list (``STACK_SYMBOLS``, the source of truth).

    Every listed symbol is (re-)listed; the symbols of this phase that the stack no longer lists
    are marked retired with the time, so the review stops expecting their forecasts from today.
    Returns the symbols retired now. Plain DML: the deployed job role has no DDL rights.
    """
    if not cfg.stack_symbols:
        raise ValueError("STACK_SYMBOLS is empty: the stack's symbol list is needed to retire the others")
    for symbol in cfg.stack_symbols:
        is_canary, phase = symbol_phase(symbol, cfg)
        conn.execute(load_sql("upsert_symbol_metadata"),
                     {"symbol": symbol, "is_canary": is_canary, "rollout_phase": phase})
    rows = conn.execute(load_sql("retire_unlisted_symbols"),
                        {"rollout_phase": cfg.rollout_phase, "symbols": list(cfg.stack_symbols)}).fetchall()
    return sorted(r["symbol"] for r in rows)


def forecast_params(f: ForecastResult, key: dict[str, str], phase: str, model_count: int) -> dict[str, Any]:
    """Bind parameters of ``insert_forecast``; ``model_count`` is the configured ensemble size."""
    return {
        **key, "origin_ts": f.origin_ts, "target_ts": f.target_ts, "last_close": f.last_close,
        "predicted_return": f.predicted_return, "predicted_price": f.predicted_price,
        "lower_return": f.lower_return, "upper_return": f.upper_return, "lower_price": f.lower_price,
        "upper_price": f.upper_price, "interval_level": f.interval_level, "weights": Jsonb(f.weights),
        "weights_reverted": f.weights_reverted, "model_count": model_count,
        "models_used": ",".join(f.models_used), "rollout_phase": phase,
    }


def window_params(w: WindowResult, key: dict[str, str], cfg: JobConfig, phase: str) -> dict[str, Any]:
    """Bind parameters of ``insert_validation_metric``."""
    s = w.score
    return {
        **key, "window_id": w.window_id, "train_start": w.train_start, "val_start": w.val_start,
        "test_start": w.test_start, "test_end": w.test_end, "val_rmse": s.val_rmse, "test_rmse": s.test_rmse,
        "naive_val_rmse": s.naive_val_rmse, "naive_test_rmse": s.naive_test_rmse, "rmse_ratio": s.rmse_ratio,
        "divergence": s.divergence, "is_overfitting": s.is_overfitting, "weights": Jsonb(s.weights),
        "weights_reverted": s.weights_reverted, "model_count": len(w.model_set),
        "models_used": ",".join(s.models_used), "model_set": ",".join(w.model_set),
        "model_errors": len(s.errors), "is_baseline": w.is_baseline,
        "optimization_method": cfg.optimization_method, "rollout_phase": phase,
        "interval_coverage": w.score.coverage, "interval_width": w.score.interval_width,
    }
