"""The morning review: ``python -m jobs.daily_checks [--symbols AAPL,MSFT,SPY] [--hours 24]``.

Prints the rollout document's three daily checks as ``rich`` tables: divergence summary,
RMSE trends and overfitting alerts, from ``sql/queries/canary_*.sql``. The divergence rows
carry the rollout trigger they fire (``jobs.contract.triggers``, the review's table): MONITOR
or ROLLBACK. A fourth table lists failures: pipeline failures (ROLLBACK) and data incidents
(reported for the data team), quarantined symbols and real large moves kept. A fifth judges
limited's "divergence < 20% for 95% of symbols" over the window, as limited's review does.
Exit status 0, 2 on bad input, 1 when the database is unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from rich.table import Table

from jobs.contract.phases import covered_phases
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import Trigger, for_phase
from jobs.rollout.checks import SymbolShare, pct, symbol_share
from jobs.storage.db import connect, load_sql

_STYLE = {"ROLLBACK": "bold red", "MONITOR": "yellow"}
# The morning checks mark rows with canary's criteria (the strictest: not below 15%) and every phase's
# rollback rules; prod's 20% warning lies above canary's 15%, which already marks the row. Limited's
# share of symbols is no figure of one row: table 5 judges it over the rows limited's review reads.
DAILY_PHASE = "canary"
SHARE_PHASE = "limited"
SHARE_TRIGGER = "divergence-symbol-share"


def daily_params(symbols: Sequence[str], hours: int) -> dict[str, Any]:
    """The daily queries' bind parameters: the symbols, the look-back window, the phases limited's review reads."""
    return {"symbols": list(symbols), "window": timedelta(hours=hours), "phases": covered_phases(SHARE_PHASE)}


def fetch(url: str, symbols: Sequence[str], hours: int) -> dict[str, list[dict[str, Any]]]:
    """Run the morning queries, the failure queries, ``retired_symbols`` and the share's; keys: the query names."""
    params = daily_params(symbols, hours)
    names = ("canary_divergence_summary", "canary_rmse_trends", "canary_overfitting_alerts", "retired_symbols",
             "daily_failures", "daily_data_events", "daily_quarantined", "daily_symbol_share")
    with connect(url) as conn:
        return {name: conn.execute(load_sql(name), params).fetchall() for name in names}


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def divergence_trigger(row: Mapping[str, Any], t: Thresholds) -> Trigger | None:
    """The worst trigger of the ``divergence`` and ``overfitting`` checks a summary row fires, if any.

    The same conditions as the review's checks (``jobs.rollout.checks``), over the daily window,
    for ``DAILY_PHASE``'s criteria and every phase's rollback rules.
    """
    fired = []
    avg, windows = row["avg_div"], row["windows"]
    for trig in for_phase(DAILY_PHASE):
        if trig.check == "divergence" and avg is not None and trig.threshold is not None:
            limit = getattr(t, trig.threshold)
            # ROLLBACK is strictly above its threshold; MONITOR is "not below" the proceed threshold.
            if avg > limit or (trig.verdict.value == "MONITOR" and avg >= limit):
                fired.append(trig)
        if trig.check == "overfitting" and windows and row["overfitting_count"] / windows >= t.overfitting_share:
            fired.append(trig)
    return max(fired, key=lambda trig: trig.verdict.value == "ROLLBACK", default=None)


def build_tables(results: Mapping[str, list[dict[str, Any]]], thresholds: Thresholds, hours: int) -> list[Table]:
    """The three tables; divergence rows name the rollout trigger they fire (MONITOR yellow, ROLLBACK red)."""
    threshold = thresholds.divergence_warning
    div = Table(title=f"1. Divergence summary (last {hours} h)")
    for col in ("symbol", "horizon", "windows", "avg_div", "max_div", "overfitting_count", "trigger"):
        div.add_column(col, justify="left" if col in ("symbol", "horizon", "trigger") else "right")
    for r in results["canary_divergence_summary"]:
        trig = divergence_trigger(r, thresholds)
        label = f"{trig.verdict.value} {trig.name}" if trig else "-"
        div.add_row(r["symbol"], r["horizon"], str(r["windows"]), _f(r["avg_div"]), _f(r["max_div"]),
                    str(r["overfitting_count"]), label, style=_STYLE[trig.verdict.value] if trig else None)
    rmse = Table(title=f"2. RMSE trends (last {hours} h)")
    for col in ("symbol", "horizon", "avg_val", "avg_test", "rmse_diff"):
        rmse.add_column(col, justify="left" if col in ("symbol", "horizon") else "right")
    for r in results["canary_rmse_trends"]:
        rmse.add_row(r["symbol"], r["horizon"], _f(r["avg_val"], 6), _f(r["avg_test"], 6), _f(r["rmse_diff"], 6))
    alerts = Table(title=f"3. Overfitting alerts (last {hours} h, divergence above {threshold:.0%} flags a window)")
    for col in ("symbol", "horizon", "divergence", "model_count", "models_used", "created_at"):
        alerts.add_column(col, justify="right" if col in ("divergence", "model_count") else "left")
    for r in results["canary_overfitting_alerts"]:
        alerts.add_row(r["symbol"], r["horizon"], _f(r["divergence"]), str(r["model_count"]), r["models_used"],
                       f"{r['created_at']:%Y-%m-%d %H:%M}Z")
    for table, name in ((div, "canary_divergence_summary"), (rmse, "canary_rmse_trends"),
                        (alerts, "canary_overfitting_alerts")):
        if not results[name]:
            table.caption = "no rows"
    # A symbol its stack no longer lists is not expected to have rows: say so rather than let
    # its absence read as a missing run.
    retired = "; ".join(f"{r['symbol']} retired {r['retired_at']:%Y-%m-%d %H:%M}Z (no longer in its stack)"
                        for r in results.get("retired_symbols", []))
    if retired:
        div.caption = f"{div.caption + '; ' if div.caption else ''}{retired}"
    return [div, rmse, alerts, failures_table(results, hours), share_table(results, thresholds, hours)]


def judge_share(rows: Sequence[Mapping[str, Any]], t: Thresholds) -> SymbolShare:
    """Limited's share criterion over ``daily_symbol_share`` rows (one per symbol-horizon), as the review judges it."""
    return symbol_share(((r["symbol"], r["avg_div"]) for r in rows), t)


def share_table(results: Mapping[str, list[dict[str, Any]]], t: Thresholds, hours: int) -> Table:
    """5. Limited's share of symbols averaging below the warning (each horizon of a symbol), and its trigger."""
    rows = results.get("daily_symbol_share", [])
    table = Table(title=f"5. Limited's share of symbols (last {hours} h)")
    for col in ("symbols", "below", "share", "required", "trigger", "not below"):
        table.add_column(col, justify="left" if col in ("trigger", "not below") else "right")
    rule = (f"divergence below {pct(t.divergence_warning)} on each horizon for {pct(t.limited_symbol_share)} of "
            f"symbols, over the rows of {' and '.join(covered_phases(SHARE_PHASE))}")
    table.caption = f"no rows; {rule}" if not rows else rule
    if not rows:
        return table
    judged = judge_share(rows, t)
    trig = next(x for x in for_phase(SHARE_PHASE) if x.name == SHARE_TRIGGER)
    label = "-" if judged.met else f"{trig.verdict.value} {trig.name}"
    table.add_row(str(judged.symbols), str(judged.symbols - len(judged.above)), pct(judged.share),
                  pct(judged.required), label, ", ".join(judged.above) or "-",
                  style=None if judged.met else _STYLE[trig.verdict.value])
    return table


def failures_table(results: Mapping[str, list[dict[str, Any]]], hours: int) -> Table:
    """4. Failures: pipeline failures (ROLLBACK uncaught-errors) and data incidents (reported), then
    quarantined symbols and the real large moves kept, in the caption."""
    table = Table(title=f"4. Failures and data incidents (last {hours} h)")
    for col in ("symbol", "horizon", "class", "cause", "runs", "latest", "decision", "reason"):
        table.add_column(col, justify="right" if col == "runs" else "left")
    for r in results.get("daily_failures", []):
        pipeline = r["failure_class"] == "pipeline"
        decision = "ROLLBACK uncaught-errors" if pipeline else "reported (data incident)"
        table.add_row(r["symbol"], r["horizon"], r["failure_class"], r["cause"], str(r["runs"]),
                      f"{r['latest']:%Y-%m-%d %H:%M}Z", decision, str(r["reason"])[:100],
                      style=_STYLE["ROLLBACK"] if pipeline else _STYLE["MONITOR"])
    notes = [f"{r['symbol']} quarantined since {r['quarantined_at']:%Y-%m-%d %H:%M}Z ({r['quarantine_reason']})"
             for r in results.get("daily_quarantined", [])]
    notes += [f"{e['symbol']} {e['timeframe']} {e['ts']:%Y-%m-%d %H:%M}Z {e['change']:+.1%} "
              f"({e['robust_scales']:.0f} robust scales): real move kept" for e in results.get("daily_data_events", [])]
    table.caption = "; ".join(notes) or ("no rows" if not results.get("daily_failures") else None)
    return table
